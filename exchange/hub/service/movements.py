"""Movement events: recorded explicitly or derived from a CTF, sealed in the store, appended to the
log; listed for the participants in scope (an LA its area, a setting its own)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sendx import validators
from sendx.exchange.hub import _seams
from sendx.exchange.hub.errors import InvalidDocumentError
from sendx.exchange.hub.service._base import (
    MAX_PAGE,
    HubBase,
    Result,
    canonical_hash,
    decode_cursor,
    encode_cursor,
    iso,
    require,
)
from sendx.exchange.hub.service.area_facts import index_movements
from sendx.exchange.store import AreaMovement, Movement, Participant, utcnow
from sendx.exchange.store.atrest import Cipher
from sendx.exchange.trust.canonical import canonical_json
from sendx.validators.errors import ConflictError, ForbiddenError, InputError
from sendx.validators.parsing import load_json

__all__ = ["Movements", "append_movements", "log_rows", "movement_aad", "open_movement"]


class Movements(HubBase):
    """Recording movement events and listing those in the caller's scope."""

    def record_movement(self, caller: Participant, body: bytes) -> Result:
        require(caller, "school", "college", "la")
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
        digest = canonical_hash(event)
        existing = self._movement_replay(caller.id, event["eventId"], digest)
        if existing is not None:
            return existing
        try:
            with self.store.write() as s:
                (index,) = append_movements(self, s, caller, [event], None)
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
        after: str | None = None,
    ) -> dict[str, Any]:
        """The movements in the caller's scope, oldest first, ``limit`` at a time: ``next`` is the
        cursor (``after``) of the following page, read by keyset over indexed columns."""
        require(caller, "school", "college", "la")
        m = Movement.__table__
        # An LA's scope: movements from, to or recorded in its area (a row each in the area index).
        if caller.role == "la":
            a = AreaMovement.__table__
            q = select(m, a.c.day).join(a, and_(a.c.movement_id == m.c.id, a.c.la == caller.la))
            day, key = a.c.day, a.c.movement_id
        else:
            conds = [m.c.recorded_by == caller.id]
            for attr in ("urn", "laestab", "ukprn"):
                value = getattr(caller, attr)
                if value:
                    conds += [m.c[f"from_{attr}"] == value, m.c[f"to_{attr}"] == value]
            q = select(m, m.c.effective_date.label("day")).where(or_(*conds))
            day, key = m.c.effective_date, m.c.id
        if type:
            q = q.where(m.c.type == type)
        if date_from:
            q = q.where(day >= date_from)
        if date_to:
            q = q.where(day <= date_to)
        if ap:
            q = q.where(or_(m.c.from_ap.is_(True), m.c.to_ap.is_(True)))
        if upn:
            q = q.where(m.c.upn_hash == self.cipher.index(upn))
        if after:
            since, last = decode_cursor(after, "after")
            q = q.where(day >= since, or_(day > since, key > last))
        limit = max(1, min(limit, MAX_PAGE))
        with self.store.read() as s:
            rows = s.execute(q.order_by(day, key).limit(limit + 1)).all()
        items = [
            {
                "event": open_movement(self.cipher, r),
                "logIndex": r.log_index,
                "recordedBy": r.recorded_by,
                "transferId": r.transfer_id,
                "recorded": iso(r.created_at),
            }
            for r in rows[:limit]
        ]
        nxt = encode_cursor(rows[limit - 1].day, rows[limit - 1].id) if len(rows) > limit else None
        return {"items": items, "next": nxt}


def append_movements(
    hub: HubBase, s: Session, recorder: Participant, events: Sequence[Mapping[str, Any]], transfer_id: str | None
) -> list[int]:
    """Lock the log head, then insert the movement rows and append their leaves; return the indices."""
    size = hub.store.lock_log_head(s, len(events))  # first, before any row this transaction has pending
    s.flush()  # then those rows (the transfer the movements belong to)
    salted = [(dict(e), secrets.token_bytes(32)) for e in events]
    leaves = [_seams.movement_leaf(e, salt) for e, salt in salted]
    return log_rows(hub, s, size, recorder, salted, leaves, transfer_id)


def log_rows(
    hub: HubBase,
    db: Session | Connection,
    size: int,
    recorder: Participant,
    salted: Sequence[tuple[Mapping[str, Any], bytes]],
    leaves: Sequence[bytes],
    transfer_id: str | None,
) -> list[int]:
    """With the head locked and advanced past them from ``size``: insert the movement rows, append their leaves."""
    values = [_movement_values(hub, recorder, e, salt, transfer_id, size + n) for n, (e, salt) in enumerate(salted)]
    ids = db.execute(_INSERT_MOVEMENTS, values).scalars().all()  # one statement; the event-id constraint fires here
    index_movements(hub, db, [(i, e, v) for i, (e, _), v in zip(ids, salted, values, strict=True)])
    _seams.log_append(db, size, leaves)
    return [size + n for n in range(len(values))]


def _movement_values(
    hub: HubBase, recorder: Participant, event: Mapping[str, Any], salt: bytes, transfer_id: str | None, index: int
) -> dict[str, Any]:
    frm = event.get("from") or {}
    to = event.get("to") or {}
    plaintext = canonical_json(event)
    nonce, ct = hub.cipher.encrypt(plaintext, movement_aad(recorder.id, event["eventId"]))
    return {
        "event_id": event["eventId"],
        "recorded_by": recorder.id,
        "transfer_id": transfer_id,
        "type": event["type"],
        "effective_date": dt.date.fromisoformat(event["effectiveDate"]),
        "upn_hash": hub.cipher.index(event["pupil"]["upn"]),
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


def open_movement(cipher: Cipher, row: Any) -> dict[str, Any]:
    """The event a movement row (ORM object or Core row) holds sealed.

    The plaintext is the hub's own RFC 8785 form of a validated event (no repeated names,
    no integer beyond 2**53), which orjson reads exactly, at a third of ``json``'s cost:
    the LA pages open every movement of the area.
    """
    bound_to = movement_aad(row.recorded_by, row.event_id)
    return orjson.loads(cipher.decrypt(row.nonce, row.ciphertext, bound_to))  # type: ignore[no-any-return]


def movement_aad(recorder: str, event_id: str) -> str:
    """What a movement's ciphertext is bound to: its recorder and event id (no swapping rows)."""
    return f"movement:{recorder}:{event_id}"


def _touches(caller: Participant, event: Mapping[str, Any]) -> bool:
    ends = [e for e in (event.get("from"), event.get("to")) if e]
    if caller.role == "la":
        return any((e.get("la") or (e.get("laestab") or "")[:3]) == caller.la for e in ends)
    mine = {(a, getattr(caller, a)) for a in ("urn", "laestab", "ukprn") if getattr(caller, a)}
    return any((a, e.get(a)) in mine for e in ends for a in ("urn", "laestab", "ukprn"))


_INSERT_MOVEMENTS = Movement.__table__.insert().returning(Movement.__table__.c.id, sort_by_parameter_order=True)
