"""The hub's behaviour, independent of HTTP: what happens when a participant sends,
reads, acknowledges, records a movement, searches for a lost pupil or asks for the log.

The Flask blueprints are thin wrappers over ``Hub``; ``sendx demo`` and tests can drive a
``Hub`` directly.  Expensive, untrusted-input work (parsing, signature verification,
validation, encryption) happens before a write transaction opens, so the serialised part
of an upload — lock the log head, insert, append leaves, commit — stays short.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import validators
from exchange.hub import _seams
from exchange.hub.atrest import Cipher
from exchange.hub.errors import InvalidDocumentError, UnknownRecipientError
from exchange.store import (
    ROLES,
    AccessLogEntry,
    ApiToken,
    LogLeaf,
    LostPupil,
    Movement,
    Participant,
    ParticipantKey,
    Store,
    Transfer,
    utcnow,
)
from validators.errors import ConflictError, ForbiddenError, InputError, NotAuthorisedError, NotFoundError
from validators.parsing import load_json
from validators.report import Report
from validators.rules import get_rule
from validators.schema import schema_issues

__all__ = ["UNKNOWN_DESTINATIONS", "Hub", "Result", "hash_token"]

#: CTF destination pseudo-codes (LA, LAESTAB) meaning "unknown" (XXX) or "independent/abroad"
#: (MMM): both go to the lost-pupil pool (CTF NOTES, DfE S2S guidance).
UNKNOWN_DESTINATIONS = frozenset({"XXX", "XXXX", "XXXXXXX", "MMM", "MMMM", "MMMMMMM"})
_TOKEN_PREFIX = "sxt_"
_MAX_PAGE = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> bytes:
    from exchange.signing import canonical_json

    return canonical_json(obj)


def _canonical_hash(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj)).hexdigest()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class Result:
    """A response body and whether it was created now (201) or replayed/read (200)."""

    body: dict[str, Any]
    created: bool = False

    @property
    def status(self) -> int:
        return 201 if self.created else 200


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
    lost: list[tuple[str, str | None, str]] = field(default_factory=list)  # (upn_hash, source_la, destination)


class Hub:
    def __init__(self, store: Store, cipher: Cipher, *, log_signer: Any = None, log_origin: str = "sendx.hub/log"):
        self.store = store
        self.cipher = cipher
        self.log_signer = log_signer
        self.log_origin = log_origin
        self.config: Any = None

    @property
    def log_verifier(self) -> str | None:
        """The log key's C2SP verifier key text (``name+keyid+base64``), for auditors."""
        return self.log_signer.verifier().to_text() if self.log_signer is not None else None

    # ------------------------------------------------------------------ participants

    def add_participant(
        self,
        id: str,
        role: str,
        name: str,
        *,
        la: str | None = None,
        urn: str | None = None,
        laestab: str | None = None,
        ukprn: str | None = None,
        ods: str | None = None,
    ) -> dict[str, Any]:
        from validators import identifiers as ids

        if role not in ROLES:
            raise InputError(f"unknown role {role!r}", hint=f"choose one of: {', '.join(ROLES)}")
        from exchange.keys import ORG_PATTERN

        # The key store's rule: a participant names its key directory after its id, so the
        # hub must not register one that cannot sign (nor "..", nor a look-alike in Cyrillic).
        if not isinstance(id, str) or not ORG_PATTERN.fullmatch(id):
            raise InputError(
                f"participant id {id!r} must be 1-64 ASCII letters, digits, '-', '_' or '.', "
                "starting with a letter or digit",
                where="id",
            )
        # The column holds 200 characters: PostgreSQL refused a longer name with a 500, SQLite kept it.
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InputError("a participant's name is 1-200 characters", where="name")
        checks = [
            ("la", la, ids.is_valid_la_code),
            ("urn", urn, ids.is_valid_urn),
            ("laestab", laestab, ids.is_valid_laestab),
            ("ukprn", ukprn, ids.is_valid_ukprn),
            ("ods", ods, ids.is_valid_ods_code),
        ]
        for what, value, check in checks:
            if value is not None and not check(value):
                raise InputError(f"{value!r} is not a valid {what.upper()}", where=what)
        if role == "la" and not la:
            raise InputError("an LA participant needs its LA code (--la)")
        if role == "school" and not (urn or laestab):
            raise InputError("a school needs its URN or LAESTAB")
        if laestab and not la:
            la = laestab[:3]
        p = Participant(id=id, role=role, name=name, la=la, urn=urn, laestab=laestab, ukprn=ukprn, ods=ods)
        try:
            with self.store.write() as s:
                s.add(p)
        except IntegrityError as exc:
            raise ConflictError(f"participant {id!r} or one of its identifiers is already registered") from exc
        return p.to_dict()

    def list_participants(self) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return [p.to_dict() for p in s.scalars(select(Participant).order_by(Participant.id))]

    def participant(self, pid: str) -> dict[str, Any]:
        with self.store.read() as s:
            return self._participant(s, pid).to_dict()

    def add_key(self, participant_id: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
        kid = _seams.jwk_kid(jwk)
        with self.store.write() as s:
            self._participant(s, participant_id)
            existing = s.get(ParticipantKey, kid)
            if existing is not None:
                if existing.participant_id != participant_id:
                    raise ConflictError(f"key {kid} is registered to another participant")
                return {"kid": kid, "participant": participant_id, "revoked": existing.revoked_at is not None}
            s.add(ParticipantKey(kid=kid, participant_id=participant_id, jwk=json.dumps(dict(jwk), sort_keys=True)))
        return {"kid": kid, "participant": participant_id, "revoked": False}

    def revoke_key(self, kid: str, *, participant_id: str | None = None) -> dict[str, Any]:
        with self.store.write() as s:
            key = s.get(ParticipantKey, kid)
            if key is None or participant_id not in (None, key.participant_id):
                raise NotFoundError(f"no key {kid}")
            key.revoked_at = key.revoked_at or utcnow()
            return {"kid": kid, "participant": key.participant_id, "revoked": True}

    def keys(self, participant_id: str) -> list[dict[str, Any]]:
        with self.store.read() as s:
            self._participant(s, participant_id)
            rows = s.scalars(select(ParticipantKey).where(ParticipantKey.participant_id == participant_id))
            return [
                {"kid": k.kid, "jwk": json.loads(k.jwk), "created": _iso(k.created_at), "revoked": _iso(k.revoked_at)}
                for k in rows
            ]

    def new_token(self, participant_id: str) -> str:
        """Issue an API token; only its SHA-256 is stored, so this is the one time it is seen."""
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as s:
            self._participant(s, participant_id)
            s.add(ApiToken(participant_id=participant_id, token_hash=hash_token(token)))
        return token

    def revoke_tokens(self, participant_id: str, token: str | None = None) -> dict[str, Any]:
        """Revoke one of a participant's API tokens (given its text) or, with none given, all of them.

        Effective at once for the API and for any LA page session signed in with them.
        """
        with self.store.write() as s:
            self._participant(s, participant_id)
            q = select(ApiToken).where(ApiToken.participant_id == participant_id, ApiToken.revoked_at.is_(None))
            if token is not None:
                q = q.where(ApiToken.token_hash == hash_token(token))
            rows = list(s.scalars(q))
            if token is not None and not rows:
                raise NotFoundError(f"that token is not a live token of {participant_id!r}")
            now = utcnow()
            for row in rows:
                row.revoked_at = now
        return {"participant": participant_id, "revoked": len(rows)}

    def authenticate(self, token: str | None, *, conn: Connection | None = None) -> Participant:
        """The participant a Bearer token belongs to; on ``conn`` if given (the request's own connection)."""
        if not token:
            raise NotAuthorisedError("an API token is required", hint="send 'Authorization: Bearer <token>'")
        digest = hash_token(token)
        found = self._live_token(digest, conn)
        if found is None:
            raise NotAuthorisedError("the API token is not valid", hint="ask the hub admin for a new token")
        return found

    def _live_token(self, digest: str, conn: Connection | None = None) -> Participant | None:
        """The participant whose unrevoked token has this SHA-256, if any.

        The lookup is a transaction of its own, ended before the request body is read: joining
        it to the upload's checks would save a BEGIN and a COMMIT, but would keep a transaction
        (and its table locks, which a migration waits behind) open while a slow client sends.
        """
        with self._connection(conn) as db, db.begin():
            row = db.execute(_TOKEN_OWNER, {"digest": digest}).first()
        # The lookup is by hash (the index); the constant-time compare guards the final check.
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return _detached_participant(row)

    def _connection(self, conn: Connection | None) -> contextlib.AbstractContextManager[Connection]:
        """``conn`` when a request already holds one (one pool checkout per request), else a new one."""
        return contextlib.nullcontext(conn) if conn is not None else self.store.connection()

    @staticmethod
    def _participant(s: Session, pid: str) -> Participant:
        p = s.get(Participant, pid)
        if p is None:
            raise NotFoundError(f"no participant {pid!r}")
        return p

    # ------------------------------------------------------------------ transfers

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
        request_hash = _canonical_hash(envelope)
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
                recipient, lost = self._route(conn, envelope)
            prepared = self._prepare(caller, envelope, body, request_hash, recipient, lost)
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
            conn.execute(
                _INSERT_LOST,
                [
                    {
                        "id": str(uuid.uuid4()),
                        "transfer_id": prepared.transfer_id,
                        "upn_hash": upn_hash,
                        "source_la": source_la,
                        "source_id": caller.id,
                        "destination": destination,
                    }
                    for upn_hash, source_la, destination in prepared.lost
                ],
            )
        if size is not None:
            self._log_rows(conn, size, caller, prepared.events, prepared.leaves, prepared.transfer_id)
        return self._transfer_summary(SimpleNamespace(**row))

    def _replay(self, db: Session | Connection, sender: str, key: str, request_hash: str) -> Result | None:
        t = db.execute(_TRANSFER_BY_KEY, {"sender": sender, "key": key}).first()
        if t is None:
            return None
        if not hmac.compare_digest(t.request_hash, request_hash):
            raise ConflictError(
                f"idempotency key {key!r} was already used for a different envelope",
                hint="use a new idempotencyKey for a new transfer",
            )
        return Result(self._transfer_summary(t))

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
        _seams.verify_envelope_signature(envelope, sender, kid, json.loads(match.jwk))

    def _prepare(
        self,
        caller: Participant,
        envelope: Mapping[str, Any],
        body: bytes,
        request_hash: str,
        recipient: Participant | None,
        lost: list[tuple[str, str | None, str]],
    ) -> _Prepared:
        kind = envelope["kind"]
        tid = str(uuid.uuid4())
        events: list[dict[str, Any]] = []
        if kind == "movement":
            events = [dict(envelope["document"])]
        elif kind == "ctf":
            route = _seams.ctf_route(envelope["document"].encode("utf-8"))
            if caller.laestab and route.source_laestab != caller.laestab:
                raise ForbiddenError(
                    f"the CTF's source school {route.source_laestab} is not you ({caller.laestab})",
                    where="/document/Header/SourceSchool",
                )
            events = _seams.ctf_movements(
                envelope["document"].encode("utf-8"),
                envelope_id=envelope["envelopeId"],
                sender=caller.id,
                destination=_setting_of(recipient),
            )
        salted = [(e, secrets.token_bytes(32)) for e in events]
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
            leaves=[_seams.movement_leaf(e, salt) for e, salt in salted],
            lost=lost,
        )

    def _route(
        self, db: Session | Connection, envelope: Mapping[str, Any]
    ) -> tuple[Participant | None, list[tuple[str, str | None, str]]]:
        """The recipient participant, or None plus lost-pupil entries for unknown destinations."""
        recipient = str(envelope["recipient"]).strip()
        kind = envelope["kind"]
        if kind == "ctf":
            route = _seams.ctf_route(envelope["document"].encode("utf-8"))
            dest = route.destination_la or ""
            if recipient.upper() in UNKNOWN_DESTINATIONS or dest.upper() in UNKNOWN_DESTINATIONS:
                code = (route.destination_laestab or recipient).upper()
                return None, [(self.cipher.index(upn), route.source_la, code) for upn in route.upns]
        p = _find_participant(db, recipient, by_school_code=kind == "ctf")
        if p is None:
            raise UnknownRecipientError(
                f"no participant {recipient!r} is registered at this hub",
                where="/recipient",
                hint="address the envelope to a participant id"
                + (" or the destination school's LAESTAB/URN" if kind == "ctf" else ""),
            )
        return p, []

    def _append_movements(
        self, s: Session, recorder: Participant, events: Sequence[Mapping[str, Any]], transfer_id: str | None
    ) -> list[int]:
        """Lock the log head, then insert the movement rows and append their leaves; return the indices."""
        size = self.store.lock_log_head(s, len(events))  # first, before any row this transaction has pending
        s.flush()  # then those rows (the transfer the movements belong to)
        salted = [(dict(e), secrets.token_bytes(32)) for e in events]
        leaves = [_seams.movement_leaf(e, salt) for e, salt in salted]
        return self._log_rows(s, size, recorder, salted, leaves, transfer_id)

    def _log_rows(
        self,
        db: Session | Connection,
        size: int,
        recorder: Participant,
        salted: Sequence[tuple[Mapping[str, Any], bytes]],
        leaves: Sequence[bytes],
        transfer_id: str | None,
    ) -> list[int]:
        """With the head locked and advanced past them from ``size``: insert the movement rows, append their leaves."""
        values = [self._movement_values(recorder, e, salt, transfer_id, size + n) for n, (e, salt) in enumerate(salted)]
        db.execute(_INSERT_MOVEMENTS, values)  # one statement; the event-id constraint fires here
        _seams.log_append(db, size, leaves)
        return [size + n for n in range(len(values))]

    def _movement_values(
        self, recorder: Participant, event: Mapping[str, Any], salt: bytes, transfer_id: str | None, index: int
    ) -> dict[str, Any]:
        frm = event.get("from") or {}
        to = event.get("to") or {}
        plaintext = _canonical(event)
        nonce, ct = self.cipher.encrypt(plaintext, _movement_aad(recorder.id, event["eventId"]))
        return {
            "event_id": event["eventId"],
            "recorded_by": recorder.id,
            "transfer_id": transfer_id,
            "type": event["type"],
            "effective_date": dt.date.fromisoformat(event["effectiveDate"]),
            "upn_hash": self.cipher.index(event["pupil"]["upn"]),
            "from_la": frm.get("la") or (frm.get("laestab") or "")[:3] or None,
            "to_la": to.get("la") or (to.get("laestab") or "")[:3] or None,
            "school_la": recorder.la,
            "from_ap": bool(frm.get("ap")),
            "to_ap": bool(to.get("ap")),
            "from_urn": frm.get("urn"),
            "from_laestab": frm.get("laestab"),
            "from_ukprn": frm.get("ukprn"),
            "to_urn": to.get("urn"),
            "to_laestab": to.get("laestab"),
            "to_ukprn": to.get("ukprn"),
            "request_hash": hashlib.sha256(plaintext).hexdigest(),
            "salt": salt,
            "nonce": nonce,
            "ciphertext": ct,
            "log_index": index,
            "created_at": utcnow(),
        }

    def _open_movement(self, row: Any) -> dict[str, Any]:
        """The event a movement row (ORM object or Core row) holds sealed.

        The plaintext is the hub's own RFC 8785 form of a validated event (no repeated names,
        no integer beyond 2**53), which orjson reads exactly, at a third of ``json``'s cost:
        the LA pages open every movement of the area.
        """
        bound_to = _movement_aad(row.recorded_by, row.event_id)
        return orjson.loads(self.cipher.decrypt(row.nonce, row.ciphertext, bound_to))  # type: ignore[no-any-return]

    def _transfer_summary(self, t: Any) -> dict[str, Any]:
        """The API's view of a transfer (an ORM row, a Core row or the values just inserted)."""
        return {
            "id": t.id,
            "envelopeId": t.envelope_id,
            "kind": t.kind,
            "sender": t.sender_id,
            "recipient": t.recipient_id,
            "status": t.status,
            "size": t.size,
            "created": _iso(t.created_at),
            "acknowledged": _iso(t.acked_at),
            "logIndex": t.log_index,
            "logEntries": t.log_count,
            "idempotencyKey": t.idempotency_key,
            **({"redirectedFrom": t.redirected_from} if t.redirected_from else {}),
        }

    def inbox(self, caller: Participant, *, limit: int = 50, cursor: str | None = None, status: str | None = None):
        limit = max(1, min(limit, _MAX_PAGE))
        q = select(Transfer).where(Transfer.recipient_id == caller.id)
        if status:
            q = q.where(Transfer.status == status)
        if cursor:
            created, tid = _decode_cursor(cursor)
            q = q.where(or_(Transfer.created_at < created, (Transfer.created_at == created) & (Transfer.id < tid)))
        q = q.order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit + 1)
        with self.store.read() as s:
            rows = list(s.scalars(q))
        items = [self._transfer_summary(t) for t in rows[:limit]]
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
                    sender_la=_la_of(s, t.sender_id),
                    recipient_la=_la_of(s, t.recipient_id),
                )
            )
            return {**self._transfer_summary(t), "envelope": envelope}

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
            return self._transfer_summary(t)

    # ------------------------------------------------------------------ lost pupils

    def lost_pupils(self, caller: Participant, upn: str | None = None, status: str | None = "open") -> dict[str, Any]:
        _require(caller, "la")
        q = select(LostPupil).where(LostPupil.source_la == caller.la)
        if upn:
            q = q.where(LostPupil.upn_hash == self.cipher.index(upn))
        if status:
            q = q.where(LostPupil.status == status)
        with self.store.read() as s:
            rows = list(s.scalars(q.order_by(LostPupil.created_at.desc()).limit(_MAX_PAGE)))
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
            "created": _iso(r.created_at),
            "redirectedTo": r.redirected_to,
            "redirectTransferId": r.redirect_transfer_id,
        }

    def redirect_lost_pupil(self, caller: Participant, lost_id: str, recipient: str) -> Result:
        """An LA sends a pooled CTF on to the right school: a new transfer plus a join movement."""
        _require(caller, "la")
        if not isinstance(recipient, str) or not recipient.strip():
            raise InputError('the body must be {"recipient": "<participant id, LAESTAB or URN>"}')
        with self.store.read() as s:
            lost = s.get(LostPupil, lost_id)
            if lost is None or lost.source_la != caller.la:
                raise NotFoundError(f"no lost-pupil record {lost_id} in LA {caller.la}")
            school = _find_participant(s, recipient, by_school_code=True)
            if school is None or school.role != "school":
                raise UnknownRecipientError(f"no school {recipient!r} is registered at this hub", where="/recipient")
            if lost.status == "redirected":
                if lost.redirected_to != school.id:
                    raise ConflictError(f"this pupil was already redirected to {lost.redirected_to}")
                t = s.get(Transfer, lost.redirect_transfer_id)
                assert t is not None
                return Result(self._transfer_summary(t))
            original = s.get(Transfer, lost.transfer_id)
            assert original is not None
            raw = self.cipher.decrypt(original.nonce, original.ciphertext, original.id)
            sender = s.get(Participant, original.sender_id)
        envelope = json.loads(raw)
        route = _seams.ctf_route(envelope["document"].encode("utf-8"))
        upn = next((u for u in route.upns if self.cipher.index(u) == lost.upn_hash), None)
        if upn is None:  # pragma: no cover - the pool row was made from this very file
            raise ConflictError("the pooled file no longer names this pupil")
        today = utcnow().date().isoformat()
        event = {
            "$schema": "https://schemas.sendx.org.uk/movement/v1",
            "eventId": f"LP-{lost.id[:8]}-{school.id}"[:64],
            "type": "join",
            "pupil": {"upn": upn},
            "from": _setting_of(sender),
            "to": _setting_of(school),
            "effectiveDate": today,
            "reason": "redirected from the lost-pupil pool by the LA",
            "recordedBy": {"participant": caller.id, "role": "la"},
        }
        tid = str(uuid.uuid4())
        nonce, ct = self.cipher.encrypt(raw, tid)
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
                    size=original.size,
                    redirected_from=original.id,
                    log_count=1,
                )
                s.add(t)
                (index,) = self._append_movements(s, caller, [event], t.id)
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
                body = self._transfer_summary(t)
        except IntegrityError as exc:
            raise ConflictError("this pupil was already redirected") from exc
        return Result(body, created=True)

    # ------------------------------------------------------------------ movements

    def record_movement(self, caller: Participant, body: bytes) -> Result:
        _require(caller, "school", "college", "la")
        event = load_json(body)
        if not isinstance(event, dict):
            raise InputError("the request body must be a JSON object (a movement event)")
        report = validators.validate(event, "movement")
        if not report.valid:
            raise InvalidDocumentError(report)
        if event["recordedBy"]["participant"] != caller.id:
            raise ForbiddenError(
                f"recordedBy.participant {event['recordedBy']['participant']!r} is not you ({caller.id!r})",
                where="/recordedBy/participant",
            )
        if not _touches(caller, event):
            raise ForbiddenError(
                "you can only record movements to or from your own setting (LAs: within your area)",
                where="/from",
            )
        digest = _canonical_hash(event)
        existing = self._movement_replay(caller.id, event["eventId"], digest)
        if existing is not None:
            return existing
        try:
            with self.store.write() as s:
                (index,) = self._append_movements(s, caller, [event], None)
        except IntegrityError:
            existing = self._movement_replay(caller.id, event["eventId"], digest)
            if existing is None:
                raise
            return existing
        return Result({"eventId": event["eventId"], "logIndex": index}, created=True)

    def _movement_replay(self, recorder: str, event_id: str, digest: str) -> Result | None:
        with self.store.read() as s:
            m = s.scalars(
                select(Movement).where(Movement.recorded_by == recorder, Movement.event_id == event_id)
            ).first()
        if m is None:
            return None
        if not hmac.compare_digest(m.request_hash, digest):
            raise ConflictError(f"event {event_id!r} was already recorded with different content")
        return Result({"eventId": m.event_id, "logIndex": m.log_index})

    def movements(
        self,
        caller: Participant,
        *,
        type: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        ap: bool = False,
        upn: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        _require(caller, "school", "college", "la")
        q = select(Movement)
        if caller.role == "la":
            q = q.where(_in_area(caller.la))
        else:
            conds = [Movement.recorded_by == caller.id]
            for attr in ("urn", "laestab", "ukprn"):
                value = getattr(caller, attr)
                if value:
                    conds += [getattr(Movement, f"from_{attr}") == value, getattr(Movement, f"to_{attr}") == value]
            q = q.where(or_(*conds))
        if type:
            q = q.where(Movement.type == type)
        if date_from:
            q = q.where(Movement.effective_date >= date_from)
        if date_to:
            q = q.where(Movement.effective_date <= date_to)
        if ap:
            q = q.where(or_(Movement.from_ap.is_(True), Movement.to_ap.is_(True)))
        if upn:
            q = q.where(Movement.upn_hash == self.cipher.index(upn))
        limit = max(1, min(limit, _MAX_PAGE))
        q = q.order_by(Movement.effective_date, Movement.id).offset(max(0, offset)).limit(limit + 1)
        with self.store.read() as s:
            rows = list(s.scalars(q))
        items = []
        for m in rows[:limit]:
            event = self._open_movement(m)
            items.append(
                {
                    "event": event,
                    "logIndex": m.log_index,
                    "recordedBy": m.recorded_by,
                    "transferId": m.transfer_id,
                    "recorded": _iso(m.created_at),
                }
            )
        return {"items": items, "next": offset + limit if len(rows) > limit else None}

    # ------------------------------------------------------------------ access log

    def access_log(self, caller: Participant, *, transfer: str | None = None, limit: int = 100, offset: int = 0):
        _require(caller, "la")
        q = select(AccessLogEntry).where(
            or_(AccessLogEntry.sender_la == caller.la, AccessLogEntry.recipient_la == caller.la)
        )
        if transfer:
            q = q.where(AccessLogEntry.transfer_id == transfer)
        limit = max(1, min(limit, _MAX_PAGE))
        q = q.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).offset(max(0, offset)).limit(limit)
        with self.store.read() as s:
            return {
                "items": [
                    {"participant": e.participant_id, "action": e.action, "transferId": e.transfer_id, "at": _iso(e.at)}
                    for e in s.scalars(q)
                ]
            }

    # ------------------------------------------------------------------ counts (tests, bench, demo)

    def counts(self) -> dict[str, int]:
        models = {
            "transfers": Transfer,
            "movements": Movement,
            "lost_pupils": LostPupil,
            "log_leaves": LogLeaf,
            "access_log": AccessLogEntry,
            "participants": Participant,
        }
        with self.store.read() as s:
            return {name: s.scalar(select(func.count()).select_from(m)) or 0 for name, m in models.items()}

    # ------------------------------------------------------------------ LA pages (exchange/hub/pages.py)

    def session_participant(self, participant_id: str, token_hash: str) -> Participant:
        """The participant a signed-in page session belongs to, while the API token it signed in with
        is still valid: a revoked token ends the session on its next request."""
        found = self._live_token(token_hash)
        if found is None or found.id != participant_id:
            raise NotAuthorisedError("the session has ended: its access token is no longer valid", hint="sign in again")
        return found

    def area_records(self, caller: Participant, *, plans: bool = False) -> dict[str, Any]:
        """Everything the LA pages compute from, for the caller's area only (the scoping of ``movements``).

        ``movements``: every movement event touching the area, oldest first, each with the hub's
        ``recordedAt``; ``lostFilesWaiting``: CTFs from the area still in the lost-pupil pool;
        ``plans`` (only when asked, it decrypts them): the EHC plans the area's LA participants
        issued through the hub, the latest version of each ``planId``.
        """
        _require(caller, "la")
        with self.store.read() as s:
            rows = s.execute(_AREA_MOVEMENTS.where(_in_area(caller.la))).all()
            lost = s.scalar(
                select(func.count(func.distinct(LostPupil.transfer_id))).where(
                    LostPupil.source_la == caller.la, LostPupil.status == "open"
                )
            )
            sent = (
                list(
                    s.scalars(
                        select(Transfer)
                        .join(Participant, Participant.id == Transfer.sender_id)
                        .where(Transfer.kind == "ehcp", Participant.role == "la", Participant.la == caller.la)
                        .order_by(Transfer.created_at, Transfer.id)
                    )
                )
                if plans
                else []
            )
        events = []
        for m in rows:
            event = self._open_movement(m)
            events.append({**event, "recordedAt": _iso(m.created_at)})
        latest: dict[str, Any] = {}
        for t in sent:  # oldest first, so a later version of a plan replaces the earlier one
            plan = json.loads(self.cipher.decrypt(t.nonce, t.ciphertext, t.id))["document"]
            latest[str(plan.get("planId") or t.id)] = plan
        return {"movements": events, "plans": list(latest.values()), "lostFilesWaiting": lost or 0}


_PARTICIPANT_COLUMNS = tuple(c.name for c in Participant.__table__.c)
_TOKEN_OWNER = (
    select(ApiToken.__table__.c.token_hash, ApiToken.__table__.c.revoked_at, *Participant.__table__.c)
    .join_from(ApiToken.__table__, Participant.__table__)
    .where(ApiToken.__table__.c.token_hash == bindparam("digest"))
)
_PARTICIPANT_BY_ID = select(Participant.__table__).where(Participant.__table__.c.id == bindparam("pid"))
_PARTICIPANT_BY_CODE = (
    select(Participant.__table__)
    .where(or_(Participant.__table__.c.laestab == bindparam("pid"), Participant.__table__.c.urn == bindparam("pid")))
    .limit(1)
)
#: Everything a replayed answer needs, without the (large) ciphertext.
_TRANSFER_BY_KEY = select(*(c for c in Transfer.__table__.c if c.name not in ("nonce", "ciphertext"))).where(
    Transfer.__table__.c.sender_id == bindparam("sender"), Transfer.__table__.c.idempotency_key == bindparam("key")
)
_KEY_BY_KID = select(
    ParticipantKey.__table__.c.participant_id, ParticipantKey.__table__.c.jwk, ParticipantKey.__table__.c.revoked_at
).where(ParticipantKey.__table__.c.kid == bindparam("kid"))
#: What the LA pages need of each movement in an area (its sealed event), oldest first.  Rows,
#: not ORM objects: an area holds thousands, and building objects cost more than decrypting.
_AREA_MOVEMENTS = select(
    Movement.recorded_by, Movement.event_id, Movement.nonce, Movement.ciphertext, Movement.created_at
).order_by(Movement.effective_date, Movement.id)
_INSERT_TRANSFER = Transfer.__table__.insert()
_INSERT_LOST = LostPupil.__table__.insert()
_INSERT_MOVEMENTS = Movement.__table__.insert()


def _find_participant(db: Session | Connection, pid: str, *, by_school_code: bool = False) -> Participant | None:
    """A participant by id (or, for CTF routing, by LAESTAB or URN), detached from any session."""
    row = db.execute(_PARTICIPANT_BY_ID, {"pid": pid}).first()
    if row is None and by_school_code:
        row = db.execute(_PARTICIPANT_BY_CODE, {"pid": pid}).first()
    return _detached_participant(row) if row is not None else None


def _detached_participant(row: Any) -> Participant:
    """A ``Participant`` from a Core row holding its columns (and maybe others), bound to no session."""
    return Participant(**{c: getattr(row, c) for c in _PARTICIPANT_COLUMNS})


def _movement_aad(recorder: str, event_id: str) -> str:
    """What a movement's ciphertext is bound to: its recorder and event id (no swapping rows)."""
    return f"movement:{recorder}:{event_id}"


def _in_area(la: str | None) -> Any:
    """The one SQL test of "this movement is LA ``la``'s business", shared by the API and the LA pages."""
    return or_(Movement.from_la == la, Movement.to_la == la, Movement.school_la == la)


def _require(caller: Participant, *roles: str) -> None:
    if caller.role not in roles:
        raise ForbiddenError(f"this needs the role {' or '.join(roles)}; you are {caller.role}")


def _la_of(s: Session, pid: str | None) -> str | None:
    if pid is None:
        return None
    p = s.get(Participant, pid)
    return p.la if p else None


def _setting_of(p: Participant | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {"name": p.name, "ap": False}
    for attr in ("urn", "laestab", "ukprn", "la"):
        if getattr(p, attr):
            out[attr] = getattr(p, attr)
    return out


def _touches(caller: Participant, event: Mapping[str, Any]) -> bool:
    ends = [e for e in (event.get("from"), event.get("to")) if e]
    if caller.role == "la":
        return any((e.get("la") or (e.get("laestab") or "")[:3]) == caller.la for e in ends)
    mine = {(a, getattr(caller, a)) for a in ("urn", "laestab", "ukprn") if getattr(caller, a)}
    return any((a, e.get(a)) in mine for e in ends for a in ("urn", "laestab", "ukprn"))


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
