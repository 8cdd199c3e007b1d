"""Movement-log leaves: what a public entry holds (a commitment and LA codes) and how it is opened.

Part of the *exchange* stage: the hub turns every accepted movement event into one of these
leaves and appends it to the log (:mod:`.transparency`).  Anyone may fetch the leaves, so a
leaf discloses nothing about the movement: no type, date, setting, recorder or AP flag.

Leaf format version 2 — the RFC 8785 canonical JSON of exactly::

    {"commitment": hex SHA-256(salt || RFC 8785 bytes of the event),
     "las": [the LA codes the movement touches, sorted, distinct],
     "v": 2}

``salt`` is 32 random bytes drawn for the event.  Only the participants in the movement's
scope get the event and its salt (the *opening*); with them they can check the commitment,
and with the LA codes an LA can check that every entry naming it reached its view.  The salt
makes the commitment hiding: without it, guessing an event's fields (a small school, a date)
and hashing them tells nothing.  Erasing the event and the salt under retention leaves the
commitment, and so the tree, intact.

A second kind of leaf, ``{"previous": {"origin", "root", "size"}, "v": 2}``, is the first entry
of a log that replaced an older one: it commits to the old log's final signed checkpoint so both
histories stay checkable.  Version 1 leaves (``"v": 1``, the old format that carried the event's
type, dates and settings) are recognised only to be reported as such.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from sendx.exchange.log.checkpoint import Checkpoint
from sendx.exchange.trust.canonical import canonical_json
from sendx.validators.errors import InputError

__all__ = [
    "LEAF_VERSION",
    "SALT_SIZE",
    "BridgeLeaf",
    "LegacyLeaf",
    "MovementLeaf",
    "commitment",
    "movement_leaf",
    "opens",
    "parse_leaf",
]

LEAF_VERSION = 2
SALT_SIZE = 32
#: A leaf is a few hundred bytes at most; anything longer is not one of ours.
_MAX_LEAF = 4096
_LA = re.compile(r"[0-9]{3}")


def commitment(event: Mapping[str, Any] | bytes, salt: bytes) -> bytes:
    """SHA-256 over the salt and the event's RFC 8785 bytes (``event`` may already be those bytes)."""
    if len(salt) != SALT_SIZE:
        raise InputError(f"a movement salt is {SALT_SIZE} bytes, not {len(salt)}", where="salt")
    body = event if isinstance(event, bytes) else canonical_json(dict(event))
    return hashlib.sha256(salt + body).digest()


@dataclass(frozen=True)
class MovementLeaf:
    """A movement's public entry: the LA codes it touches and its commitment."""

    las: tuple[str, ...]
    commitment: bytes

    def __post_init__(self) -> None:
        if len(self.commitment) != 32:
            raise InputError("a leaf commitment is 32 bytes", where="commitment")
        codes = self.las
        if list(codes) != sorted(set(codes)) or not all(isinstance(c, str) and _LA.fullmatch(c) for c in codes):
            raise InputError("leaf LA codes must be sorted, distinct 3-digit codes", where="las")

    def to_bytes(self) -> bytes:
        return canonical_json({"commitment": self.commitment.hex(), "las": list(self.las), "v": LEAF_VERSION})

    def names(self, la: str) -> bool:
        return la in self.las


@dataclass(frozen=True)
class BridgeLeaf:
    """The first entry of a log that replaced an older one: the old log's final checkpoint."""

    checkpoint: Checkpoint

    def to_bytes(self) -> bytes:
        cp = self.checkpoint
        previous = {"origin": cp.origin, "root": base64.b64encode(cp.root).decode("ascii"), "size": cp.size}
        return canonical_json({"previous": previous, "v": LEAF_VERSION})

    def names(self, la: str) -> bool:
        return False


@dataclass(frozen=True)
class LegacyLeaf:
    """A version 1 leaf (the format that disclosed event fields); only found in a replaced log."""

    def names(self, la: str) -> bool:
        return False


Leaf = MovementLeaf | BridgeLeaf | LegacyLeaf


def movement_leaf(event: Mapping[str, Any], salt: bytes, las: Iterable[str | None]) -> bytes:
    """Leaf bytes for ``event`` sealed with ``salt``, naming the LA codes in ``las`` (``None`` skipped)."""
    codes = tuple(sorted({c for c in las if c}))
    return MovementLeaf(codes, commitment(event, salt)).to_bytes()


def opens(leaf: bytes | MovementLeaf, event: Mapping[str, Any] | bytes, salt: bytes) -> bool:
    """Whether ``event`` and ``salt`` are what ``leaf`` commits to."""
    parsed = parse_leaf(leaf) if isinstance(leaf, bytes) else leaf
    if not isinstance(parsed, MovementLeaf) or len(salt) != SALT_SIZE:
        return False
    return hmac.compare_digest(parsed.commitment, commitment(event, salt))


def parse_leaf(raw: bytes) -> Leaf:
    """Parse leaf bytes strictly: canonical JSON of one known shape, nothing more."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InputError(f"a leaf is bytes, not {type(raw).__name__}", where="leaf")
    raw = bytes(raw)
    if len(raw) > _MAX_LEAF:
        raise InputError(f"a leaf is at most {_MAX_LEAF} bytes", where="leaf")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InputError("a leaf is not JSON", where="leaf") from None
    if not isinstance(data, dict):
        raise InputError("a leaf is a JSON object", where="leaf")
    if data.get("v") == 1:
        return LegacyLeaf()
    try:
        leaf = _from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a version {LEAF_VERSION} leaf: {exc}", where="leaf") from None
    if leaf.to_bytes() != raw:
        raise InputError("a leaf must be the canonical form of its fields, with no others", where="leaf")
    return leaf


def _from_dict(data: dict[str, Any]) -> Leaf:
    if data["v"] != LEAF_VERSION:
        raise ValueError(f"unknown version {data['v']!r}")
    if "previous" in data:
        prev = data["previous"]
        return BridgeLeaf(Checkpoint(str(prev["origin"]), int(prev["size"]), base64.b64decode(prev["root"])))
    las = data["las"]
    if not isinstance(las, list):
        raise TypeError("las must be a list")
    return MovementLeaf(tuple(las), bytes.fromhex(data["commitment"]))
