"""Moving a hub's log to leaf format 2: the old log is kept frozen, and a new log's first entry
commits to its final checkpoint, so both histories stay checkable.

Migration 0002 moved the old entries to ``previous_log_*`` and renumbered movement rows and
transfers (previous index ``k`` is now ``k + 1``).  What needs the storage key is done here,
on start-up, before the hub serves: the bridge entry, then each old movement's format 2 leaf
(its commitment over the event and salt it already had, the LA codes of its row), in the old
order, a thousand per transaction under the log head's lock — so several workers starting at
once take turns, and a crash resumes where the log ends.  A row that is missing or cannot be
decrypted gets a leaf no event can open, which an LA's audit then names.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sendx.exchange.hub import _seams
from sendx.exchange.hub.service._base import HubBase
from sendx.exchange.hub.service.sealed import movement_aad
from sendx.exchange.store import Movement, PreviousLogHead
from sendx.exchange.store.lognodes import append_leaves, open_log
from sendx.validators.errors import SendxError

__all__ = ["LogUpgrade"]

_BATCH = 1000


class LogUpgrade(HubBase):
    """The previous log (before leaf format 2), and carrying its movements into the log."""

    #: The origin the previous log's checkpoints are signed under (None: the hub never had one).
    previous_origin: str | None = None

    def adopt_previous_log(self) -> int:
        """Note whether this hub has a previous log; if so the log's origin gains ``/2`` (a new
        log must not pass for the old one).  Returns the previous log's size."""
        with self.store.read() as s:
            size = s.scalar(select(PreviousLogHead.size).where(PreviousLogHead.id == 1)) or 0
        if size and self.previous_origin is None:
            self.previous_origin = self.log_origin
            self.log_origin = f"{self.log_origin}/2"
        return int(size)

    def upgrade_log(self) -> int:
        """Append the bridge entry and the previous log's movements, if not done; return how many
        entries this call appended."""
        previous = self.adopt_previous_log()
        if not previous:
            return 0
        with self.store.read() as s:
            old = open_log(s, previous=True)
            root = old.root(previous)
        appended = 0
        while True:
            with self.store.write() as s:
                size = self.store.lock_log_head(s)
                if size > previous:
                    return appended
                leaves = []
                if size == 0:
                    leaves.append(_seams.bridge_leaf(str(self.previous_origin), previous, root))
                    size_old = 0
                else:
                    size_old = size - 1
                end = min(previous, size_old + _BATCH)
                leaves += self._carried(s, size_old, end)
                append_leaves(s, size, leaves)
                appended += len(leaves)

    def _carried(self, s: Session, start: int, end: int) -> list[bytes]:
        """Format 2 leaves for the previous log's entries ``[start, end)``."""
        old_leaves = open_log(s, previous=True).entries(start, end)
        rows = {
            m.previous_index: m
            for m in s.scalars(select(Movement).where(Movement.previous_index >= start, Movement.previous_index < end))
        }
        out = []
        for k, old in zip(range(start, end), old_leaves, strict=True):
            m = rows.get(k)
            las = (m.from_la, m.to_la, m.school_la) if m is not None else ()
            try:
                if m is None:
                    raise LookupError(k)
                plaintext = self.cipher.decrypt(m.nonce, m.ciphertext, movement_aad(m.recorded_by, m.event_id))
                out.append(_seams.movement_leaf_of(plaintext, bytes(m.salt), las))
            except (LookupError, SendxError, ValueError, TypeError):
                out.append(_seams.unopenable_leaf(las, old))
        return out
