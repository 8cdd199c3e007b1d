"""Streaming log verification: every kind of tampering is caught and named, in bounded memory."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sendx.exchange.log.checkpoint import Signer
from sendx.exchange.log.leaves import movement_leaf
from sendx.exchange.log.merkle import MemoryNodeStore, leaf_hash
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog
from sendx.exchange.log.verify import (
    FINGERPRINT_BUDGET,
    AreaView,
    Fingerprint,
    VerifierState,
    verify_log,
)
from sendx.validators.errors import InputError

ORIGIN = "hub.example/movements"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate(ORIGIN)


def _entries(n: int) -> list[bytes]:
    return [f'{{"eventId":"MV-{i}"}}'.encode() for i in range(n)]


def _hub(entries: list[bytes]) -> TransparencyLog:
    """A (possibly dishonest) hub: a log built from whatever entries it now claims."""
    log = TransparencyLog(MemoryNodeStore(), MemoryEntryStore())
    log.append_many(entries)
    return log


@dataclass
class Served:
    """A hub serving ``entries`` while its tree (proofs) is ``tree``'s: entries edited in place."""

    entries: list[bytes]
    tree: TransparencyLog

    def pages(self, start: int, end: int) -> Iterator[list[bytes]]:
        for lo in range(start, min(end, len(self.entries)), 7):
            yield self.entries[lo : min(end, lo + 7)]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return self.tree.consistency_proof(first, second)


def _verified_state(signer: Signer, entries: list[bytes], sizes: tuple[int, ...] = ()) -> VerifierState:
    """State of an honest verifier that checked the log at each of ``sizes`` (and at its full size)."""
    state = VerifierState()
    for size in (*sizes, len(entries)):
        log = _hub(entries[:size])
        result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), state)
        assert result.ok, result.problems
        state = result.state
    return state


def test_honest_log_verifies_and_later_runs_read_only_what_is_new(signer: Signer, tmp_path: Path) -> None:
    entries = _entries(40)
    state = _verified_state(signer, entries[:25], sizes=(10,))
    assert [c.checkpoint.size for c in state.checkpoints] == [10, 25] and state.size == 25
    assert state.fingerprint == Fingerprint(0, b"".join(leaf_hash(e) for e in entries[:25]))
    path = tmp_path / "log-state.json"
    state.save(path)
    loaded = VerifierState.load(path)
    assert loaded == state
    log = _hub(entries)
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), loaded)
    assert result.ok and result.first_altered is None and result.state.size == 40
    assert (result.entries, result.read) == (40, 15)  # the 25 verified before are covered by a proof
    assert result.state.fingerprint.count == 40 and result.to_dict()["ok"] is True
    again = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), result.state)
    assert again.ok and again.read == 0


def test_first_run_without_state(signer: Signer) -> None:
    log = _hub(_entries(7))
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier())
    assert result.ok and result.checkpoint is not None and result.checkpoint.size == 7 and result.read == 7
    assert VerifierState.load(Path("/nonexistent/state.json")) == VerifierState()


def _edit(e: list[bytes]) -> list[bytes]:
    e[17] = b'{"eventId":"MV-17","forged":true}'
    return e


def _delete(e: list[bytes]) -> list[bytes]:
    del e[17]
    return e


def _insert(e: list[bytes]) -> list[bytes]:
    e.insert(17, b'{"eventId":"MV-X"}')
    return e


def _reorder(e: list[bytes]) -> list[bytes]:
    e[17], e[23] = e[23], e[17]
    return e


def _swap_neighbours(e: list[bytes]) -> list[bytes]:
    e[17], e[18] = e[18], e[17]
    return e


def _truncate(e: list[bytes]) -> list[bytes]:
    return e[:17]


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (_edit, "entry 17 was changed"),
        (_delete, "entry 17 was deleted"),
        (_insert, "inserted at 17"),
        (_reorder, "entries 17 and 23 were swapped"),
        (_swap_neighbours, "entries 17 and 18 were swapped (re-ordered)"),  # once named "deleted"
        (_truncate, "truncated"),
    ],
)
def test_rewritten_and_re_signed_history_is_named_entry_by_entry(signer: Signer, tamper, words: str) -> None:
    entries = _entries(30)
    state = _verified_state(signer, entries, sizes=(8, 20))
    log = _hub(tamper(list(entries)))  # the hub rebuilds its tree and signs the rewritten history
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok
    assert result.first_altered == 17
    assert any(p.index == 17 and words in p.message for p in result.problems), result.problems
    assert result.state == state  # a failed verification never advances the saved state


def test_a_large_log_names_the_block_of_the_damage(signer: Signer) -> None:
    """Past 4,096 entries the fingerprint holds blocks: damage is named to its block."""
    n = 3 * FINGERPRINT_BUDGET + 5
    entries = _entries(n)
    state = _verified_state(signer, entries)
    assert state.fingerprint.level == 2 and state.fingerprint.count == n // 4
    forged = list(entries)
    forged[5001], forged[5002] = forged[5002], forged[5001]
    log = _hub(forged)
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and result.first_altered == 5000
    assert any("between 5000 and 5003" in p.message and "re-ordered" in p.message for p in result.problems)


def test_history_rewritten_behind_checkpoints_without_a_fingerprint(signer: Signer) -> None:
    """Only checkpoints kept (as the LA page keeps): the damage is bracketed by checkpoints."""
    entries = _entries(30)
    full = _verified_state(signer, entries, sizes=(8, 16, 24))
    checkpoints_only = VerifierState(full.origin, full.checkpoints)
    forged = list(entries)
    forged[11] = b'{"eventId":"MV-11","rewritten":true}'
    forged += _entries(35)[30:]
    log = _hub(forged)
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), checkpoints_only)
    assert not result.ok
    (problem,) = [p for p in result.problems if p.kind == "root-mismatch"]
    assert problem.index == 8 and "between 8 and 15" in problem.message and "size 16" in problem.message
    # With the fingerprint the exact entry is named.
    assert verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), full).first_altered == 11


def test_an_entry_served_unlike_the_tree_is_found_by_descending_the_hubs_proofs(signer: Signer) -> None:
    """First run, no state: the hub's entry 4 no longer matches the leaf its tree holds."""
    entries = _entries(13)
    tree = _hub(entries)
    served = list(entries)
    served[4] = b"changed"
    result = verify_log(Served(served, tree), tree.checkpoint(signer, ORIGIN), signer.verifier())
    assert not result.ok and [(p.kind, p.index) for p in result.problems] == [("altered-entry", 4)]
    assert "entry 4 was changed after it was logged" in result.problems[0].message


@pytest.mark.parametrize(("level", "index", "first"), [(2, 2, 8), (3, 0, 0), (0, 12, 12)])
def test_a_damaged_tree_node_is_named_a_damaged_node(signer: Signer, level: int, index: int, first: int) -> None:
    """The hub's stored node is wrong (its signed root too); the entries are intact."""
    entries = _entries(13)
    tree = _hub(entries)
    row = tree.nodes._levels[level]
    row[index * 32 : index * 32 + 32] = bytes(32)
    result = verify_log(Served(entries, tree), tree.checkpoint(signer, ORIGIN), signer.verifier())
    assert not result.ok
    (problem,) = result.problems
    if level == 0:  # a stored leaf hash is a node too: its entry reads as changed after logging
        assert problem.kind == "altered-entry" and problem.index == first
    else:
        assert problem.kind == "damaged-node" and problem.index == first
        assert f"entries {first}..{first + (1 << level) - 1}" in problem.message
        assert "the entries themselves are intact" in problem.message


def test_a_damaged_node_only_a_consistency_proof_uses_is_named(signer: Signer) -> None:
    entries = _entries(13)
    state = _verified_state(signer, entries[:5])
    tree = _hub(entries)
    row = tree.nodes._levels[1]
    row[3 * 32 : 4 * 32] = bytes(32)
    result = verify_log(Served(entries, tree), tree.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok
    assert [(p.kind, p.index) for p in result.problems] == [("inconsistent-checkpoints", None), ("damaged-node", 6)]
    assert "entries 6..7" in result.problems[1].message


def test_rollback_fork_missing_entries_and_bad_signature(signer: Signer) -> None:
    entries = _entries(20)
    state = _verified_state(signer, entries)
    small = _hub(entries[:15])
    result = verify_log(small, small.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and "log-shrank" in {p.kind for p in result.problems}
    assert any("truncated" in p.message for p in result.problems)
    other = _hub([*entries[:19], b"other"])
    result = verify_log(other, other.checkpoint(signer, ORIGIN), signer.verifier(), state)
    kinds = {p.kind for p in result.problems}
    assert "fork" in kinds and result.first_altered == 19
    bigger = _hub(_entries(25))
    result = verify_log(Served(entries, bigger), bigger.checkpoint(signer, ORIGIN), signer.verifier())
    assert not result.ok and [(p.kind, p.index) for p in result.problems] == [("missing-entries", 20)]
    honest = _hub(entries)
    result = verify_log(honest, honest.checkpoint(Signer.generate(ORIGIN), ORIGIN), signer.verifier(), state)
    assert not result.ok and result.problems[0].kind == "checkpoint-signature"
    result = verify_log(honest, honest.checkpoint(signer, ORIGIN), signer.verifier(), state, origin="other.example")
    assert not result.ok and result.problems[0].kind == "checkpoint-signature"


def test_a_bad_consistency_proof_on_a_later_run_is_refused(signer: Signer) -> None:
    entries = _entries(20)
    state = _verified_state(signer, entries[:12])
    tree = _hub(entries)

    class Lying(Served):
        def consistency_proof(self, first: int, second: int) -> list[bytes]:
            return [bytes(32)] * len(super().consistency_proof(first, second))

    result = verify_log(Lying(entries, tree), tree.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and result.problems[0].kind == "inconsistent-checkpoints"
    assert result.state == state


def _area_log(signer: Signer) -> tuple[TransparencyLog, dict[int, bytes]]:
    """Ten movements, the even ones naming LA 330; and the commitments 330's movements open."""
    leaves, mine = [], {}
    for i in range(10):
        event, salt = {"eventId": f"MV-{i}"}, bytes([i]) * 32
        leaf = movement_leaf(event, salt, ["330" if i % 2 == 0 else "331"])
        leaves.append(leaf)
        if i % 2 == 0:
            from sendx.exchange.log.leaves import commitment

            mine[i] = commitment(event, salt)
    return _hub(leaves), mine


def test_an_la_audit_checks_that_its_movements_are_the_entries_naming_it(signer: Signer) -> None:
    log, mine = _area_log(signer)
    note = log.checkpoint(signer, ORIGIN)
    ok = verify_log(log, note, signer.verifier(), area=AreaView("330", mine))
    assert ok.ok and ok.area_entries == 5 and ok.state.area_la == "330"
    cases = {
        "missing-movement": AreaView("330", {i: c for i, c in mine.items() if i != 4}),
        "altered-movement": AreaView("330", {**mine, 4: bytes(32)}),
        "re-scoped": AreaView("330", {**mine, 5: bytes(32)}),
        "damaged-movement": AreaView("330", {i: c for i, c in mine.items() if i != 4}, {4: "cannot be decrypted"}),
    }
    for kind, view in cases.items():
        result = verify_log(log, note, signer.verifier(), area=view)
        assert not result.ok and [(p.kind, p.index) for p in result.problems] == [
            (kind, 5 if kind == "re-scoped" else 4)
        ]
    erased = AreaView("330", {i: c for i, c in mine.items() if i != 4}, erased=frozenset({4}))
    assert verify_log(log, note, signer.verifier(), area=erased).ok  # retention: the commitment stays


def test_a_later_la_audit_uses_the_area_entries_it_kept(signer: Signer) -> None:
    log, mine = _area_log(signer)
    first = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), area=AreaView("330", mine))
    later = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), first.state, area=AreaView("330", {}))
    assert later.read == 0 and [p.kind for p in later.problems] == ["missing-movement"] * 5


def test_a_state_from_before_streaming_carries_over(tmp_path: Path, signer: Signer) -> None:
    """Format 1 kept every leaf hash: they become the fingerprint, and naming stays exact."""
    entries = _entries(30)
    v2 = _verified_state(signer, entries)
    leaf_hashes = b"".join(leaf_hash(e) for e in entries)
    old = {
        "format": "sendx-log-state/1",
        "origin": v2.origin,
        "checkpoints": [c.to_dict() for c in v2.checkpoints],
        "leafHashes": base64.b64encode(leaf_hashes).decode(),
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps(old))
    state = VerifierState.load(path)
    assert state.fingerprint == v2.fingerprint and state.checkpoints == v2.checkpoints and state.range is None
    log = _hub(_reorder(list(entries)))
    result = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and result.first_altered == 17
    honest = _hub(entries + _entries(33)[30:])
    again = verify_log(honest, honest.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert again.ok and again.read == 33 and again.state.to_dict()["format"] == "sendx-log-state/2"


def test_state_files_are_read_strictly(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"format": "sendx-log-state/0", "checkpoints": []}')
    with pytest.raises(InputError, match="not a sendx-log-state/2 state file"):
        VerifierState.load(path)
    state = _verified_state(signer, _entries(9)).to_dict()
    state["range"] = state["range"][:-1]
    with pytest.raises(InputError):
        VerifierState.from_dict(state)


def test_a_later_run_over_a_much_larger_log_coarsens_the_fingerprint_as_a_fresh_run_would(signer: Signer) -> None:
    entries = _entries(5 * FINGERPRINT_BUDGET + 3)
    small = _verified_state(signer, entries[:101])  # level 0, 101 leaf hashes (not a whole block)
    log = _hub(entries)
    later = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier(), small)
    fresh = verify_log(log, log.checkpoint(signer, ORIGIN), signer.verifier())
    assert later.ok and later.read == len(entries) - 101
    assert later.state.fingerprint == fresh.state.fingerprint and fresh.state.fingerprint.level == 3
