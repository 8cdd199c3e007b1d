"""Bytes → parsed document, safely: size limits, strict JSON, and kind sniffing.

The first step of the flow (bytes → parse → validate → adapt → sign → exchange).  Every
parser here refuses input that could hurt the process (huge, deeply nested, ambiguous)
with an ``InputError`` that says what is wrong and where.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sendx import schemas
from sendx.validators.errors import ConfigError, InputError, TooLargeError

__all__ = [
    "CTF_JSON_FACTOR",
    "MAX_JSON_DEPTH",
    "json_limit",
    "load_json",
    "max_ctf_json_bytes",
    "read_bytes",
    "read_json_bytes",
    "sniff_file",
    "sniff_format",
]


#: The size limits, read from the environment when first used (so that a wrong setting is a
#: ``ConfigError`` where sendx can report it, not a failure to import): name → (setting, default).
#:
#: - ``MAX_JSON_BYTES``: the largest JSON document (an EHCP is tens of kB; a big FHIR Bundle a few
#:   MB); a CTF's pupil JSON has its own limit, ``max_ctf_json_bytes()``.
#: - ``MAX_CTF_BYTES``: the largest CTF (a 100,000-pupil CTF is under the default).
#: - ``MAX_XML_BYTES``: the largest XML document: every XML document sendx reads is a CTF.
_SIZE_SETTINGS = {
    "MAX_JSON_BYTES": ("SENDX_MAX_JSON_BYTES", 20 * 1024 * 1024),
    "MAX_CTF_BYTES": ("SENDX_MAX_CTF_BYTES", 512 * 1024 * 1024),
    "MAX_XML_BYTES": ("SENDX_MAX_CTF_BYTES", 512 * 1024 * 1024),
}


def __getattr__(name: str) -> int:
    """The size limits (PEP 562): read once from their setting, then kept as module attributes."""
    if name not in _SIZE_SETTINGS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    setting, default = _SIZE_SETTINGS[name]
    raw = os.environ.get(setting)
    value = default
    if raw:
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError:
            value = -1
        if value < 1024:
            raise ConfigError(f"{setting} must be a whole number of bytes, at least 1024, not {raw!r}")
    globals()[name] = value
    return value


def _limit(name: str) -> int:
    # A global name does not reach the module's __getattr__: look the limit up as an attribute.
    return int(globals().get(name) or __getattr__(name))


#: How much larger than its CTF a CTF's pupil JSON may be.  JSON spells out what XML leaves
#: implicit (unmodelled elements as ``{"element": ...}`` objects): a 10,000-pupil synthetic CTF
#: measured 1.12 times as large as JSON.  ``sendx convert`` refuses to write a pupil JSON over the limit.
CTF_JSON_FACTOR = 2
#: Deepest nesting of JSON arrays and objects accepted.  Real documents stay under 20 levels;
#: the libraries that handle a document after parsing (jsonschema-rs, orjson) give up near
#: 255, and a limit set by Python's recursion depth would depend on the caller's stack.
MAX_JSON_DEPTH = 128
#: A \u escape in the surrogate range: the only way a lone surrogate gets into UTF-8 JSON.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LEADING_BLANKS = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")
#: How text in UTF-32 or UTF-16 begins: a byte order mark, or "<" beside zero bytes (UTF-32 first:
#: its little-endian mark starts with UTF-16's).
_WIDE = (
    ("utf-32", (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")),
    ("utf-32-be", (b"\x00\x00\x00<",)),
    ("utf-32-le", (b"<\x00\x00\x00",)),
    ("utf-16", (b"\xff\xfe", b"\xfe\xff")),
    ("utf-16-be", (b"\x00<",)),
    ("utf-16-le", (b"<\x00",)),
)
#: Bytes read from a file to sniff its format (whitespace before the first character included).
_SNIFF_BYTES = 64 * 1024


def read_bytes(path: Path, limit: int) -> bytes:
    """Read a file, refusing anything larger than ``limit`` before reading it whole."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise TooLargeError(
                f"file is {size:,} bytes, more than the limit of {limit:,}",
                where=str(path),
                hint="split the file, or if it is genuine raise the limit: SENDX_MAX_JSON_BYTES for JSON "
                "documents, SENDX_MAX_CTF_BYTES for a CTF (XML, or its pupil JSON)",
            )
        with path.open("rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(path)) from exc


def max_ctf_json_bytes() -> int:
    """Largest pupil JSON (a CTF's JSON form) accepted: ``CTF_JSON_FACTOR`` times the CTF limit."""
    return CTF_JSON_FACTOR * _limit("MAX_CTF_BYTES")


@cache
def _ctf_json_start() -> re.Pattern[bytes]:
    # What `sendx convert --to pupil-json` writes first: the object's "$schema", naming the family.
    family = schemas.schema_id("pupil-json").rpartition("/")[0] + "/"
    return re.compile(
        rb'(?:\xef\xbb\xbf)?[ \t\r\n]*\{[ \t\r\n]*"\$schema"[ \t\r\n]*:[ \t\r\n]*"' + re.escape(family.encode())
    )


def json_limit(head: bytes) -> int:
    """The size limit for a JSON document that starts with ``head``.

    A CTF's pupil JSON (its ``$schema`` first, as sendx writes it) may be as large as a CTF's
    JSON form; any other JSON document is held to ``MAX_JSON_BYTES``.  Deciding from the first
    bytes lets a file be refused before it is read.
    """
    return max_ctf_json_bytes() if _ctf_json_start().match(head) else _limit("MAX_JSON_BYTES")


def read_json_bytes(path: Path) -> bytes:
    """A JSON file's bytes, refused before reading if larger than its kind may be (``json_limit``)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(path)) from exc
    return read_bytes(path, json_limit(head))


def sniff_format(data: bytes) -> str:
    """Say whether bytes look like ``json``, ``xml`` or neither (``unknown``/``empty``)."""
    for encoding, starts in _WIDE:  # XML in UTF-16 or UTF-32 (JSON must be UTF-8, RFC 8259)
        if data.startswith(starts):
            if data[:256].decode(encoding, errors="ignore").lstrip(" \t\r\n\ufeff").startswith("<"):
                return "xml"
            break
    start = _LEADING_BLANKS.match(data).end()  # however much whitespace leads, without copying it
    head = data[start : start + 1]
    if not head:
        return "empty"
    if head in (b"{", b"["):
        return "json"
    if head == b"<":
        return "xml"
    return "unknown"


def sniff_file(path: Path) -> str:
    """``sniff_format`` of a file's first bytes; an unreadable file is an ``InputError``."""
    try:
        with path.open("rb") as fh:
            return sniff_format(fh.read(_SNIFF_BYTES))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(path)) from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupes = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        raise _DuplicateKey(dupes[0])
    return obj


class _DuplicateKey(ValueError):
    pass


def load_json(data: bytes | str, *, limit: int | None = None) -> Any:
    """Parse JSON strictly: UTF-8, no duplicate keys, no NaN/Infinity, bounded size/depth.

    ``limit`` defaults to the document's own (``json_limit``: larger for a CTF's pupil JSON).

    Duplicate keys are refused because two readers of the same bytes could otherwise see
    two different documents — fatal for anything that is signed.  Lone surrogates
    (``"\\ud800"``), numbers that overflow a double (``1e400``) or exceed Python's integer
    digit limit are refused too (RFC 8259 §8.2, RFC 7493): they are not interoperable, and
    every later step (schema, canonical form, database) would fail on them.
    """
    if limit is None:
        head = data[:_SNIFF_BYTES]
        limit = json_limit(head if isinstance(head, bytes) else head.encode("utf-8", "replace"))
    if len(data) > limit:
        raise TooLargeError(f"JSON document is {len(data):,} bytes, more than the limit of {limit:,}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
                hint="JSON documents must be UTF-8 encoded; is this a binary file?",
            ) from exc
    else:
        text = data
    if not text.strip():
        raise InputError("the document is empty", hint="expected a JSON object")
    try:
        doc = _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise InputError(
            f"duplicate key {exc.args[0]!r} in a JSON object",
            hint="each key may appear once per object",
        ) from None
    except json.JSONDecodeError as exc:
        raise _syntax_error(exc) from None
    except ValueError:  # int() refuses integers of more than sys.get_int_max_str_digits() digits
        raise InputError(
            "a number in the document has too many digits",
            hint="identifiers with many digits belong in strings",
        ) from None
    except RecursionError:
        raise _too_deep() from None
    # Both checks walk the parsed tree, so they run only when the text gives cause.
    surrogates = _SURROGATE_ESCAPE.search(text) is not None or (
        isinstance(data, str) and _SURROGATE.search(text) is not None
    )
    if surrogates or text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_tree(doc, surrogates)
    return doc


def _syntax_error(exc: json.JSONDecodeError) -> InputError:
    """The decoder's reason as a whole sentence: its place is part of it, not only beside it.

    Several of the decoder's reasons end in "at" ("Unterminated string starting at") and read
    cut off unless the place follows.
    """
    place = f"line {exc.lineno}, column {exc.colno}"
    reason = exc.msg[0].lower() + exc.msg[1:]
    joined = f"{reason} {place}" if reason.endswith(" at") else f"{reason} at {place}"
    return InputError(f"not valid JSON: {joined}", where=place)


def _too_deep() -> TooLargeError:
    return TooLargeError(f"JSON is nested too deeply to process (more than {MAX_JSON_DEPTH} levels)")


def _check_tree(doc: Any, surrogates: bool) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` and (if asked) strings with lone surrogates."""
    # Only containers go on the stack, without their paths: this runs on large documents.
    stack: list[tuple[Any, int]] = [(doc, 0)] if type(doc) in (dict, list) else []
    if surrogates and type(doc) is str and _SURROGATE.search(doc):
        raise _lone_surrogate(doc)
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        if type(node) is dict:
            if surrogates and any(_SURROGATE.search(k) for k in node):
                raise _lone_surrogate(doc)
            children: Any = node.values()
        else:
            children = node
        for value in children:
            kind = type(value)
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif surrogates and kind is str and _SURROGATE.search(value):
                raise _lone_surrogate(doc)


def _surrogate_pointer(node: Any, path: str = "") -> str | None:
    """JSON Pointer of the first key or string holding a surrogate (the error path only)."""
    if isinstance(node, str):
        return path if _SURROGATE.search(node) else None
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        step = path + "/" + str(key).replace("~", "~0").replace("/", "~1")
        if isinstance(key, str) and _SURROGATE.search(key):
            return step
        found = _surrogate_pointer(value, step)
        if found is not None:
            return found
    return None


def _pointer_or_root(doc: Any) -> str:
    try:
        return _surrogate_pointer(doc) or "/"
    except RecursionError:  # deeper than the depth check got to see: name no place rather than fail
        return "/"


def _lone_surrogate(doc: Any) -> InputError:
    return InputError(
        "a JSON string holds a lone surrogate (a \\ud800-\\udfff escape without its pair): not valid Unicode",
        # The pointer may run through the bad key itself: print it with U+FFFD in its place.
        where=_SURROGATE.sub("\ufffd", _pointer_or_root(doc)),
        hint="the text was damaged or cut in the middle of a character; re-export it as UTF-8",
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InputError(f"the number {text[:40]} is too large (it overflows to Infinity)")
    return value


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not allowed in JSON documents")


def ensure_object(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise InputError(
            f"expected a JSON object at the top level, found {type(doc).__name__}",
            where="/",
        )
    return doc


#: One strict decoder for every call: ``json.loads`` with hooks builds a decoder and its
#: scanner per call, a sixth of the cost of parsing an EHCP.  Sharing it between threads is
#: safe: the scanner's only state is a key-interning memo it clears after each document.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_float=_finite_float)
