"""The lost-pupil pool: CTFs for unknown destinations, searched by an LA and redirected to a school."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sendx.exchange.hub import _seams
from sendx.exchange.hub.errors import UnknownRecipientError
from sendx.exchange.hub.service import policy
from sendx.exchange.hub.service._base import MAX_PAGE, HubBase, Result, find_participant, iso, require, setting_of
from sendx.exchange.hub.service.movements import append_movements
from sendx.exchange.hub.service.transfers import lost_file_aad, transfer_summary
from sendx.exchange.store import LostPupil, Participant, Transfer, utcnow
from sendx.validators.errors import ConflictError, InputError, NotFoundError

__all__ = ["LostPupils"]


class LostPupils(HubBase):
    """Searching the pool (LAs, by UPN) and redirecting a pupil's CTF to a school."""

    def _pupil_file(self, lost: LostPupil, original: Transfer, raw: bytes, to: str) -> tuple[str, bytes]:
        """The pupil's UPN and the envelope a redirect releases: this pupil's file and nothing else.

        A one-pupil file goes on as its sender signed it.  A pupil split out of a file of several
        (the hub refuses those now; a pool filled before it did may hold them) goes in an envelope
        the hub derived: no sender's signature covers it, so it says so (``derived``), naming the
        original, its SHA-256 and its signature, which the hub keeps sealed for audit.
        """
        envelope = json.loads(raw)
        document = envelope["document"].encode("utf-8")
        if lost.ciphertext is not None:
            file = self.cipher.decrypt(lost.nonce, lost.ciphertext, lost_file_aad(lost.id))
        else:  # a row from before pooled files were split at receipt
            file = next((f for u, f in _seams.split_ctf(document) if self.cipher.index(u) == lost.upn_hash), b"")
        upns = _seams.ctf_route(file).upns if file else ()
        if len(upns) != 1 or self.cipher.index(upns[0]) != lost.upn_hash:  # pragma: no cover - made from this file
            raise ConflictError("the pooled file no longer holds this pupil")
        if file == document:
            return upns[0], raw
        derived = {
            **{k: v for k, v in envelope.items() if k != "signature"},
            "recipient": to,
            "document": file.decode("utf-8"),
            "derived": {
                "by": "hub",
                "why": "one pupil's record cut from a lost-pupil file holding several pupils",
                "fromTransfer": original.id,
                "sourceSha256": hashlib.sha256(document).hexdigest(),
                "sourceSignature": envelope.get("signature"),
            },
        }
        return upns[0], json.dumps(derived).encode("utf-8")

    def lost_pupils(self, caller: Participant, upn: str | None = None, status: str | None = "open") -> dict[str, Any]:
        require(caller, "la")
        q = select(LostPupil).where(LostPupil.source_la == caller.la)
        if upn:
            q = q.where(LostPupil.upn_hash == self.cipher.index(upn))
        if status:
            q = q.where(LostPupil.status == status)
        with self.store.read() as s:
            rows = list(s.scalars(q.order_by(LostPupil.created_at.desc()).limit(MAX_PAGE)))
            return {"items": [self._lost_summary(r) for r in rows]}

    @staticmethod
    def _lost_summary(r: LostPupil) -> dict[str, Any]:
        return {
            "id": r.id,
            "transferId": r.transfer_id,
            "source": r.source_id,
            "sourceLa": r.source_la,
            "destination": r.destination,
            "status": r.status,
            "created": iso(r.created_at),
            "redirectedTo": r.redirected_to,
            "redirectTransferId": r.redirect_transfer_id,
        }

    def redirect_lost_pupil(self, caller: Participant, lost_id: str, recipient: str) -> Result:
        """An LA sends a pooled CTF on to the right school: a new transfer plus a join movement."""
        policy.enforce_role(policy.LOST_PUPIL_REDIRECT, "ctf", caller)
        if not isinstance(recipient, str) or not recipient.strip():
            raise InputError('the body must be {"recipient": "<participant id, LAESTAB or URN>"}')
        with self.store.read() as s:
            lost = s.get(LostPupil, lost_id)
            if lost is None:
                raise NotFoundError(f"no lost-pupil record {lost_id} in LA {caller.la}")
            policy.enforce(policy.LOST_PUPIL_REDIRECT, "ctf", policy.Submission(caller, lost))
            school = find_participant(s, recipient, by_school_code=True)
            if school is None or school.role != "school":
                raise UnknownRecipientError(f"no school {recipient!r} is registered at this hub", where="/recipient")
            if lost.status == "redirected":
                if lost.redirected_to != school.id:
                    raise ConflictError(f"this pupil was already redirected to {lost.redirected_to}")
                t = s.get(Transfer, lost.redirect_transfer_id)
                assert t is not None
                return Result(transfer_summary(t))
            original = s.get(Transfer, lost.transfer_id)
            assert original is not None
            raw = self.cipher.decrypt(original.nonce, original.ciphertext, original.id)
            sender = s.get(Participant, original.sender_id)
        upn, released = self._pupil_file(lost, original, raw, school.id)
        today = utcnow().date().isoformat()
        event = {
            "$schema": "https://schemas.sendx.org.uk/movement/v1",
            "eventId": f"LP-{lost.id[:8]}-{school.id}"[:64],
            "type": "join",
            "pupil": {"upn": upn},
            "from": setting_of(sender),
            "to": setting_of(school),
            "effectiveDate": today,
            "reason": "redirected from the lost-pupil pool by the LA",
            "recordedBy": {"participant": caller.id, "role": "la"},
        }
        tid = str(uuid.uuid4())
        nonce, ct = self.cipher.encrypt(released, tid)
        try:
            with self.store.write() as s:
                lost_row = s.get(LostPupil, lost_id)
                assert lost_row is not None
                if lost_row.status == "redirected":  # a concurrent redirect got here first
                    raise ConflictError(f"this pupil was already redirected to {lost_row.redirected_to}")
                t = Transfer(
                    id=tid,
                    sender_id=original.sender_id,
                    recipient_id=school.id,
                    kind=original.kind,
                    status="delivered",
                    idempotency_key=f"redirect:{lost_id}",
                    request_hash=original.request_hash,
                    envelope_id=original.envelope_id,
                    nonce=nonce,
                    ciphertext=ct,
                    size=len(released),
                    redirected_from=original.id,
                    log_count=1,
                )
                s.add(t)
                (index,) = append_movements(self, s, caller, [event], t.id)
                t.log_index = index
                lost_row.status = "redirected"
                lost_row.redirected_to = school.id
                lost_row.redirect_transfer_id = t.id
                lost_row.redirected_by = caller.id
                lost_row.redirected_at = utcnow()
                still_open = s.scalar(
                    select(func.count())
                    .select_from(LostPupil)
                    .where(LostPupil.transfer_id == original.id, LostPupil.status == "open")
                )
                if not still_open:
                    orig = s.get(Transfer, original.id)
                    assert orig is not None
                    orig.status = "redirected"
                body = transfer_summary(t)
        except IntegrityError as exc:
            raise ConflictError("this pupil was already redirected") from exc
        return Result(body, created=True)
