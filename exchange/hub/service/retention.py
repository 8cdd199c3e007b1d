"""Retention: erasing a movement's details once its retention period is over, while its log
entry — a commitment, not the details — stays and the log stays verifiable.

The period follows the records-management guidance for schools: a pupil's record is kept until
the pupil's date of birth + 25 years (``SENDX_RETENTION_YEARS``).  The hub seldom knows a date
of birth: a movement event names the pupil by UPN only (a CTF carries one, but the hub logs a
CTF's movements from its header and UPNs).  So the period runs from ``pupil.dateOfBirth`` when
the event carries one, and otherwise from the movement's own date: a pupil is born before any
of their movements, so that never erases a record earlier than the guidance allows (it may keep
one longer, by the pupil's age at the movement).

Erasing removes the sealed event, its salt, the pupil's keyed UPN hash and the settings'
identifiers; the row keeps its LA codes and log index, so the LA still sees that the entry was
erased rather than lost.  Each erasure is written to the access log, once per LA concerned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from sendx.exchange.hub.config import DEFAULT_RETENTION_YEARS
from sendx.exchange.hub.service._base import HubBase
from sendx.exchange.hub.service.sealed import movement_aad
from sendx.exchange.store import AccessLogEntry, AreaMovement, AreaPlacement, AreaUnknown, Movement, utcnow
from sendx.validators.errors import SendxError

__all__ = ["ERASED", "Retention", "retain_until"]

#: The access log's action for a movement whose details retention erased.
ERASED = "retention-erase"
_BATCH = 1000
_ERASE = {
    "ciphertext": b"",
    "nonce": b"",
    "salt": b"",
    "upn_hash": "",
    "request_hash": "",
    "from_urn": None,
    "from_laestab": None,
    "from_ukprn": None,
    "to_urn": None,
    "to_laestab": None,
    "to_ukprn": None,
}


def retain_until(event: Mapping[str, Any], years: int) -> dt.date:
    """The last day a movement's details are kept: date of birth + ``years``, else its date + ``years``."""
    pupil = event.get("pupil")
    born = pupil.get("dateOfBirth") if isinstance(pupil, Mapping) else None
    start = _date(born) or _date(event.get("effectiveDate"))
    if start is None:  # pragma: no cover - a validated event always has its effective date
        raise ValueError("a movement event without a date")
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


class Retention(HubBase):
    """Finding and erasing the movements whose retention period is over."""

    def retention(self, *, as_of: dt.date | None = None, apply: bool = False) -> dict[str, Any]:
        """Movements due for erasure on ``as_of`` (default today); with ``apply``, erase them.

        Returns ``{"asOf", "years", "due", "logIndices", "erased", "skipped"}`` — log indices
        only, no personal data; ``skipped``: rows that could not be read to judge (damaged).
        """
        years = self.config.retention_years if self.config is not None else DEFAULT_RETENTION_YEARS
        as_of = as_of or utcnow().date()
        due: list[Any] = []
        skipped = []
        last = 0
        while True:
            with self.store.read() as s:
                rows = (
                    s.execute(
                        select(Movement)
                        .where(Movement.erased_at.is_(None), Movement.id > last)
                        .order_by(Movement.id)
                        .limit(_BATCH)
                    )
                    .scalars()
                    .all()
                )
            if not rows:
                break
            last = rows[-1].id
            for m in rows:
                try:
                    event = orjson.loads(
                        self.cipher.decrypt(m.nonce, m.ciphertext, movement_aad(m.recorded_by, m.event_id))
                    )
                except (SendxError, ValueError, TypeError):
                    skipped.append({"logIndex": m.log_index, "problem": "its sealed event cannot be decrypted"})
                    continue
                if retain_until(event, years) < as_of:
                    due.append(m)
        erased = self._erase(due) if apply else 0
        return {
            "asOf": as_of.isoformat(),
            "years": years,
            "due": len(due),
            "logIndices": sorted(m.log_index for m in due if m.log_index is not None),
            "erased": erased,
            "skipped": skipped,
        }

    def _erase(self, rows: list[Any]) -> int:
        done = 0
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            now = utcnow()
            with self.store.write() as s:
                ids = [m.id for m in batch]
                s.execute(
                    update(Movement)
                    .where(Movement.id.in_(ids), Movement.erased_at.is_(None))
                    .values(**_ERASE, erased_at=now)
                )
                # The area facts' copies go too (the figures they add up stay): the keyed hashes
                # of the pupil and of what was said, and the settings the movement named.
                s.execute(
                    update(AreaMovement)
                    .where(AreaMovement.movement_id.in_(ids))
                    .values(said=None, from_setting=None, to_setting=None)
                )
                s.execute(update(AreaPlacement).where(AreaPlacement.start_movement_id.in_(ids)).values(upn_hash=""))
                s.execute(update(AreaUnknown).where(AreaUnknown.movement_id.in_(ids)).values(upn_hash=""))
                records = [
                    {
                        "participant_id": None,
                        "action": ERASED,
                        "transfer_id": m.transfer_id,
                        "log_index": m.log_index,
                        "sender_la": la,
                        "recipient_la": None,
                        "at": now,
                    }
                    for m in batch
                    for la in sorted({c for c in (m.from_la, m.to_la, m.school_la) if c})
                ]
                if records:
                    s.execute(insert(AccessLogEntry), records)
            done += len(batch)
        return done
