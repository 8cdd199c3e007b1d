"""The access log: who read which document when, for the LAs of the sender and recipient, and
which movements retention erased (no participant: the hub itself), for the LAs they touched."""

from __future__ import annotations

from sqlalchemy import or_, select

from sendx.exchange.hub.service._base import MAX_PAGE, HubBase, iso, require
from sendx.exchange.store import AccessLogEntry, Participant

__all__ = ["AccessLog"]


class AccessLog(HubBase):
    """Reading the access log of the caller's area."""

    def access_log(self, caller: Participant, *, transfer: str | None = None, limit: int = 100, offset: int = 0):
        require(caller, "la")
        q = select(AccessLogEntry).where(
            or_(AccessLogEntry.sender_la == caller.la, AccessLogEntry.recipient_la == caller.la)
        )
        if transfer:
            q = q.where(AccessLogEntry.transfer_id == transfer)
        limit = max(1, min(limit, MAX_PAGE))
        q = q.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc()).offset(max(0, offset)).limit(limit)
        with self.store.read() as s:
            return {
                "items": [
                    {
                        "participant": e.participant_id,
                        "action": e.action,
                        "transferId": e.transfer_id,
                        "logIndex": e.log_index,
                        "at": iso(e.at),
                    }
                    for e in s.scalars(q)
                ]
            }
