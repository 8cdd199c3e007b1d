"""Auditing a hub's movement log from outside: fetch what the hub serves, verify it, remember it.

The auditor's side of the *exchange* stage, behind ``sendx log verify``.  The hub is not
trusted: this fetches the signed checkpoint, every entry (leaf bytes) and the consistency
proofs from the checkpoints seen before, then hands them to :func:`sendx.exchange.log.verify.verify_log`,
which recomputes the tree and names the first altered entry.  Two things are added here
because they need the hub's answers:

- the log key: the first verification trusts the key the hub offers (or the one given);
  afterwards the checkpoints kept in the state must still verify under the key now offered,
  so a hub that swaps keys to re-sign a rewritten history is caught;
- one event: its entry's inclusion proof from the hub, or an offline receipt (C2SP
  tlog-proof) a sender kept, is checked against the verified log.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sendx.exchange.log.checkpoint import Verifier, verify_checkpoint
from sendx.exchange.log.merkle import ProofError, leaf_hash, root_hash, verify_inclusion
from sendx.exchange.log.receipt import Receipt, verify_receipt
from sendx.exchange.log.verify import LogVerification, Problem, VerifierState, verify_log
from sendx.validators.errors import InputError

__all__ = ["LogSource", "audit_log", "fetch_entries"]

#: The hub serves at most this many entries per request (``/v1/log/entries``).
PAGE = 1000


class LogSource(Protocol):
    """What the audit needs from a hub (``sendx.exchange.client.HubClient`` provides it)."""

    def checkpoint(self) -> dict[str, Any]: ...
    def entries(self, start: int, end: int) -> dict[str, Any]: ...
    def inclusion_proof(self, index: int, size: int) -> dict[str, Any]: ...
    def consistency_proof(self, first: int, second: int) -> dict[str, Any]: ...


def _b64list(items: Any, what: str) -> list[bytes]:
    if not isinstance(items, list):
        raise InputError(f"the hub's {what} is not a list")
    try:
        return [base64.b64decode(x, validate=True) for x in items]
    except (TypeError, ValueError):
        raise InputError(f"the hub's {what} holds something that is not base64") from None


def fetch_entries(source: LogSource, size: int) -> list[bytes]:
    """Entries ``[0, size)`` as leaf bytes, page by page; a short or stalled answer is an error."""
    out: list[bytes] = []
    while len(out) < size:
        page = _b64list(source.entries(len(out), min(size, len(out) + PAGE)).get("entries"), "log entries")
        if not page:
            raise InputError(f"the hub served no entries from {len(out)} though its checkpoint covers {size}")
        out += page
    return out[:size]


@dataclass(frozen=True)
class _Offer:
    signed: str
    size: int
    verifier: Verifier


def _offer(source: LogSource, pinned: str | None) -> _Offer:
    cp = source.checkpoint()
    if not isinstance(cp, Mapping) or not isinstance(cp.get("checkpoint"), str):
        raise InputError("the hub's checkpoint answer has no signed checkpoint")
    text = pinned or cp.get("verifier")
    if not isinstance(text, str) or not text:
        raise InputError("the hub offers no log verifier key", hint="pass the hub's key with --verifier")
    size = cp.get("size")
    if not isinstance(size, int) or size < 0:
        raise InputError("the hub's checkpoint answer has no size")
    return _Offer(cp["checkpoint"], size, Verifier.from_text(text))


def _key_changed(state: VerifierState, verifier: Verifier) -> Problem | None:
    """A problem if the checkpoints accepted before do not verify under the key now in use."""
    if not state.checkpoints:
        return None
    latest = state.checkpoints[-1]
    try:
        verify_checkpoint(latest.note, verifier, origin=state.origin)
    except (ProofError, InputError):
        return Problem(
            "log-key-changed",
            f"the checkpoint of size {latest.checkpoint.size} verified before does not verify under the log key "
            f"in use now ({verifier.name}): the hub changed its log key",
        )
    return None


def _check_index(source: LogSource, index: int, entries: Sequence[bytes], result: LogVerification) -> Problem | None:
    cp = result.checkpoint
    if cp is None or not 0 <= index < cp.size:
        return Problem("no-such-entry", f"entry {index} is not in the verified log ({result.entries} entries)", index)
    proof = _b64list(source.inclusion_proof(index, cp.size).get("proof"), "inclusion proof")
    try:
        verify_inclusion(index, cp.size, leaf_hash(entries[index]), proof, cp.root)
    except ProofError as exc:
        return Problem("inclusion-proof", f"the hub's inclusion proof for entry {index} fails: {exc.message}", index)
    return None


def _check_receipt(text: str, entries: Sequence[bytes], verifier: Verifier, origin: str | None) -> Problem | None:
    receipt = Receipt.from_text(text)
    i = receipt.index
    if i >= len(entries):
        return Problem("receipt", f"the receipt is for entry {i}, which the log no longer holds", len(entries))
    try:
        signed = verify_receipt(text, entries[i], verifier, origin=origin)
    except (ProofError, InputError) as exc:
        return Problem("receipt", f"the receipt for entry {i} does not verify against the log: {exc.message}", i)
    if signed.size > len(entries) or root_hash(list(entries[: signed.size])) != signed.root:
        return Problem(
            "receipt",
            f"the receipt's checkpoint (size {signed.size}) is not part of this log's history: it was rewritten",
            i,
        )
    return None


def audit_log(
    source: LogSource,
    state: VerifierState,
    *,
    verifier: str | None = None,
    index: int | None = None,
    receipt: str | None = None,
) -> LogVerification:
    """Verify the hub's whole log against ``state``; optionally one entry (``index``) or a receipt.

    The returned ``state`` is what to save: the new one only when everything checked out.
    """
    offer = _offer(source, verifier)
    changed = _key_changed(state, offer.verifier)
    if changed is not None:
        return LogVerification(False, (changed,), None, 0, state)
    entries = fetch_entries(source, offer.size)
    proofs = {
        seen.checkpoint.size: _b64list(
            source.consistency_proof(seen.checkpoint.size, offer.size).get("proof"), "consistency proof"
        )
        for seen in state.checkpoints
        if 0 < seen.checkpoint.size <= offer.size
    }
    result = verify_log(entries, offer.signed, offer.verifier, state, consistency_proofs=proofs)
    if not result.ok:
        return result
    extra = [
        p
        for p in (
            _check_index(source, index, entries, result) if index is not None else None,
            _check_receipt(receipt, entries, offer.verifier, state.origin) if receipt is not None else None,
        )
        if p is not None
    ]
    return replace(result, ok=False, problems=tuple(extra), state=state) if extra else result
