"""Compact ranges: the RFC 9162 root of any prefix from O(log n) hashes, and the subtrees it completes."""

from __future__ import annotations

import pytest

from sendx.exchange.log.compact import CompactRange
from sendx.exchange.log.merkle import EMPTY_ROOT, MemoryNodeStore, append_leaf_hashes, leaf_hash, root_hash
from sendx.validators.errors import InputError

LEAVES = [f"entry {i}".encode() for i in range(70)]


def test_every_prefix_root_matches_the_reference_recursion() -> None:
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for n, leaf in enumerate(LEAVES, start=1):
        compact.extend([leaf])
        assert compact.root() == root_hash(LEAVES[:n]), n
        assert len(compact.hashes) == n.bit_count()


def test_extending_in_any_split_gives_the_same_range_and_saved_ranges_resume() -> None:
    whole = CompactRange()
    whole.extend(LEAVES)
    parts = CompactRange()
    for lo, hi in ((0, 1), (1, 13), (13, 64), (64, 70)):
        parts.extend(LEAVES[lo:hi])
    assert parts == whole
    resumed = CompactRange(37, CompactRange(37, _range(37).hashes).hashes)
    resumed.extend(LEAVES[37:])
    assert resumed == whole and resumed.copy() == whole


def _range(n: int) -> CompactRange:
    compact = CompactRange()
    compact.extend(LEAVES[:n])
    return compact


@pytest.mark.parametrize("level", [0, 1, 3])
def test_captured_subtrees_are_the_nodes_the_hub_stores(level: int) -> None:
    store = MemoryNodeStore()
    append_leaf_hashes(store, [leaf_hash(x) for x in LEAVES])
    captured = CompactRange().extend(LEAVES, capture=level)
    assert captured == [store.get(level, i) for i in range(len(LEAVES) >> level)]
    assert [(lv, ix) for lv, ix, _ in _range(70).nodes()] == [(6, 0), (2, 16), (1, 34)]
    assert all(store.get(lv, ix) == h for lv, ix, h in _range(70).nodes())


def test_a_range_over_a_subtree_starts_at_its_first_leaf() -> None:
    sub = CompactRange(start=32)
    sub.extend(LEAVES[32:64])
    assert sub.root() == root_hash(LEAVES[32:64]) and sub.nodes()[0][:2] == (5, 1)


def test_a_range_with_the_wrong_number_of_hashes_is_refused() -> None:
    with pytest.raises(InputError):
        CompactRange(5, [bytes(32)])
    with pytest.raises(InputError):
        CompactRange(1, [b"short"])
