"""RFC 8785 (JCS) canonical JSON: the one byte form sendx signs, hashes and logs.

Signatures (``trust.signing``), the movement log's leaves (``log.transparency``) and the hub's
idempotency hashes all need the same canonical bytes for the same JSON value, so they all
come from here.  orjson does the common case — no floats, no keys outside the Basic
Multilingual Plane — about 40× faster than a pure-Python JCS; everything else goes to the
``rfc8785`` reference implementation.  Both paths are property-tested to agree.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import rfc8785

from sendx.validators.errors import InputError

__all__ = ["canonical_json", "orjson_sorted"]

_LEAVES = frozenset({str, int, bool, type(None)})
_ORJSON_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
#: UTF-8 lead bytes of 4-byte sequences: the characters outside the Basic Multilingual Plane.
_NON_BMP = re.compile(rb"[\xf0-\xf4]")


def _json_leaves_only(doc: dict[str, Any] | list[Any]) -> bool:
    """Whether every value under ``doc`` is a dict, list, str, int, bool or None: no float.

    orjson's sorted output is exactly RFC 8785 unless the document holds a float (ECMAScript
    number formatting differs; NaN even becomes ``null``), a key outside the Basic
    Multilingual Plane (RFC 8785 sorts by UTF-16 code units, orjson by code points) or a type
    orjson serialises that JSON has not (tuple, UUID, enum...).  Integers beyond 2^53 make
    orjson raise.  This walk is most of the cost of canonicalising, hence the unrolled loop:
    strings, the bulk of any record, are skipped without touching the stack.
    """
    stack: list[Any] = [doc]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        for value in node.values() if type(node) is dict else node:
            kind = type(value)
            if kind is str:
                continue
            if kind is dict or kind is list:
                push(value)
            elif kind is not int and kind is not bool and value is not None:
                return False
    return True


def orjson_sorted(doc: Any) -> bytes | None:
    """orjson's key-sorted compact bytes (RFC 8785 for most documents: see ``canonical_json``), or None."""
    try:
        return orjson.dumps(doc, option=_ORJSON_OPTS)
    except (orjson.JSONEncodeError, TypeError):
        return None


def canonical_json(doc: Any) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of a JSON value; ``InputError`` if it has none."""
    kind = type(doc)
    if kind in _LEAVES or ((kind is dict or kind is list) and _json_leaves_only(doc)):
        fast = orjson_sorted(doc)
        # A non-BMP character anywhere (cheaper to find than in keys only) may reorder keys.
        if fast is not None and (fast.isascii() or not _NON_BMP.search(fast)):
            return fast
    try:
        return rfc8785.dumps(doc)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise InputError(
            f"document cannot be canonicalised (RFC 8785): {exc}",
            hint="integers must lie within ±(2^53−1); keep identifiers as strings",
        ) from None
