"""The append-only movement log: entries + Merkle tree + signed checkpoints, over pluggable stores.

Last stage of the flow (bytes → parse → validate → adapt → sign → *exchange*): the hub turns every
accepted movement event into a leaf (:mod:`.leaves`) and appends it here; the log answers
roots, inclusion and consistency proofs (O(log n) node reads, see :mod:`sendx.exchange.log.merkle`) and signs
checkpoints (:mod:`sendx.exchange.log.checkpoint`). It is storage-agnostic: give it a ``NodeStore`` (tree
nodes) and an ``EntryStore`` (leaf bytes); the in-memory ones here serve tests and benchmarks.

The leaves themselves (what a movement's public entry holds) are :mod:`sendx.exchange.log.leaves`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

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
from sendx.validators.errors import ConflictError, InputError

__all__ = ["EntryStore", "MemoryEntryStore", "TransparencyLog"]


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

    def pages(self, start: int, end: int, page: int = 1000) -> Iterator[list[bytes]]:
        """Entries ``[start, end)`` a page at a time (what a streaming verifier reads)."""
        for lo in range(start, min(end, self.size), page):
            yield self.entries(lo, min(end, lo + page))

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

    def receipt(self, index: int, signed_checkpoint: str, size: int, extra: bytes | None = None) -> str:
        """Offline receipt for leaf ``index`` against an already signed checkpoint of ``size``."""
        return make_receipt(index, self.inclusion_proof(index, size), signed_checkpoint, extra)
