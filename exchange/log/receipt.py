"""Offline log receipts: proof that one movement event is in the signed movement log.

Part of the *exchange* stage: when the hub logs an event it can hand the sender a receipt that
anyone holding the hub's log key can check later, without contacting the hub.

Format (the shape of c2sp.org/tlog-proof@v1, followed as described there)::

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional, unauthenticated application data; at most one line)
    index <N>                 (zero-based leaf index, decimal, no leading zeros)
    <base64 proof hash>       (zero or more lines: RFC 6962 audit path, leaf's sibling first)
    <blank line>
    <signed checkpoint, verbatim: body, blank line, signature lines>

Verification: parse strictly, verify the checkpoint signature with the log's verifier key
(:func:`sendx.exchange.log.checkpoint.verify_checkpoint`), then check that ``leaf_hash(leaf_bytes)`` at
``index`` with the proof leads to the checkpoint's root (RFC 9162 §2.1.3.2). Any failure raises;
success returns the verified checkpoint. Differences from the C2SP text, if any, are ours:
we refuse empty proof lines, non-canonical base64 and duplicate ``extra`` lines.

A participant in a movement's scope gets a receipt that also *opens* the entry: its ``extra``
line holds the RFC 8785 JSON ``{"event", "leaf" (base64), "salt" (base64)}``, so a family or an
LA checks that movement, and sees exactly what was logged, with the log key alone
(:func:`open_receipt`).  The line is unauthenticated by the format; it is believed only because
the leaf it names is proven in the signed tree and the event and salt open that leaf.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sendx.exchange.log.checkpoint import Checkpoint, Verifier, _b64, _b64decode, parse_note, verify_checkpoint
from sendx.exchange.log.leaves import MovementLeaf, opens, parse_leaf
from sendx.exchange.log.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from sendx.exchange.trust.canonical import canonical_json
from sendx.validators.errors import InputError

__all__ = [
    "RECEIPT_HEADER",
    "OpenedReceipt",
    "Receipt",
    "make_receipt",
    "open_receipt",
    "opening_extra",
    "verify_receipt",
]

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt (the checkpoint is still unverified)."""

    index: int
    proof: tuple[bytes, ...]
    signed_checkpoint: str
    extra: bytes | None = None

    def to_text(self) -> str:
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            lines.append(f"extra {_b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64(h) for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.signed_checkpoint

    @classmethod
    def from_text(cls, text: str | bytes) -> Receipt:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("receipt is not UTF-8", where="receipt") from None
        head, sep, signed = text.partition("\n\n")
        if not sep:
            raise InputError("receipt has no blank line before its checkpoint", where="receipt")
        lines = head.split("\n")
        if lines[0] != RECEIPT_HEADER:
            raise InputError(f"receipt must start with {RECEIPT_HEADER!r}", where="receipt line 1")
        pos = 1
        extra = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = _b64decode(lines[pos][len("extra ") :], "receipt extra line")
            pos += 1
        if pos >= len(lines) or not (match := _INDEX.fullmatch(lines[pos])):
            raise InputError("receipt needs an 'index N' line", where=f"receipt line {pos + 1}")
        index = int(match.group(1))
        proof = []
        for number, line in enumerate(lines[pos + 1 :], start=pos + 2):
            raw = _b64decode(line, f"receipt line {number}")
            if len(raw) != HASH_SIZE:
                raise InputError("proof hash must be 32 bytes", where=f"receipt line {number}")
            proof.append(raw)
        parse_note(signed)  # structure only; the signature is checked by verify_receipt
        return cls(index, tuple(proof), signed, extra)


def make_receipt(index: int, proof: Sequence[bytes], signed_checkpoint: str, extra: bytes | None = None) -> str:
    """Receipt text for the leaf at ``index`` with its inclusion proof in ``signed_checkpoint``'s tree."""
    return Receipt(index, tuple(proof), signed_checkpoint, extra).to_text()


def verify_receipt(
    receipt_text: str | bytes, leaf_bytes: bytes, verifier: Verifier, *, origin: str | None = None
) -> Checkpoint:
    """Check a receipt for ``leaf_bytes``; return the verified checkpoint, raise ``ProofError`` if not."""
    receipt = Receipt.from_text(receipt_text)
    checkpoint = verify_checkpoint(receipt.signed_checkpoint, verifier, origin=origin)
    verify_inclusion(receipt.index, checkpoint.size, leaf_hash(leaf_bytes), receipt.proof, checkpoint.root)
    return checkpoint


def opening_extra(event: Mapping[str, Any], salt: bytes, leaf: bytes) -> bytes:
    """The ``extra`` data that opens a receipt's entry: the event, its salt and the leaf."""
    return canonical_json(
        {"event": dict(event), "leaf": base64.b64encode(leaf).decode("ascii"), "salt": base64.b64encode(salt).decode()}
    )


@dataclass(frozen=True)
class OpenedReceipt:
    """What a receipt with an opening proves: this event is entry ``index`` of the signed log."""

    checkpoint: Checkpoint
    index: int
    event: dict[str, Any]
    leaf: MovementLeaf


def open_receipt(receipt_text: str | bytes, verifier: Verifier, *, origin: str | None = None) -> OpenedReceipt:
    """Verify a receipt that carries its entry's opening; return the proven event.

    Raises ``InputError`` for a receipt without an opening or a malformed one, ``ProofError``
    when the checkpoint, the inclusion proof or the commitment does not hold.
    """
    from sendx.validators.parsing import load_json

    receipt = Receipt.from_text(receipt_text)
    if receipt.extra is None:
        raise InputError("this receipt opens no event (only the movement's participants get one)", where="extra")
    data = load_json(receipt.extra)
    try:
        event, leaf, salt = data["event"], base64.b64decode(data["leaf"], validate=True), base64.b64decode(data["salt"])
    except (KeyError, TypeError, binascii.Error):
        raise InputError("the receipt's extra line is not an event, leaf and salt", where="extra") from None
    if not isinstance(event, dict):
        raise InputError("the receipt's event is not a JSON object", where="extra")
    parsed = parse_leaf(leaf)
    if not isinstance(parsed, MovementLeaf):
        raise InputError("the receipt's leaf is not a movement leaf", where="extra")
    checkpoint = verify_receipt(receipt_text, leaf, verifier, origin=origin)
    if not opens(parsed, event, salt):
        raise ProofError(f"the event in the receipt is not what entry {receipt.index} commits to: it was altered")
    return OpenedReceipt(checkpoint, receipt.index, event, parsed)
