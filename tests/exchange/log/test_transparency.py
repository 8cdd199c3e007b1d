"""The append-only log over its stores, and the personal-data-free movement leaf."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest
import rfc8785

from sendx.exchange.log.checkpoint import Signer, verify_checkpoint
from sendx.exchange.log.merkle import MemoryNodeStore, leaf_hash, root_hash, verify_consistency, verify_inclusion
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog, movement_leaf, setting_id
from sendx.schemas import examples
from sendx.validators.errors import ConflictError, InputError

SALT = b"synthetic-test-salt-0123456789"


def _event() -> dict:
    return {
        "$schema": "https://schemas.sendx.org.uk/movement/v1",
        "eventId": "MV-TEST-1",
        "type": "ap-placement-start",
        "pupil": {"upn": "A123456789012"},
        "from": {"name": "Test School", "urn": "100001", "ap": False},
        "to": {"name": "Test PRU", "urn": "100002", "ap": True},
        "effectiveDate": "2026-01-05",
        "reason": "synthetic",
        "recordedBy": {"participant": "school-100001", "role": "school"},
    }


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


def test_movement_leaf_hides_identifiers_and_commits_to_details() -> None:
    event = _event()
    leaf = movement_leaf(event, SALT)
    data = json.loads(leaf)
    assert leaf == rfc8785.dumps(data)  # canonical
    assert set(data) == {
        "v", "eventId", "type", "effectiveDate", "pupil", "from", "to", "fromAp", "toAp", "recordedBy", "detailsHash",
    }  # fmt: skip
    assert (data["from"], data["to"], data["fromAp"], data["toAp"]) == ("urn:100001", "urn:100002", False, True)
    assert data["recordedBy"] == "school-100001"
    # No personal data in the leaf: the UPN, names and free text do not appear.
    for secret in (b"A123456789012", b"Test School", b"synthetic"):
        assert secret not in leaf
    # Deterministic, case-insensitive on the UPN, sensitive to the salt and to every detail.
    lower = copy.deepcopy(event)
    lower["pupil"]["upn"] = "a123456789012"
    assert json.loads(movement_leaf(lower, SALT))["pupil"] == data["pupil"]
    assert movement_leaf(event, SALT) == leaf
    assert movement_leaf(event, SALT + b"x") != leaf
    changed = copy.deepcopy(event)
    changed["reason"] = "other"
    assert json.loads(movement_leaf(changed, SALT))["detailsHash"] != data["detailsHash"]


def test_movement_leaf_for_schema_examples() -> None:
    paths = examples("movement")
    assert paths
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        raw = movement_leaf(doc, SALT)
        leaf = json.loads(raw)
        assert leaf["v"] == 1 and len(leaf["pupil"]) == 64
        # Leaves are RFC 8785 bytes, whichever path produced them: the reference agrees.
        assert raw == rfc8785.dumps(leaf)
        details = hmac.new(SALT, rfc8785.dumps(doc), hashlib.sha256).hexdigest()
        assert leaf["detailsHash"] == details


def test_movement_leaf_errors() -> None:
    with pytest.raises(InputError):
        movement_leaf(_event(), b"short")
    broken = _event()
    del broken["pupil"]
    with pytest.raises(InputError):
        movement_leaf(broken, SALT)
    with pytest.raises(InputError):
        setting_id({"name": "no id"})
    assert setting_id(None) is None
    assert setting_id({"ukprn": "10000001"}) == "ukprn:10000001"
