"""RFC 9162 Merkle tree hashing, proofs and the tiny node-store interface behind the movement log.

Part of the *exchange* stage (bytes → parse → validate → adapt → sign → exchange): every movement
the hub accepts becomes a leaf of an append-only Merkle tree, and this module holds the pure
tree mathematics that the log (:mod:`.transparency`), the checkpoints (:mod:`.checkpoint`)
and the offline verifier (:mod:`.verify`) share.

Hashing (RFC 9162 §2.1.1): leaf ``SHA-256(0x00 || data)``, interior node
``SHA-256(0x01 || left || right)``, empty tree ``SHA-256("")``; a tree of ``n`` leaves splits at the
largest power of two strictly below ``n`` and a lone right node is never duplicated.

Storage (``NodeStore``): as leaves are appended, the hash of every *complete* subtree is stored
under ``(level, index)`` — the perfect subtree of ``2**level`` leaves starting at leaf
``index * 2**level``. Appending a leaf writes the leaf hash plus one node per subtree it completes
(amortised two writes). Any tree size's root, and any inclusion or consistency proof, is then
assembled from O(log n) stored perfect-subtree hashes: for a size that is not a power of two the
ragged right edge is folded from the perfect subtrees that tile it (the binary digits of the
size), so a root or proof reads at most about 2·log2(n) stored nodes, in one batched
``get_many``, and never touches the leaves themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from sendx.validators.errors import InputError, SendxError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "DamagedLogError",
    "MemoryNodeStore",
    "NodeStore",
    "ProofError",
    "append_leaf_hashes",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_hash",
    "split_point",
    "subtree_hash",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(SendxError):
    """A proof, root or checkpoint does not verify: the log or the proof is not what it claims."""

    status = 422
    exit_code = 1
    code = "proof-invalid"


class DamagedLogError(SendxError):
    """The log's own storage is damaged (a missing or mistyped entry or node): the hub cannot
    serve what it signed, and no caller can fix that; its operator restores the store."""

    status = 500
    exit_code = 1
    code = "log-damaged"


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """Largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- storage


@runtime_checkable
class NodeStore(Protocol):
    """Where the perfect-subtree hashes of one log live.

    ``(level, index)`` names the perfect subtree of ``2**level`` leaves that starts at leaf
    ``index << level``; level 0 holds the leaf hashes. A store only ever holds complete subtrees
    of its current tree, so a node, once written, never changes.

    - ``size()`` — number of leaves committed so far.
    - ``get_many(keys)`` — hashes for the given ``(level, index)`` keys, in order; a missing key is
      a bug in the caller or a damaged store and must raise (``KeyError`` or a ``SendxError``).
      SQL stores should answer with one query.
    - ``put_many(nodes, size)`` — store the new ``(level, index, hash)`` nodes *and* set the leaf
      count to ``size`` atomically (one transaction), so a crash never leaves a half-appended
      tree. Only one writer may append at a time.
    """

    def size(self) -> int: ...

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]: ...

    def put_many(self, nodes: Sequence[tuple[int, int, bytes]], size: int) -> None: ...


class MemoryNodeStore:
    """In-memory ``NodeStore``: one ``bytearray`` per level, 32 bytes per node (tests, benchmarks)."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = []
        self._size = 0

    def size(self) -> int:
        return self._size

    def get(self, level: int, index: int) -> bytes:
        if level >= len(self._levels) or index < 0:
            raise KeyError((level, index))
        start = index * HASH_SIZE
        value = bytes(self._levels[level][start : start + HASH_SIZE])
        if len(value) != HASH_SIZE:
            raise KeyError((level, index))
        return value

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.get(level, index) for level, index in keys]

    def put_many(self, nodes: Sequence[tuple[int, int, bytes]], size: int) -> None:
        for level, index, value in nodes:
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            row = self._levels[level]
            start = index * HASH_SIZE
            if start == len(row):
                row += value
            elif start + HASH_SIZE <= len(row):
                # Rewriting a node with the same value is harmless (idempotent retries);
                # a different value would silently fork the log.
                if row[start : start + HASH_SIZE] != value:
                    raise ValueError(f"node ({level}, {index}) already stored with a different hash")
            else:
                raise ValueError(f"node ({level}, {index}) written out of order")
        self._size = size


def append_leaf_hashes(store: NodeStore, hashes: Iterable[bytes]) -> int:
    """Append leaf hashes to ``store``; return the index of the first one.

    Each leaf completes ``trailing_ones(index)`` subtrees; their hashes are computed from the
    left siblings (read from the store, or from this batch) and written in one ``put_many``.
    """
    start = store.size()
    size = start
    # Left siblings come from this batch when possible, else from the store; a single append
    # reads one node per subtree it completes (amortised one read, two writes).
    pending: dict[tuple[int, int], bytes] = {}
    new_nodes: list[tuple[int, int, bytes]] = []
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise InputError("leaf hash must be 32 bytes", where=f"leaf {size}")
        index, level = size, 0
        new_nodes.append((0, index, value))
        pending[(0, index)] = value
        while index & 1:
            key = (level, index - 1)
            left = pending.get(key)
            if left is None:
                left = store.get_many([key])[0]
            value = node_hash(left, value)
            index >>= 1
            level += 1
            new_nodes.append((level, index, value))
            pending[(level, index)] = value
        size += 1
    if size != start:
        store.put_many(new_nodes, size)
    return start


# --------------------------------------------------------------------------- ranges → hashes


def _range_keys(lo: int, hi: int) -> list[tuple[int, int]]:
    """Perfect subtrees tiling ``[lo, hi)``, largest first.

    Valid for every range the RFC recursion produces: ``lo`` is then a multiple of the smallest
    power of two >= ``hi - lo``, so the binary digits of the width give aligned subtrees.
    """
    keys = []
    pos = lo
    width = hi - lo
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of a ragged range from its tiling perfect subtrees (largest first): fold from the right."""
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def _hash_ranges(store: NodeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each range, with one batched read of every needed perfect subtree."""
    tilings = [_range_keys(lo, hi) for lo, hi in ranges]
    keys = [key for tiling in tilings for key in tiling]
    fetched = iter(store.get_many(keys)) if keys else iter(())
    out = []
    for tiling in tilings:
        out.append(_fold([next(fetched) for _ in tiling]))
    return out


def _check_size(store: NodeStore, size: int) -> None:
    if size < 0 or size > store.size():
        raise InputError(f"tree size {size} is outside the log (0..{store.size()})", where="size")


def tree_root(store: NodeStore, size: int | None = None) -> bytes:
    """Root hash of the first ``size`` leaves (default: the whole log)."""
    size = store.size() if size is None else size
    _check_size(store, size)
    if size == 0:
        return EMPTY_ROOT
    return _hash_ranges(store, [(0, size)])[0]


def subtree_hash(store: NodeStore, lo: int, hi: int) -> bytes:
    """MTH of leaves ``[lo, hi)``; ``lo`` must be aligned as in the RFC recursion."""
    _check_size(store, hi)
    if not 0 <= lo < hi or lo % (1 << (hi - lo - 1).bit_length()):
        raise InputError(f"[{lo}, {hi}) is not a subtree of the log", where="range")
    return _hash_ranges(store, [(lo, hi)])[0]


def inclusion_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]) as the ranges whose hashes form the proof, leaf first."""
    out: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], true) as ranges, in proof order."""
    out: list[tuple[int, int]] = []
    complete = True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            m -= k
            lo += k
            complete = False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def inclusion_proof(store: NodeStore, index: int, size: int | None = None) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of the first ``size`` leaves (O(log n) reads)."""
    size = store.size() if size is None else size
    _check_size(store, size)
    if not 0 <= index < size:
        raise InputError(f"leaf index {index} is not in a tree of size {size}", where="index")
    return _hash_ranges(store, inclusion_ranges(index, 0, size))


def consistency_proof(store: NodeStore, first: int, second: int | None = None) -> list[bytes]:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second`` leaves."""
    second = store.size() if second is None else second
    _check_size(store, second)
    if not 0 < first <= second:
        raise InputError(f"no consistency proof from size {first} to size {second}", where="first")
    if first == second:
        return []
    return _hash_ranges(store, consistency_ranges(first, 0, second))


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """Root of a list of leaf *data* computed directly (reference for tests and the verifier)."""
    level = [leaf_hash(x) for x in leaves]
    return _root_from_leaf_hashes(level)


def _root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    # Bottom-up pairing with the odd node carried up unchanged gives exactly the RFC split tree.
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) & 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# --------------------------------------------------------------------------- verification


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1–6: the root implied by ``proof``; raises ``ProofError`` if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError("leaf hash must be 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("proof hash must be 32 bytes")
        if sn == 0:
            raise ProofError("inclusion proof has more hashes than the tree has levels")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is missing hashes")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf *hash*) is at ``index`` in the tree of ``size`` with ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the tree root at size {size}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: check the tree of ``first`` leaves is a prefix of the tree of ``second``.

    Check order follows the transparency-dev test vectors: ``first > second`` and ``first == 0``
    are errors (even when ``second == 0``); equal sizes need an empty proof and equal roots.
    """
    if first < 0 or second < 0:
        raise ProofError(f"tree sizes cannot be negative ({first}, {second})")
    if first > second:
        raise ProofError(f"size {first} is larger than size {second}: a log cannot shrink")
    if first == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal tree sizes need an empty consistency proof")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same tree size {first}")
        return
    if not proof:
        raise ProofError("empty consistency proof for different tree sizes")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("proof hash must be 32 bytes")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof has more hashes than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is missing hashes")
    if fr != first_root:
        raise ProofError(f"the tree at size {first} is not a prefix of the tree at size {second} (old root differs)")
    if sr != second_root:
        raise ProofError(f"the tree at size {first} is not a prefix of the tree at size {second} (new root differs)")
