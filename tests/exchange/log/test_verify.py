"""Offline log verification: every kind of tampering is caught and the first altered entry named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendx.exchange.log.checkpoint import Signer
from sendx.exchange.log.merkle import MemoryNodeStore
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog
from sendx.exchange.log.verify import VerifierState, verify_log

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


def _verified_state(signer: Signer, entries: list[bytes], sizes: tuple[int, ...] = ()) -> VerifierState:
    """State of an honest verifier that checked the log at each of ``sizes`` (and at its full size)."""
    state = VerifierState()
    for size in (*sizes, len(entries)):
        log = _hub(entries[:size])
        result = verify_log(log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier(), state)
        assert result.ok, result.problems
        state = result.state
    return state


def test_honest_log_verifies_and_state_grows(signer: Signer, tmp_path: Path) -> None:
    entries = _entries(40)
    state = _verified_state(signer, entries[:25], sizes=(10,))
    assert [c.checkpoint.size for c in state.checkpoints] == [10, 25] and state.hashed_size == 25
    path = tmp_path / "log-state.json"
    state.save(path)
    loaded = VerifierState.load(path)
    assert loaded == state
    log = _hub(entries)
    proofs = {c.checkpoint.size: log.consistency_proof(c.checkpoint.size) for c in loaded.checkpoints}
    result = verify_log(
        log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier(), loaded, consistency_proofs=proofs
    )
    assert result.ok and result.first_altered is None and result.state.hashed_size == 40
    assert result.to_dict()["ok"] is True


def test_first_run_without_state(signer: Signer) -> None:
    log = _hub(_entries(7))
    result = verify_log(log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier())
    assert result.ok and result.checkpoint is not None and result.checkpoint.size == 7
    assert VerifierState.load(Path("/nonexistent/state.json")) == VerifierState()


def _tamper_case(signer: Signer, tampered: list[bytes], state: VerifierState, resign: bool):
    """Verify tampered entries, either against a freshly re-signed checkpoint or the honest one."""
    if resign:
        log = _hub(tampered)
        note = log.checkpoint(signer, ORIGIN)
    else:
        honest = _hub(_entries(state.hashed_size))
        note = honest.checkpoint(signer, ORIGIN)
    return verify_log(tampered, note, signer.verifier(), state)


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


def _truncate(e: list[bytes]) -> list[bytes]:
    return e[:17]


@pytest.mark.parametrize(
    ("tamper", "words"),
    [(_edit, "changed"), (_delete, "deleted"), (_insert, "inserted"), (_reorder, "swapped"), (_truncate, "truncated")],
)
@pytest.mark.parametrize("resign", [False, True], ids=["same-checkpoint", "hub-re-signed"])
def test_tampering_is_detected_and_located(signer: Signer, tamper, words: str, resign: bool) -> None:
    entries = _entries(30)
    state = _verified_state(signer, entries, sizes=(8, 20))
    result = _tamper_case(signer, tamper(list(entries)), state, resign)
    assert not result.ok
    assert result.first_altered == 17
    assert any(p.index == 17 and words in p.message for p in result.problems), result.problems
    # A failed verification never advances the saved state.
    assert result.state == state


def test_history_rewritten_behind_checkpoint_without_stored_hashes(signer: Signer) -> None:
    """Only checkpoints kept (no leaf hashes): the altered entry is bracketed by checkpoints."""
    entries = _entries(30)
    full = _verified_state(signer, entries, sizes=(8, 16, 24))
    checkpoints_only = VerifierState(full.origin, full.checkpoints, b"")
    forged = list(entries)
    forged[11] = b'{"eventId":"MV-11","rewritten":true}'
    forged += _entries(35)[30:]
    log = _hub(forged)
    result = verify_log(log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier(), checkpoints_only)
    assert not result.ok
    (problem,) = [p for p in result.problems if p.kind == "root-mismatch"]
    assert problem.index == 8 and "between 8 and 15" in problem.message and "16, 24, 30" in problem.message
    # With the stored hashes the exact entry is named.
    result = verify_log(log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier(), full)
    assert result.first_altered == 11


def test_rewritten_history_with_honest_looking_proofs_is_caught(signer: Signer) -> None:
    """The hub rewrites entry 3, re-signs, and serves proofs from its own rewritten tree."""
    entries = _entries(12)
    state = _verified_state(signer, entries[:10])
    forged = list(entries)
    forged[3] = b'{"eventId":"MV-3","rewritten":true}'
    log = _hub(forged)
    proofs = {10: log.consistency_proof(10)}
    result = verify_log(
        log.entries(), log.checkpoint(signer, ORIGIN), signer.verifier(), state, consistency_proofs=proofs
    )
    kinds = {p.kind for p in result.problems}
    assert not result.ok and result.first_altered == 3
    assert {"altered-entry", "root-mismatch", "inconsistent-checkpoints"} <= kinds


def test_rollback_fork_missing_entries_and_bad_signature(signer: Signer) -> None:
    entries = _entries(20)
    state = _verified_state(signer, entries)
    # Rolled back: a smaller checkpoint than one seen before.
    small = _hub(entries[:15])
    result = verify_log(small.entries(), small.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and "log-shrank" in {p.kind for p in result.problems}
    # Fork: another root for the same size.
    other = _hub([*entries[:19], b"other"])
    result = verify_log(entries, other.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert "fork" in {p.kind for p in result.problems}
    # Missing entries: the checkpoint covers more than was served.
    bigger = _hub(_entries(25))
    result = verify_log(entries, bigger.checkpoint(signer, ORIGIN), signer.verifier(), state)
    assert not result.ok and any(p.kind == "missing-entries" and p.index == 20 for p in result.problems)
    # A checkpoint signed by someone else, or for another origin.
    honest = _hub(entries)
    result = verify_log(entries, honest.checkpoint(Signer.generate(ORIGIN), ORIGIN), signer.verifier(), state)
    assert not result.ok and result.problems[0].kind == "checkpoint-signature"
    result = verify_log(entries, honest.checkpoint(signer, ORIGIN), signer.verifier(), state, origin="other.example")
    assert not result.ok and result.problems[0].kind == "checkpoint-signature"


def test_entries_not_matching_a_fresh_checkpoint(signer: Signer) -> None:
    """First run, no state: the hub's entries disagree with its own checkpoint."""
    entries = _entries(9)
    note = _hub(entries).checkpoint(signer, ORIGIN)
    served = list(entries)
    served[4] = b"changed"
    result = verify_log(served, note, signer.verifier())
    assert not result.ok and result.problems[0].kind == "root-mismatch"
    assert "do not match the new checkpoint" in result.problems[0].message
