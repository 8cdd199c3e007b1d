"""Hardened XML parsing for everything sendx reads (CTF files, signatures).

Untrusted XML is parsed with entity expansion, DTD loading and network access off, and
any document type declaration is refused outright: a CTF never carries one, and refusing
it defeats billion-laughs, quadratic blow-up and external-entity attacks.  The refusal
comes from a scan of the prolog (the bytes before the root element, where a DOCTYPE must
stand) *before* libxml2 reads the document, so no entity is ever declared, let alone
expanded, and the user reads sendx's words rather than whichever resource limit the
installed libxml2 trips first.  The scan reads the encodings libxml2 would; a document
declaring any other encoding is refused, since bytes the scan cannot read could hide a
DOCTYPE from it.  Text and attribute values longer than libxml2's limit are refused with
sendx's size message.  A stylesheet processing instruction (``<?xml-stylesheet?>``) is
refused too: sendx never applies one, but whoever opens the file after it might fetch and
run the XSLT it names.  XInclude elements are refused for the same reason: sendx never
processes an include, a consumer downstream might.  Sizes are bounded by
``parsing.MAX_XML_BYTES``.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lxml import etree

from sendx.validators.errors import InputError, TooLargeError
from sendx.validators.parsing import MAX_XML_BYTES

__all__ = ["iterparse", "parse", "root_tag", "safe_parser"]

#: The XInclude namespaces libxml2 honours (1.0, and the 2003 draft).
_XINCLUDE = ("{http://www.w3.org/2001/XInclude}", "{http://www.w3.org/2003/XInclude}")

_SAFE = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    # Comments carry no data, and one inside an element splits its text: "8<!---->20" is the
    # LA code 820 to the XSD, but would read as "8" to ``.text``.  The parser drops them and
    # joins the text, so every reader sees what the schema sees.
    remove_comments=True,
)


def safe_parser(**overrides: Any) -> etree.XMLParser:
    """An lxml parser that never expands entities, loads DTDs or touches the network."""
    return etree.XMLParser(**{**_SAFE, **overrides})


def _open(source: bytes | Path) -> tuple[IO[bytes], int]:
    """The source as a binary stream, and its size in bytes."""
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_XML_BYTES:
                raise TooLargeError(
                    f"XML file is {size:,} bytes, more than the limit of {MAX_XML_BYTES:,}",
                    where=str(source),
                    hint="split the file, or raise SENDX_MAX_CTF_BYTES if it is genuine",
                )
            return source.open("rb"), size
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(source)) from exc
    if len(source) > MAX_XML_BYTES:
        raise TooLargeError(f"XML document is {len(source):,} bytes, more than the limit")
    return io.BytesIO(source), len(source)


def _open_checked(source: bytes | Path) -> tuple[IO[bytes], int]:
    """Open the source, refusing a DOCTYPE in its prolog before libxml2 reads a byte."""
    fh, size = _open(source)
    try:
        _refuse_prolog_doctype(fh)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return fh, size


def _doctype_error(where: str) -> InputError:
    return InputError(
        "XML with a document type declaration (<!DOCTYPE ...>) is refused",
        where=where,
        hint="CTF files never need a DOCTYPE; it is how entity-expansion and "
        "external-entity attacks are carried, so remove it",
    )


def _refuse_doctype(tree_docinfo: Any) -> None:
    # Defence in depth: the prolog scan has already refused any DOCTYPE it could see.
    if tree_docinfo.doctype or tree_docinfo.internalDTD is not None or tree_docinfo.externalDTD is not None:
        raise _doctype_error("/")


#: Encodings told apart by their first bytes (XML 1.0, appendix F); the BOM is skipped.
_DETECTED = (
    (codecs.BOM_UTF32_BE, "utf-32-be", 4),
    (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    (codecs.BOM_UTF8, "utf-8", 3),
    (codecs.BOM_UTF16_BE, "utf-16-be", 2),
    (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
    (b"\x00<", "utf-16-be", 0),
    (b"<\x00", "utf-16-le", 0),
)
#: Declared encodings in which every ASCII byte means its ASCII character, so a scan of the
#: raw bytes sees the markup libxml2 will see.  (UTF-7, ISO-2022 and EBCDIC are not among them.)
_ASCII_COMPATIBLE = re.compile(r"utf-?8|(us-)?ascii|iso[-_]?8859[-_]?\d+|latin-?1|(windows|cp)-?125\d", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(r"""^<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_CHUNK = 64 * 1024
#: Characters enough to tell "<!DOCTYPE", "<!--", "<?" and a start tag apart.
_LOOKAHEAD = 16


def _refuse_prolog_doctype(fh: IO[bytes]) -> None:
    """Read the prolog (everything before the root start tag) and refuse a DOCTYPE in it.

    Only the prolog can hold a DOCTYPE (XML 1.0 §2.8), so this reads until the root element
    starts; the rest of the document, and anything malformed, is left to libxml2.
    """
    head = fh.read(4)
    encoding, skip = next(((enc, n) for mark, enc, n in _DETECTED if head.startswith(mark)), ("latin-1", 0))
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text, line, eof, first, searched = decoder.decode(head[skip:]), 1, False, True, 0
    while True:
        if not eof and (searched or len(text) < _LOOKAHEAD):
            more = fh.read(max(_CHUNK, len(text)))  # grows geometrically through a long comment
            eof = not more
            text += decoder.decode(more, final=eof)
        stripped = text.lstrip(" \t\r\n")
        line += text.count("\n", 0, len(text) - len(stripped))
        text = stripped
        if text.startswith(("<?", "<!--")):
            close = "?>" if text.startswith("<?") else "-->"
            end = text.find(close, max(2, searched - len(close)))
            if end < 0:
                if eof:
                    return  # unterminated: libxml2 says so, with its place
                searched = len(text)  # a comment or PI longer than what is read so far
                continue
            if first and text.startswith("<?xml"):
                _check_declared_encoding(text[: end + 2], encoding)
            line += text.count("\n", 0, end)
            text, first, searched = text[end + len(close) :], False, 0
        elif text.startswith("<!"):
            raise _doctype_error(f"line {line}")
        elif len(text) >= _LOOKAHEAD or eof:
            return  # the root element starts (or the bytes are not XML, which libxml2 reports)


def _check_declared_encoding(declaration: str, detected: str) -> None:
    match = _DECLARED_ENCODING.match(declaration)
    if match is None:
        return
    declared = match.group(1)
    if detected.startswith("utf-") and detected != "utf-8":
        ok = declared.lower().replace("_", "-").startswith(detected[:6])
    else:
        ok = bool(_ASCII_COMPATIBLE.fullmatch(declared))
    if not ok:
        raise InputError(
            f"XML declaring the encoding {declared!r} is refused",
            where="line 1",
            hint="sendx reads XML in UTF-8 (as CTF files are written), UTF-16, UTF-32, ISO-8859 or "
            "Windows-125x; save the file as UTF-8",
        )


def _refuse_stylesheet(root: Any) -> None:
    # Only a processing instruction in the prolog associates a stylesheet with the document.
    for node in root.itersiblings(preceding=True):
        if isinstance(node, etree._ProcessingInstruction) and node.target == "xml-stylesheet":
            raise InputError(
                "XML with a stylesheet processing instruction (<?xml-stylesheet ...?>) is refused",
                where="/",
                hint="CTF files never need a stylesheet; one makes whoever opens the file fetch and run "
                "XSLT from elsewhere, so remove it",
            )


def _refuse_content_pi(pi: Any) -> None:
    # Kept by the parser for the stylesheet check above; inside an element one would split its
    # text as a comment does, and a CTF never needs one, so it is refused rather than misread.
    parent = pi.getparent()
    if parent is not None:
        raise InputError(
            f"XML with a processing instruction inside an element (<?{pi.target} ...?>) is refused",
            where="/" + "/".join(str(e.tag) for e in reversed([parent, *parent.iterancestors()])),
            hint="CTF files carry no processing instructions; remove it",
        )


def _xinclude_error(tag: str) -> InputError:
    return InputError(
        f"XML with an XInclude element (<{etree.QName(tag).localname}> in {tag[1:].split('}')[0]}) is refused",
        hint="CTF files never include other files; an include makes whoever processes the file read "
        "a file or URL it names, so remove it",
    )


def iterparse(
    source: bytes | Path, events: tuple[str, ...] = ("end",), tag: str | tuple[str, ...] | None = None
) -> Iterator[tuple[str, Any]]:
    """Stream (event, element) pairs safely; raises ``InputError`` for attack or broken XML."""
    if tag is not None:  # a filtered stream must still see XInclude elements and PIs, to refuse them
        tag = (*((tag,) if isinstance(tag, str) else tag), *(ns + "*" for ns in _XINCLUDE), etree.PI)
    fh, size = _open_checked(source)
    # libxml2 before 2.14 reports an over-long attribute only at the end of the stream, after
    # handing it over; only a document longer than the limit can hold one, so only those pay.
    long_values = size > MAX_XML_VALUE_CHARS
    try:
        wanted = ("start", "pi", *[e for e in events if e not in ("start", "pi")])
        ctx = etree.iterparse(fh, events=wanted, tag=tag, **_SAFE)
        checked = False
        for event, elem in ctx:
            if event == "pi":
                _refuse_content_pi(elem)  # the prolog's are checked with the root, below
                continue
            if not checked:
                tree = elem.getroottree()
                _refuse_doctype(tree.docinfo)
                _refuse_stylesheet(tree.getroot())
                checked = True
            if event == "start":
                if isinstance(elem.tag, str) and elem.tag.startswith(_XINCLUDE):
                    raise _xinclude_error(elem.tag)
                if long_values and any(len(v) > MAX_XML_VALUE_CHARS for v in elem.values()):
                    raise _too_long_error(f"line {elem.sourceline}")
            if event in events:
                yield event, elem
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    finally:
        fh.close()


def parse(source: bytes | Path) -> Any:
    """Parse a whole (small) XML document safely and return its root element."""
    fh, _ = _open_checked(source)
    try:
        tree = etree.parse(fh, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    finally:
        fh.close()
    _refuse_doctype(tree.docinfo)
    _refuse_stylesheet(tree.getroot())
    for include in tree.getroot().iter(*(ns + "*" for ns in _XINCLUDE)):
        raise _xinclude_error(include.tag)
    for pi in tree.getroot().iter(etree.PI):
        _refuse_content_pi(pi)
    return tree.getroot()


def root_tag(source: bytes | Path) -> str:
    """The local name of the root element, read from the first start tag only."""
    for _, elem in iterparse(source, events=("start",)):
        # Not QName(elem).localname: it raises ValueError on names libxml2 reads but namespaces forbid (<a:/>).
        return str(elem.tag).rpartition("}")[2]
    raise InputError("the XML document has no root element")


#: libxml2's code for a parser limit reached (lxml 5 has no name for it).
_XML_ERR_RESOURCE_LIMIT = 114
_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+$")
#: libxml2's deepest nesting of elements without XML_PARSE_HUGE (xmlParserMaxDepth).
MAX_XML_DEPTH = 256
#: libxml2's longest text node or attribute value without XML_PARSE_HUGE (XML_MAX_TEXT_LENGTH).
MAX_XML_VALUE_CHARS = 10_000_000


def _too_long_error(where: str) -> InputError:
    return InputError(
        f"XML text or attribute value longer than the limit of {MAX_XML_VALUE_CHARS:,} characters",
        where=where,
        hint="no CTF value is anywhere near this long; check the file was exported whole and correctly",
    )


def _syntax_error(exc: etree.XMLSyntaxError) -> InputError:
    line, col = exc.position if exc.position else (None, None)
    where = f"line {line}, column {col}"
    # libxml2's own words for its limits ("use XML_PARSE_HUGE") name a switch no user can reach.
    if "depth" in str(exc.msg):
        return InputError(
            f"XML nested deeper than the limit of {MAX_XML_DEPTH} levels",
            where=where,
            hint="a CTF is nested a few levels deep; check the file was exported correctly",
        )
    if exc.code == _XML_ERR_RESOURCE_LIMIT or "XML_PARSE_HUGE" in str(exc.msg):
        return _too_long_error(where)
    msg = _POSITION_SUFFIX.sub("", str(exc.msg or exc)).strip()  # lxml 6 repeats the place in the text
    return InputError(f"not well-formed XML: {msg}", where=where)
