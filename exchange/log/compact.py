"""Compact ranges: a log of any size summarised by O(log n) subtree hashes, extended leaf by leaf.

Part of the *exchange* stage, on the auditor's side: ``sendx log verify`` streams a hub's
entries through a :class:`CompactRange` instead of holding them, so a log of millions of
entries is checked in the memory of a few dozen hashes.  The range of ``[0, size)`` is the
list of perfect subtrees that tile it, largest first (the binary digits of ``size``; RFC 9162
§2.1.2 and transparency-dev's "compact range"); folding them from the right gives the RFC 9162
root, and appending a leaf merges the trailing subtrees of equal size like a binary counter.
Saving the range of a verified checkpoint is what lets a later run start from there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from sendx.exchange.log.merkle import EMPTY_ROOT, HASH_SIZE
from sendx.validators.errors import InputError

__all__ = ["CompactRange"]

_sha256 = hashlib.sha256


class CompactRange:
    """The perfect-subtree hashes tiling ``[start, start + size)`` of a log (``start`` aligned).

    ``start`` is 0 for a whole log's prefix; a range over one perfect subtree of the tree (an
    auditor recomputing one part of it) starts at that subtree's first leaf.
    """

    __slots__ = ("hashes", "size", "start")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = (), start: int = 0) -> None:
        if size < 0 or len(hashes) != size.bit_count() or any(len(h) != HASH_SIZE for h in hashes):
            raise InputError(f"a compact range of {size} leaves holds {size.bit_count()} 32-byte hashes", where="range")
        self.size = size
        self.hashes = list(hashes)
        self.start = start

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return (self.size, self.hashes, self.start) == (other.size, other.hashes, other.start)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes, self.start)

    def extend(self, entries: Iterable[bytes], capture: int | None = None) -> list[bytes]:
        """Append entries (leaf data, hashed here as RFC 9162 leaves); return the hashes of the
        subtrees completed at level ``capture`` (0 = the leaf hashes), in order — an auditor's
        fingerprint of what it verified.  The loop is written out: it is the auditor's cost."""
        hashes, size, out = self.hashes, self.size, []
        pop, push, keep = hashes.pop, hashes.append, out.append
        if capture is None:
            for entry in entries:
                value = _sha256(b"\x00" + entry).digest()
                n = size
                while n & 1:
                    value = _sha256(b"\x01" + pop() + value).digest()
                    n >>= 1
                push(value)
                size += 1
        else:
            for entry in entries:
                value = _sha256(b"\x00" + entry).digest()
                if capture == 0:
                    keep(value)
                n, level = size, 0
                while n & 1:
                    value = _sha256(b"\x01" + pop() + value).digest()
                    n >>= 1
                    level += 1
                    if level == capture:
                        keep(value)
                push(value)
                size += 1
        self.size = size
        return out

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves appended so far."""
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = _sha256(b"\x01" + left + value).digest()
        return value

    def nodes(self) -> list[tuple[int, int, bytes]]:
        """The ``(level, index, hash)`` of each subtree in the range, largest first."""
        out, pos = [], self.start
        for level, value in zip(self._levels(), self.hashes, strict=True):
            out.append((level, pos >> level, value))
            pos += 1 << level
        return out

    def _levels(self) -> list[int]:
        return [lv for lv in range(self.size.bit_length() - 1, -1, -1) if self.size >> lv & 1]
