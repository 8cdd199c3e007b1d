"""The log's SQL node store (``exchange/store/lognodes.py``) on every store backend.

Proofs read from the database must equal proofs from the in-memory reference tree, at
ragged sizes and across the lookup chunk boundary, and a missing node is a clear error.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from sendx.exchange.log.merkle import DamagedLogError, MemoryNodeStore
from sendx.exchange.log.transparency import TransparencyLog
from sendx.exchange.store.database import LogNode
from sendx.exchange.store.lognodes import SqlNodeStore, append_leaves, open_log

LEAVES = [b"leaf-%d" % i for i in range(613)]


@pytest.fixture
def filled(hub):
    with hub.store.write() as s:
        append_leaves(s, hub.store.lock_log_head(s), LEAVES[:300])
    with hub.store.write() as s:
        append_leaves(s, hub.store.lock_log_head(s), LEAVES[300:])
    reference = TransparencyLog(MemoryNodeStore())
    reference.append_many(LEAVES)
    return hub, reference


def test_database_proofs_equal_the_reference_tree(filled):
    hub, reference = filled
    with hub.store.read() as s:
        log = open_log(s)
        assert log.size == len(LEAVES) and log.root() == reference.root()
        for size in (1, 2, 7, 300, 301, 612, 613):
            assert log.root(size) == reference.root(size)
            for index in {0, size // 2, size - 1}:
                assert log.inclusion_proof(index, size) == reference.inclusion_proof(index, size)
            for first in {1, size // 3 or 1, size - 1 or 1}:
                assert log.consistency_proof(first, size) == reference.consistency_proof(first, size)


def test_node_lookups_cross_the_chunk_boundary_in_order_with_repeats(filled):
    hub, reference = filled
    keys = [(0, i) for i in range(450)] + [(1, 3), (0, 5), (1, 3)]
    with hub.store.read() as s:
        got = SqlNodeStore(s).get_many(keys)
    assert got == reference.nodes.get_many(keys)


def test_a_missing_node_is_a_clear_error(filled):
    hub, _ = filled
    with hub.store.write() as s:
        s.execute(delete(LogNode).where(LogNode.level == 0, LogNode.index == 5))
    with hub.store.read() as s, pytest.raises(DamagedLogError, match=r"node \(0, 5\) is missing"):
        SqlNodeStore(s).get_many([(0, 4), (0, 5)])
