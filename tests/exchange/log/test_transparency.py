"""The append-only log over its stores."""

from __future__ import annotations

import pytest

from sendx.exchange.log.checkpoint import Signer, verify_checkpoint
from sendx.exchange.log.merkle import MemoryNodeStore, leaf_hash, root_hash, verify_consistency, verify_inclusion
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog
from sendx.validators.errors import ConflictError, InputError


def test_append_root_and_proofs() -> None:
    log = TransparencyLog(MemoryNodeStore(), MemoryEntryStore())
    leaves = [f"e{i}".encode() for i in range(21)]
    assert log.append(leaves[0]) == 0
    assert log.append_many(leaves[1:]) == 1
    assert log.size == 21 and log.entries() == leaves
    for size in range(1, 22):
        assert log.root(size) == root_hash(leaves[:size])
        for index in range(size):
            verify_inclusion(index, size, leaf_hash(leaves[index]), log.inclusion_proof(index, size), log.root(size))
        for first in range(1, size):
            verify_consistency(first, size, log.root(first), log.root(size), log.consistency_proof(first, size))


def test_checkpoint_is_signed_and_matches_root() -> None:
    signer = Signer.generate("hub.example/movements")
    log = TransparencyLog(MemoryNodeStore())
    log.append_many([b"a", b"b", b"c"])
    cp = verify_checkpoint(log.checkpoint(signer, "hub.example/movements"), signer.verifier())
    assert (cp.size, cp.root) == (3, log.root())
    assert verify_checkpoint(log.checkpoint(signer, "hub.example/movements", size=2), signer.verifier()).size == 2


def test_mismatched_stores_and_bad_leaves_are_refused() -> None:
    entries = MemoryEntryStore()
    entries.append_many(0, [b"orphan"])
    with pytest.raises(ConflictError):
        TransparencyLog(MemoryNodeStore(), entries)
    log = TransparencyLog(MemoryNodeStore(), MemoryEntryStore())
    with pytest.raises(InputError):
        log.append("text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        TransparencyLog(MemoryNodeStore()).entries()
