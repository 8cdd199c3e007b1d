"""Hardened XML parsing for everything sendx reads (CTF files, signatures).

Untrusted XML is parsed with entity expansion, DTD loading and network access off, and
any document type declaration is refused outright: a CTF never carries one, and refusing
it defeats billion-laughs, quadratic blow-up and external-entity attacks before lxml
sees a single entity.  A stylesheet processing instruction (``<?xml-stylesheet?>``) is
refused too: sendx never applies one, but whoever opens the file after it might fetch and
run the XSLT it names.  XInclude elements are refused for the same reason: sendx never
processes an include, a consumer downstream might.  Sizes are bounded by
``parsing.MAX_XML_BYTES``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lxml import etree

from validators.errors import InputError, TooLargeError
from validators.parsing import MAX_XML_BYTES

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


def _open(source: bytes | Path) -> IO[bytes]:
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_XML_BYTES:
                raise TooLargeError(
                    f"XML file is {size:,} bytes, more than the limit of {MAX_XML_BYTES:,}",
                    where=str(source),
                )
            return source.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(source)) from exc
    if len(source) > MAX_XML_BYTES:
        raise TooLargeError(f"XML document is {len(source):,} bytes, more than the limit")
    return io.BytesIO(source)


def _refuse_doctype(tree_docinfo: Any) -> None:
    if tree_docinfo.doctype or tree_docinfo.internalDTD is not None or tree_docinfo.externalDTD is not None:
        raise InputError(
            "XML with a document type declaration (<!DOCTYPE ...>) is refused",
            where="/",
            hint="CTF files never need a DOCTYPE; it is how entity-expansion and "
            "external-entity attacks are carried, so remove it",
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
    fh = _open(source)
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
            if event == "start" and isinstance(elem.tag, str) and elem.tag.startswith(_XINCLUDE):
                raise _xinclude_error(elem.tag)
            if event in events:
                yield event, elem
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    finally:
        fh.close()


def parse(source: bytes | Path) -> Any:
    """Parse a whole (small) XML document safely and return its root element."""
    fh = _open(source)
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


def _syntax_error(exc: etree.XMLSyntaxError) -> InputError:
    line, col = exc.position if exc.position else (None, None)
    msg = str(exc.msg) if exc.msg else str(exc)
    return InputError(f"not well-formed XML: {msg}", where=f"line {line}, column {col}")
