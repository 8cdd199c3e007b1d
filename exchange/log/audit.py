"""Auditing a hub's movement log from outside: fetch what the hub serves, verify it, remember it.

The auditor's side of the *exchange* stage, behind ``sendx log verify`` and the LA log page.
The hub is not trusted: this reads its signed checkpoint, streams its entries page by page
and asks for the proofs :func:`sendx.exchange.log.verify.verify_log` needs.  Added here,
because they need the hub's other answers:

- the log key: the first verification trusts the key the hub offers (or the one given);
  afterwards the checkpoints kept in the state must still verify under the key now offered,
  so a hub that swaps keys to re-sign a rewritten history is caught;
- an LA's area: every movement the hub returns to the LA (``/v1/movements``, every page),
  turned into the commitment its event and salt open, for the verifier to match against the
  entries naming the LA;
- one entry: its inclusion proof from the hub, or an offline receipt (C2SP tlog-proof) a
  sender kept, checked against the verified checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sendx.exchange.log.checkpoint import Checkpoint, Verifier, verify_checkpoint
from sendx.exchange.log.leaves import BridgeLeaf, commitment, parse_leaf
from sendx.exchange.log.merkle import DamagedLogError, ProofError, leaf_hash, verify_consistency, verify_inclusion
from sendx.exchange.log.receipt import Receipt, verify_receipt
from sendx.exchange.log.verify import AreaView, LogVerification, Problem, VerifierState, verify_log
from sendx.validators.errors import InputError, SendxError

__all__ = ["PAGE", "HubEntries", "LogSource", "area_view", "audit_log", "fetch_entries"]

#: The hub serves at most this many entries per request (``/v1/log/entries``).
PAGE = 1000
#: The movements API's largest page.
_MOVEMENT_PAGE = 200


class LogSource(Protocol):
    """What the audit needs from a hub (``sendx.exchange.client.HubClient`` provides it)."""

    def checkpoint(self, log: str | None = None) -> dict[str, Any]: ...
    def entries(self, start: int, end: int, log: str | None = None) -> dict[str, Any]: ...
    def inclusion_proof(self, index: int, size: int, log: str | None = None) -> dict[str, Any]: ...
    def consistency_proof(self, first: int, second: int, log: str | None = None) -> dict[str, Any]: ...
    def movements(self, **filters: Any) -> dict[str, Any]: ...


def _b64list(items: Any, what: str) -> list[bytes]:
    if not isinstance(items, list):
        raise InputError(f"the hub's {what} is not a list")
    try:
        return [base64.b64decode(x, validate=True) for x in items]
    except (TypeError, ValueError):
        raise InputError(f"the hub's {what} holds something that is not base64") from None


@dataclass(frozen=True)
class HubEntries:
    """A hub's log as the verifier reads it: pages of leaf bytes and decoded proofs (``log``:
    ``"previous"`` for the log the hub kept before leaf format 2)."""

    source: LogSource
    log: str | None = None

    def pages(self, start: int, end: int) -> Iterator[list[bytes]]:
        pos = start
        while pos < end:
            with _damage_named():
                answer = self.source.entries(pos, min(end, pos + PAGE), self.log)
            page = _b64list(answer.get("entries"), "log entries")
            if not page:
                return  # the verifier names what is missing
            yield page
            pos += len(page)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with _damage_named():
            answer = self.source.inclusion_proof(index, size, self.log)
        return _b64list(answer.get("proof"), "inclusion proof")

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with _damage_named():
            answer = self.source.consistency_proof(first, second, self.log)
        return _b64list(answer.get("proof"), "consistency proof")


@contextmanager
def _damage_named() -> Iterator[None]:
    """The hub's "log-damaged" problem (a 500 naming a damaged entry or node) as ``DamagedLogError``,
    which the verifier reports as damaged storage rather than failing."""
    try:
        yield
    except SendxError as exc:
        problem = getattr(exc, "problem", None) or {}
        if str(problem.get("type", "")).endswith("/" + DamagedLogError.code):
            raise DamagedLogError(str(problem.get("detail") or exc.message)) from None
        raise


def fetch_entries(source: LogSource, size: int) -> list[bytes]:
    """Entries ``[0, size)`` as leaf bytes, in memory (tests and small tools; audits stream)."""
    return [leaf for page in HubEntries(source).pages(0, size) for leaf in page][:size]


def area_view(movements: Callable[[int, str | None], Mapping[str, Any]], la: str) -> AreaView:
    """The movements the hub returns to LA ``la`` — ``movements(limit, after)`` is one page of
    ``/v1/movements`` (``after``: the previous page's ``next`` cursor, None for the first) —
    every page, as the commitments they open."""
    commitments: dict[int, bytes] = {}
    damaged: dict[int, str] = {}
    erased: set[int] = set()
    after: str | None = None
    while True:
        page = movements(_MOVEMENT_PAGE, after)
        for item in page.get("items", []):
            index = _index(item)
            try:
                commitments[index] = commitment(item["event"], base64.b64decode(item["salt"], validate=True))
            except (KeyError, TypeError, ValueError, InputError):
                damaged[index] = "the hub returned it without a well-formed event and salt"
        damaged.update((_index(d), str(d.get("problem"))) for d in page.get("damaged", []))
        erased.update(_index(e) for e in page.get("erased", []))
        nxt = page.get("next")
        if not isinstance(nxt, str) or not nxt or nxt == after:  # the last page (or a hub going round)
            break
        after = nxt
    return AreaView(la, commitments, damaged, frozenset(erased))


def _index(item: Any) -> int:
    index = item.get("logIndex") if isinstance(item, Mapping) else None
    if not isinstance(index, int) or index < 0:
        raise InputError("the hub returned a movement without a log index")
    return index


@dataclass(frozen=True)
class _Offer:
    signed: str
    size: int
    verifier: Verifier


def _offer(source: LogSource, pinned: str | None, log: str | None = None) -> _Offer:
    with _damage_named():
        cp = source.checkpoint(log)
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


def _entry(log: HubEntries, index: int) -> bytes:
    for page in log.pages(index, index + 1):
        return page[0]
    raise InputError(f"the hub does not serve entry {index}")


def _check_bridge(source: LogSource, log: HubEntries, verifier: Verifier) -> Problem | None:
    """If this log replaced another, its first entry must be that log's final signed checkpoint."""
    try:
        first = parse_leaf(_entry(log, 0))
    except InputError:
        return None  # not a bridge; what entry 0 holds is the tree's business, verified already
    if not isinstance(first, BridgeLeaf):
        return None
    claimed = first.checkpoint
    try:
        signed = verify_checkpoint(
            _offer(source, verifier.to_text(), "previous").signed, verifier, origin=claimed.origin
        )
    except (ProofError, InputError) as exc:
        return Problem("previous-log", f"entry 0 bridges from a previous log the hub does not serve: {exc.message}", 0)
    if (signed.size, signed.root) != (claimed.size, claimed.root):
        return Problem(
            "previous-log",
            f"entry 0 commits to the previous log at size {claimed.size}, but the hub now signs that log at "
            f"size {signed.size} with another root: the previous log was changed",
            0,
        )
    return None


def _check_index(log: HubEntries, index: int, cp: Checkpoint) -> Problem | None:
    if not 0 <= index < cp.size:
        return Problem("no-such-entry", f"entry {index} is not in the verified log ({cp.size} entries)", index)
    try:
        verify_inclusion(index, cp.size, leaf_hash(_entry(log, index)), log.inclusion_proof(index, cp.size), cp.root)
    except ProofError as exc:
        return Problem("inclusion-proof", f"the hub's inclusion proof for entry {index} fails: {exc.message}", index)
    return None


def _check_receipt(
    log: HubEntries, text: str, cp: Checkpoint, verifier: Verifier, origin: str | None
) -> Problem | None:
    receipt = Receipt.from_text(text)
    i = receipt.index
    if i >= cp.size:
        return Problem("receipt", f"the receipt is for entry {i}, which the log no longer holds", cp.size)
    try:
        signed = verify_receipt(text, _entry(log, i), verifier, origin=origin)
    except (ProofError, InputError) as exc:
        return Problem("receipt", f"the receipt for entry {i} does not verify against the log: {exc.message}", i)
    try:
        if signed.size > cp.size:
            raise ProofError(f"it is larger than the verified checkpoint ({cp.size})")
        proof = log.consistency_proof(signed.size, cp.size) if signed.size < cp.size else []
        verify_consistency(signed.size, cp.size, signed.root, cp.root, proof)
    except ProofError as exc:
        return Problem(
            "receipt",
            f"the receipt's checkpoint (size {signed.size}) is not part of this log's history: {exc.message}",
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
    la: str | None = None,
    previous: bool = False,
) -> LogVerification:
    """Verify the hub's log against ``state``; for an LA (``la``) its area too; optionally one
    entry (``index``) or a receipt.  ``previous``: the log the hub kept before leaf format 2
    instead (no area: its entries are not format 2).  The returned ``state`` is what to save:
    the new one only when everything checked out."""
    which = "previous" if previous else None
    offer = _offer(source, verifier, which)
    changed = _key_changed(state, offer.verifier)
    if changed is not None:
        return LogVerification(False, (changed,), None, 0, state)
    log = HubEntries(source, which)
    area = area_view(lambda limit, after: source.movements(limit=limit, after=after), la) if la else None
    result = verify_log(log, offer.signed, offer.verifier, state, area=None if previous else area)
    if not result.ok or result.checkpoint is None:
        return result
    cp = result.checkpoint
    extra = [
        p
        for p in (
            None if previous or cp.size == 0 else _check_bridge(source, log, offer.verifier),
            _check_index(log, index, cp) if index is not None else None,
            _check_receipt(log, receipt, cp, offer.verifier, state.origin) if receipt is not None else None,
        )
        if p is not None
    ]
    return replace(result, ok=False, problems=tuple(extra), state=state) if extra else result
