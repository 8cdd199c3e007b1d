"""Transfers: an envelope accepted (authenticated, verified, validated, routed, encrypted, stored,
logged), read back by its sender or recipient, listed in the recipient's inbox, acknowledged."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sendx import validators
from sendx.exchange.hub import _seams
from sendx.exchange.hub.errors import InvalidDocumentError, StaleSignatureError, UnknownRecipientError
from sendx.exchange.hub.service import policy
from sendx.exchange.hub.service._base import (
    MAX_PAGE,
    HubBase,
    Result,
    canonical_hash,
    find_participant,
    iso,
    la_of,
    setting_of,
)
from sendx.exchange.hub.service.area_facts import index_plan
from sendx.exchange.hub.service.movements import SALT_BYTES, area_codes, log_rows
from sendx.exchange.hub.service.policy import Submission
from sendx.exchange.store import AccessLogEntry, LostPupil, Participant, ParticipantKey, Transfer, utcnow
from sendx.validators.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from sendx.validators.parsing import load_json
from sendx.validators.report import Report
from sendx.validators.rules import get_rule
from sendx.validators.schema import schema_issues

__all__ = ["UNKNOWN_DESTINATIONS", "Transfers", "lost_file_aad", "transfer_summary"]

UNKNOWN_DESTINATIONS = frozenset({"XXX", "XXXX", "XXXXXXX", "MMM", "MMMM", "MMMMMMM"})


@dataclass
class _Prepared:
    """An upload that passed every check, ready for the serialised write."""

    transfer_id: str
    sender: str
    recipient: str | None
    kind: str
    key: str
    request_hash: str
    envelope_id: str
    nonce: bytes
    ciphertext: bytes
    size: int
    events: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)  # (event, salt)
    leaves: list[bytes] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)  # lost-pupil rows, each with its own file
    plan: dict[str, Any] | None = None  # an EHC plan an LA sends: kept for its timeliness figures


class Transfers(HubBase):
    """Sending, reading, listing and acknowledging transfers."""

    def submit_transfer(self, caller: Participant, body: bytes, *, conn: Connection | None = None) -> Result:
        """Accept an envelope: authenticate, verify, validate, route, encrypt, store, log.

        The busiest path of the hub, so it runs on one connection (``conn``, the one the caller
        was authenticated on, if given) with table-level Core statements: a read transaction
        for every lookup and check the upload needs (the document is validated before anything
        parses it for routing), then one short write transaction that reserves its log indices
        first.
        """
        envelope = load_json(body)
        if not isinstance(envelope, dict):
            raise InputError("the request body must be a JSON object (a sendx envelope)")
        structural = list(schema_issues("envelope", envelope, get_rule("ENVELOPE-SCHEMA")))
        if structural:
            raise InvalidDocumentError(Report("envelope", structural), "the envelope is not well formed")
        if envelope["sender"] != caller.id:
            raise ForbiddenError(
                f"the envelope's sender {envelope['sender']!r} is not the authenticated participant {caller.id!r}"
            )
        request_hash = canonical_hash(envelope)
        key = envelope["idempotencyKey"]
        with self._connection(conn) as conn:
            with conn.begin():
                try:
                    # The very bytes accepted before need no second check (a retry after the key
                    # is revoked still gets its original answer)...
                    replay = self._replay(conn, caller.id, key, request_hash)
                except ConflictError:
                    # ...but a different envelope under a used key hears "conflict" only if it is
                    # genuine: a tampered one is a bad signature, like any other.
                    self._verify_signature(conn, caller.id, envelope)
                    raise
                if replay is not None:
                    return replay
                self._verify_signature(conn, caller.id, envelope)
                report = validators.validate(envelope, "envelope")
                if not report.valid:
                    raise InvalidDocumentError(report)
                route = _seams.ctf_route(envelope["document"].encode("utf-8")) if envelope["kind"] == "ctf" else None
                recipient, pool = self._route(conn, envelope, route)
                claims = Submission(caller, route or envelope["document"], recipient, envelope["recipient"])
                policy.enforce(policy.TRANSFERS, envelope["kind"], claims)
            prepared = self._prepare(caller, envelope, body, request_hash, recipient, route, pool)
            try:
                with self.store.writing(conn):
                    return Result(self._store_upload(conn, caller, prepared), created=True)
            except IntegrityError:
                # A concurrent upload with the same idempotency key won the race.
                with conn.begin():
                    replay = self._replay(conn, caller.id, key, request_hash)
                if replay is None:  # not a replay: the document's movement event id is taken
                    raise ConflictError(
                        "a movement event with this eventId was already recorded by you",
                        where="/document/eventId",
                        hint="give each new movement event a new eventId",
                    ) from None
                return replay

    def _store_upload(self, conn: Connection, caller: Participant, prepared: _Prepared) -> dict[str, Any]:
        """The serialised part of an upload: its rows, each written once, and its log leaves."""
        # A transaction that logs takes the log head first (every such path does, so none
        # waits for the head while holding what another holder of the head needs).
        size = self.store.lock_log_head(conn, len(prepared.events)) if prepared.events else None
        row = {
            "id": prepared.transfer_id,
            "sender_id": prepared.sender,
            "recipient_id": prepared.recipient,
            "kind": prepared.kind,
            "status": "lost" if prepared.recipient is None else "delivered",
            "idempotency_key": prepared.key,
            "request_hash": prepared.request_hash,
            "envelope_id": prepared.envelope_id,
            "nonce": prepared.nonce,
            "ciphertext": prepared.ciphertext,
            "size": prepared.size,
            "log_index": size,
            "log_count": len(prepared.events),
            "created_at": utcnow(),
            "acked_at": None,
            "redirected_from": None,
        }
        conn.execute(_INSERT_TRANSFER, row)  # first: pool and movement rows refer to it; the key constraint fires here
        if prepared.lost:
            conn.execute(_INSERT_LOST, prepared.lost)
        if size is not None:
            log_rows(self, conn, size, caller, prepared.events, prepared.leaves, prepared.transfer_id)
        if prepared.plan is not None:
            index_plan(self, conn, caller, prepared.transfer_id, prepared.plan)
        return transfer_summary(SimpleNamespace(**row))

    def _replay(self, db: Session | Connection, sender: str, key: str, request_hash: str) -> Result | None:
        t = db.execute(_TRANSFER_BY_KEY, {"sender": sender, "key": key}).first()
        if t is None:
            return None
        if not hmac.compare_digest(t.request_hash, request_hash):
            raise ConflictError(
                f"idempotency key {key!r} was already used for a different envelope",
                hint="use a new idempotencyKey for a new transfer",
            )
        return Result(transfer_summary(t))

    def _verify_signature(self, db: Session | Connection, sender: str, envelope: Mapping[str, Any]) -> None:
        """Against the sender's registered, unrevoked public key the envelope names."""
        kid = envelope["signature"]["kid"]
        match = db.execute(_KEY_BY_KID, {"kid": kid}).first()
        if match is None or match.participant_id != sender:
            raise _seams.signature_error(
                "unknown-key", f"the signing key {kid} is not registered to {sender} at this hub", "/signature/kid"
            )
        if match.revoked_at is not None:
            raise _seams.signature_error("revoked-key", f"the signing key {kid} was revoked", "/signature/kid")
        signed_at = _seams.verify_envelope_signature(envelope, sender, kid, json.loads(match.jwk))
        created, window = _seams.envelope_created(envelope), self.config.signed_at_window
        if signed_at < created - window:
            raise StaleSignatureError(
                f"the signature is dated {iso(signed_at)}, more than {window} before the envelope's "
                f"created time {iso(created)}",
                where="/signature/signedAt",
                hint="sign the envelope when you make it (sendx send does both)",
            )

    def _prepare(
        self,
        caller: Participant,
        envelope: Mapping[str, Any],
        body: bytes,
        request_hash: str,
        recipient: Participant | None,
        ctf: _seams.CtfRoute | None,
        pool: str | None,
    ) -> _Prepared:
        kind = envelope["kind"]
        tid = str(uuid.uuid4())
        events: list[dict[str, Any]] = []
        if kind == "movement":
            events = [dict(envelope["document"])]
        elif ctf is not None:
            events = _seams.ctf_movements(
                ctf,
                envelope_id=envelope["envelopeId"],
                sender=caller.id,
                role=caller.role,
                destination=setting_of(recipient),
            )
        salted = [(e, secrets.token_bytes(SALT_BYTES)) for e in events]
        nonce, ct = self.cipher.encrypt(body, tid)
        return _Prepared(
            transfer_id=tid,
            sender=caller.id,
            recipient=recipient.id if recipient is not None else None,
            kind=kind,
            key=envelope["idempotencyKey"],
            request_hash=request_hash,
            envelope_id=envelope["envelopeId"],
            nonce=nonce,
            ciphertext=ct,
            size=len(body),
            events=salted,
            leaves=[_seams.movement_leaf(e, salt, area_codes(caller, e)) for e, salt in salted],
            lost=self._pool_rows(tid, caller, envelope["document"].encode("utf-8"), ctf, pool) if ctf and pool else [],
            plan=envelope["document"] if kind == "ehcp" and caller.role == "la" else None,
        )

    def _pool_rows(
        self, tid: str, caller: Participant, document: bytes, ctf: _seams.CtfRoute, pool: str
    ) -> list[dict[str, Any]]:
        """A lost-pupil row per pupil, each sealing the pupil's own one-pupil CTF (``split_ctf``)."""
        rows = []
        for upn, file in _seams.split_ctf(document):
            rid = str(uuid.uuid4())
            nonce, ciphertext = self.cipher.encrypt(file, lost_file_aad(rid))
            rows.append(
                {
                    "id": rid,
                    "transfer_id": tid,
                    "upn_hash": self.cipher.index(upn),
                    "source_la": ctf.source_la,
                    "source_id": caller.id,
                    "destination": pool,
                    "nonce": nonce,
                    "ciphertext": ciphertext,
                }
            )
        return rows

    def _route(
        self, db: Session | Connection, envelope: Mapping[str, Any], ctf: _seams.CtfRoute | None
    ) -> tuple[Participant | None, str | None]:
        """The recipient participant, or (None, the pool's code) for a CTF sent to the lost-pupil pool.

        The envelope's address decides; the policy then checks the header names the same place.
        """
        recipient = str(envelope["recipient"]).strip()
        kind = envelope["kind"]
        if ctf is not None and recipient.upper() in UNKNOWN_DESTINATIONS:
            return None, (ctf.destination_laestab or recipient).upper()
        p = find_participant(db, recipient, by_school_code=kind == "ctf")
        if p is None:
            raise UnknownRecipientError(
                f"no participant {recipient!r} is registered at this hub",
                where="/recipient",
                hint="address the envelope to a participant id"
                + (" or the destination school's LAESTAB/URN" if kind == "ctf" else ""),
            )
        return p, None

    def inbox(self, caller: Participant, *, limit: int = 50, cursor: str | None = None, status: str | None = None):
        limit = max(1, min(limit, MAX_PAGE))
        q = select(Transfer).where(Transfer.recipient_id == caller.id)
        if status:
            q = q.where(Transfer.status == status)
        if cursor:
            created, tid = _decode_cursor(cursor)
            q = q.where(or_(Transfer.created_at < created, (Transfer.created_at == created) & (Transfer.id < tid)))
        q = q.order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit + 1)
        with self.store.read() as s:
            rows = list(s.scalars(q))
        items = [transfer_summary(t) for t in rows[:limit]]
        nxt = _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
        return {"items": items, "next": nxt}

    def get_transfer(self, caller: Participant, tid: str) -> dict[str, Any]:
        """The transfer with its decrypted envelope; the read is written to the access log."""
        with self.store.write() as s:
            t = s.get(Transfer, tid)
            if t is None or caller.id not in (t.sender_id, t.recipient_id):
                # Same answer whether it does not exist or is someone else's: no existence oracle.
                raise NotFoundError(f"no transfer {tid} for {caller.id}")
            envelope = json.loads(self.cipher.decrypt(t.nonce, t.ciphertext, t.id))
            s.add(
                AccessLogEntry(
                    participant_id=caller.id,
                    action="read",
                    transfer_id=t.id,
                    sender_la=la_of(s, t.sender_id),
                    recipient_la=la_of(s, t.recipient_id),
                )
            )
            return {**transfer_summary(t), "envelope": envelope}

    def ack(self, caller: Participant, tid: str) -> dict[str, Any]:
        with self.store.write() as s:
            t = s.get(Transfer, tid)
            if t is None or caller.id not in (t.sender_id, t.recipient_id):
                raise NotFoundError(f"no transfer {tid} for {caller.id}")
            if caller.id != t.recipient_id:
                raise ForbiddenError("only the recipient can acknowledge a transfer")
            if t.acked_at is None:
                t.acked_at = utcnow()
                t.status = "acked"
            return transfer_summary(t)


def lost_file_aad(lost_id: str) -> str:
    """What a pooled pupil's own file is encrypted bound to: its lost-pupil row."""
    return f"lost-pupil:{lost_id}"


def transfer_summary(t: Any) -> dict[str, Any]:
    """The API's view of a transfer (an ORM row, a Core row or the values just inserted)."""
    return {
        "id": t.id,
        "envelopeId": t.envelope_id,
        "kind": t.kind,
        "sender": t.sender_id,
        "recipient": t.recipient_id,
        "status": t.status,
        "size": t.size,
        "created": iso(t.created_at),
        "acknowledged": iso(t.acked_at),
        "logIndex": t.log_index,
        "logEntries": t.log_count,
        "idempotencyKey": t.idempotency_key,
        **({"redirectedFrom": t.redirected_from} if t.redirected_from else {}),
    }


def _encode_cursor(created: dt.datetime, tid: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{tid}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, tid = raw.split("|", 1)
        value = dt.datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("the paging cursor is not valid", where="cursor") from exc
    if value.tzinfo is None:
        raise InputError("the paging cursor is not valid", where="cursor")
    return value, tid


_TRANSFER_BY_KEY = select(*(c for c in Transfer.__table__.c if c.name not in ("nonce", "ciphertext"))).where(
    Transfer.__table__.c.sender_id == bindparam("sender"), Transfer.__table__.c.idempotency_key == bindparam("key")
)
_KEY_BY_KID = select(
    ParticipantKey.__table__.c.participant_id, ParticipantKey.__table__.c.jwk, ParticipantKey.__table__.c.revoked_at
).where(ParticipantKey.__table__.c.kid == bindparam("kid"))
_INSERT_TRANSFER = Transfer.__table__.insert()
_INSERT_LOST = LostPupil.__table__.insert()
