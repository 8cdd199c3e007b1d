"""What the LA pages compute from: an area's movement events and the plans its LA issued."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from sendx.exchange.hub.service._base import HubBase, iso, require
from sendx.exchange.hub.service.movements import in_area, open_logged
from sendx.exchange.store import LogLeaf, LostPupil, Movement, Participant, Transfer

__all__ = ["AreaRecords"]


class AreaRecords(HubBase):
    """An LA's area, read whole for its pages."""

    def area_records(self, caller: Participant, *, plans: bool = False) -> dict[str, Any]:
        """Everything the LA pages compute from, for the caller's area only (the scoping of ``movements``).

        ``movements``: every movement event touching the area, oldest first, each with the hub's
        ``recordedAt``; ``lostFilesWaiting``: CTFs from the area still in the lost-pupil pool;
        ``plans`` (only when asked, it decrypts them): the EHC plans the area's LA participants
        issued through the hub, the latest version of each ``planId``; ``damaged``: the rows that
        cannot be decrypted or do not match their log entry (``logIndex``, ``problem``), left out
        of ``movements`` so that one damaged row never takes the area's pages down.
        """
        require(caller, "la")
        with self.store.read() as s:
            rows = s.execute(_AREA_MOVEMENTS.where(in_area(caller.la), Movement.erased_at.is_(None))).all()
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
        events, damaged = [], []
        for m in rows:
            event, problem = open_logged(self.cipher, m, m.leaf)
            if problem is None:
                events.append({**event, "recordedAt": iso(m.created_at)})
            else:
                damaged.append({"logIndex": m.log_index, "problem": problem})
        latest: dict[str, Any] = {}
        for t in sent:  # oldest first, so a later version of a plan replaces the earlier one
            plan = json.loads(self.cipher.decrypt(t.nonce, t.ciphertext, t.id))["document"]
            latest[str(plan.get("planId") or t.id)] = plan
        return {"movements": events, "damaged": damaged, "plans": list(latest.values()), "lostFilesWaiting": lost or 0}


_AREA_MOVEMENTS = (
    select(
        Movement.recorded_by,
        Movement.event_id,
        Movement.nonce,
        Movement.ciphertext,
        Movement.salt,
        Movement.log_index,
        Movement.created_at,
        LogLeaf.leaf,
    )
    .outerjoin(LogLeaf, LogLeaf.index == Movement.log_index)
    .order_by(Movement.effective_date, Movement.id)
)
