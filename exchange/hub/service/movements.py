"""Movement events: recorded explicitly or derived from a CTF, sealed in the store, appended to the
log; listed for the participants in scope (an LA its area, a setting its own)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sendx import validators
from sendx.exchange.hub import _seams
from sendx.exchange.hub.errors import InvalidDocumentError
from sendx.exchange.hub.service import policy
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
from sendx.exchange.hub.service.sealed import logged_leaves, movement_aad, open_logged
from sendx.exchange.store import AreaMovement, Movement, Participant, utcnow
from sendx.exchange.trust.canonical import canonical_json
from sendx.schemas import codelist_codes
from sendx.validators.errors import ConflictError, InputError
from sendx.validators.parsing import load_json

__all__ = [
    "SALT_BYTES",
    "Movements",
    "append_movements",
    "area_codes",
    "in_scope",
    "log_rows",
]

#: A movement's commitment salt (``sendx.exchange.log.leaves.SALT_SIZE``).
SALT_BYTES = 32


class Movements(HubBase):
    """Recording movement events and listing those in the caller's scope."""

    def record_movement(self, caller: Participant, body: bytes) -> Result:
        policy.enforce_role(policy.MOVEMENTS, "movement", caller)
        event = load_json(body)
        if not isinstance(event, dict):
            raise InputError("the request body must be a JSON object (a movement event)")
        report = validators.validate(event, "movement")
        if not report.valid:
            raise InvalidDocumentError(report)
        policy.enforce(policy.MOVEMENTS, "movement", policy.Submission(caller, event))
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
        if type and type not in codelist_codes("movement-types"):
            raise InputError(f"unknown movement type {type!r}", where="type", hint="see the movement-types code list")
        m = Movement.__table__
        # An LA's scope: movements from, to or recorded in its area (a row each in the area index).
        if caller.role == "la":
            a = AreaMovement.__table__
            q = select(m, a.c.day).join(a, and_(a.c.movement_id == m.c.id, a.c.la == caller.la))
            day, key = a.c.day, a.c.movement_id
        else:
            q = select(m, m.c.effective_date.label("day")).where(in_scope(caller))
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
            leaves = logged_leaves(s, [r.log_index for r in rows[:limit]])
        items, damaged, erased = [], [], []
        for r in rows[:limit]:
            if r.erased_at is not None:  # retention: the details are gone, the log entry stays
                erased.append({"logIndex": r.log_index, "erasedAt": iso(r.erased_at)})
                continue
            event, problem = open_logged(self.cipher, r, leaves.get(r.log_index))
            if problem is not None:
                damaged.append({"logIndex": r.log_index, "problem": problem})
                continue
            items.append(
                {
                    "event": event,
                    "salt": base64.b64encode(r.salt).decode("ascii"),
                    "logIndex": r.log_index,
                    "recordedBy": r.recorded_by,
                    "transferId": r.transfer_id,
                    "recorded": iso(r.created_at),
                }
            )
        nxt = encode_cursor(rows[limit - 1].day, rows[limit - 1].id) if len(rows) > limit else None
        return {"items": items, "damaged": damaged, "erased": erased, "next": nxt}

    def movement_opening(self, caller: Participant, index: int) -> dict[str, Any] | None:
        """The event and salt behind log entry ``index`` (with the leaf), for a caller in its scope.

        ``None`` when the entry is not a movement the caller may read, or its details were
        erased or damaged: the caller then gets the proof without the opening.
        """
        with self.store.read() as s:
            m = s.scalars(select(Movement).where(Movement.log_index == index, in_scope(caller))).first()
            leaf = logged_leaves(s, [index]).get(index) if m is not None else None
        if m is None or m.erased_at is not None:
            return None
        event, problem = open_logged(self.cipher, m, leaf)
        if problem is not None:
            return None
        return {"event": event, "salt": bytes(m.salt), "leaf": bytes(leaf)}


def append_movements(
    hub: HubBase, s: Session, recorder: Participant, events: Sequence[Mapping[str, Any]], transfer_id: str | None
) -> list[int]:
    """Lock the log head, then insert the movement rows and append their leaves; return the indices."""
    size = hub.store.lock_log_head(s, len(events))  # first, before any row this transaction has pending
    s.flush()  # then those rows (the transfer the movements belong to)
    salted = [(dict(e), secrets.token_bytes(SALT_BYTES)) for e in events]
    leaves = [_seams.movement_leaf(e, salt, area_codes(recorder, e)) for e, salt in salted]
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
    from_la, to_la, school_la = area_codes(recorder, event)
    plaintext = canonical_json(event)
    nonce, ct = hub.cipher.encrypt(plaintext, movement_aad(recorder.id, event["eventId"]))
    return {
        "event_id": event["eventId"],
        "recorded_by": recorder.id,
        "transfer_id": transfer_id,
        "type": event["type"],
        "effective_date": dt.date.fromisoformat(event["effectiveDate"]),
        "upn_hash": hub.cipher.index(event["pupil"]["upn"]),
        "from_la": from_la,
        "to_la": to_la,
        "school_la": school_la,
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


def area_codes(recorder: Participant, event: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The LA codes a movement touches — where from, where to, the recorder's — as the row's
    ``from_la``, ``to_la``, ``school_la`` and its log leaf both name them (one rule for both)."""
    frm = event.get("from") or {}
    to = event.get("to") or {}
    return (
        frm.get("la") or (frm.get("laestab") or "")[:3] or None,
        to.get("la") or (to.get("laestab") or "")[:3] or None,
        recorder.la,
    )


def in_scope(caller: Participant) -> Any:
    """The SQL test of "``caller`` may read this movement": an LA its area (a row of the area
    index, as every LA read selects by), a setting its own."""
    if caller.role == "la":
        return Movement.id.in_(select(AreaMovement.movement_id).where(AreaMovement.la == caller.la))
    conds = [Movement.recorded_by == caller.id]
    for attr in ("urn", "laestab", "ukprn"):
        value = getattr(caller, attr)
        if value:
            conds += [getattr(Movement, f"from_{attr}") == value, getattr(Movement, f"to_{attr}") == value]
    return or_(*conds)


_INSERT_MOVEMENTS = Movement.__table__.insert().returning(Movement.__table__.c.id, sort_by_parameter_order=True)
