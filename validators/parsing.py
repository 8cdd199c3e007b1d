"""Bytes → parsed document, safely: size limits, strict JSON, and kind sniffing.

The first step of the flow (bytes → parse → validate → adapt → sign → exchange).  Every
parser here refuses input that could hurt the process (huge, deeply nested, ambiguous)
with an ``InputError`` that says what is wrong and where.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from validators.errors import InputError, TooLargeError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_XML_BYTES",
    "load_json",
    "read_bytes",
    "sniff_format",
]

#: Largest JSON document accepted (an EHCP is tens of kB; a big FHIR Bundle a few MB).
MAX_JSON_BYTES = int(os.environ.get("SENDX_MAX_JSON_BYTES", 20 * 1024 * 1024))
#: Largest XML document accepted (a 10,000-pupil CTF is well under this).
MAX_XML_BYTES = int(os.environ.get("SENDX_MAX_XML_BYTES", 512 * 1024 * 1024))


def read_bytes(path: Path, limit: int) -> bytes:
    """Read a file, refusing anything larger than ``limit`` before reading it whole."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise TooLargeError(
                f"file is {size:,} bytes, more than the limit of {limit:,}",
                where=str(path),
                hint="split the file, or raise the limit with SENDX_MAX_JSON_BYTES / "
                "SENDX_MAX_XML_BYTES if it is genuine",
            )
        with path.open("rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", where=str(path)) from exc


def sniff_format(data: bytes) -> str:
    """Say whether bytes look like ``json``, ``xml`` or neither (``unknown``/``empty``)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return "empty"
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<":
        return "xml"
    return "unknown"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dupes = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        raise _DuplicateKey(dupes[0])
    return obj


class _DuplicateKey(ValueError):
    pass


def load_json(data: bytes | str, *, limit: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON strictly: UTF-8, no duplicate keys, no NaN/Infinity, bounded size/depth.

    Duplicate keys are refused because two readers of the same bytes could otherwise see
    two different documents — fatal for anything that is signed.
    """
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
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise InputError(
            f"duplicate key {exc.args[0]!r} in a JSON object",
            hint="each key may appear once per object",
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}",
            where=f"line {exc.lineno}, column {exc.colno}",
        ) from None
    except RecursionError:
        raise TooLargeError("JSON is nested too deeply to process") from None


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not allowed in JSON documents")


def ensure_object(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise InputError(
            f"expected a JSON object at the top level, found {type(doc).__name__}",
            where="/",
        )
    return doc
