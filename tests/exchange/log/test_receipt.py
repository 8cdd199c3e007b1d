"""Offline receipts (c2sp.org/tlog-proof@v1 shape): made by the log, checked without the hub."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sendx.exchange.log.checkpoint import Signer
from sendx.exchange.log.leaves import movement_leaf
from sendx.exchange.log.merkle import MemoryNodeStore, ProofError
from sendx.exchange.log.receipt import (
    RECEIPT_HEADER,
    Receipt,
    make_receipt,
    open_receipt,
    opening_extra,
    verify_receipt,
)
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog
from sendx.validators.errors import InputError

ORIGIN = "hub.example/movements"


def _log(n: int) -> TransparencyLog:
    log = TransparencyLog(MemoryNodeStore(), MemoryEntryStore())
    log.append_many(f"entry {i}".encode() for i in range(n))
    return log


def test_receipts_verify_for_every_leaf() -> None:
    signer = Signer.generate(ORIGIN)
    log = _log(13)
    note = log.checkpoint(signer, ORIGIN)
    for i in range(13):
        text = log.receipt(i, note, 13)
        assert text.startswith(f"{RECEIPT_HEADER}\nindex {i}\n")
        cp = verify_receipt(text, f"entry {i}".encode(), signer.verifier(), origin=ORIGIN)
        assert cp.size == 13


def test_receipt_for_other_leaf_or_key_fails() -> None:
    signer = Signer.generate(ORIGIN)
    log = _log(5)
    text = log.receipt(2, log.checkpoint(signer, ORIGIN), 5)
    with pytest.raises(ProofError):
        verify_receipt(text, b"entry 3", signer.verifier())
    with pytest.raises(ProofError):
        verify_receipt(text, b"entry 2", Signer.generate(ORIGIN).verifier())
    with pytest.raises(ProofError):
        verify_receipt(text.replace("index 2", "index 3"), b"entry 2", signer.verifier())


def test_receipt_round_trip_with_extra() -> None:
    signer = Signer.generate(ORIGIN)
    log = _log(6)
    note = log.checkpoint(signer, ORIGIN, size=6)
    text = make_receipt(4, log.inclusion_proof(4, 6), note, extra=b"context")
    parsed = Receipt.from_text(text)
    assert parsed.extra == b"context" and parsed.index == 4 and parsed.to_text() == text
    assert verify_receipt(text.encode(), b"entry 4", signer.verifier()).size == 6


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 1\n", "index 01\n"),
        lambda t: t.replace("index 1\n", ""),
        lambda t: t.replace("index 1\n", "index 1\nnot base64!\n"),
        lambda t: t.replace("index 1\n", "index 1\nAAAA\n"),  # not 32 bytes
        lambda t: t.replace("\n\n", "\n", 1),
    ],
)
def test_malformed_receipts(mangle) -> None:
    signer = Signer.generate(ORIGIN)
    log = _log(4)
    text = log.receipt(1, log.checkpoint(signer, ORIGIN), 4)
    with pytest.raises(InputError):
        verify_receipt(mangle(text), b"entry 1", signer.verifier())


def test_a_receipt_that_opens_its_entry_proves_the_event_with_the_log_key_alone() -> None:
    signer = Signer.generate(ORIGIN)
    event = {"eventId": "MV-1", "type": "join", "pupil": {"upn": "A123456789012"}}
    salt = bytes(range(32))
    leaf = movement_leaf(event, salt, ["330"])
    log = _log(4)
    log.append(leaf)
    note = log.checkpoint(signer, ORIGIN)
    text = log.receipt(4, note, 5, opening_extra(event, salt, leaf))
    opened = open_receipt(text, signer.verifier(), origin=ORIGIN)
    assert (opened.index, opened.event, opened.leaf.las, opened.checkpoint.size) == (4, event, ("330",), 5)

    forged = Receipt.from_text(text)
    other = {**event, "type": "permanent-exclusion"}
    with pytest.raises(ProofError, match="not what entry 4 commits to"):
        open_receipt(replace(forged, extra=opening_extra(other, salt, leaf)).to_text(), signer.verifier())
    with pytest.raises(ProofError):  # a leaf of its own, not the one in the tree
        made_up = movement_leaf(other, salt, ["330"])
        open_receipt(replace(forged, extra=opening_extra(other, salt, made_up)).to_text(), signer.verifier())
    with pytest.raises(InputError, match="opens no event"):
        open_receipt(log.receipt(4, note, 5), signer.verifier())
    with pytest.raises(InputError):
        open_receipt(replace(forged, extra=b'{"event": 1}').to_text(), signer.verifier())
