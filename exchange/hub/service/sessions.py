"""Page sessions (every participant but the admin signs in), held by the hub: begun at sign-in,
ended at sign-out, after ``SESSION_IDLE_MINUTES`` without a request, ``SESSION_HOURS`` after
sign-in, or as soon as the API token they began with is revoked.

The browser's cookie carries only the session's random secret; the store keeps its SHA-256, so
signing out (or any of the ends above) makes the cookie worthless on every worker at once.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, or_

from sendx.exchange.hub.service._base import HubBase
from sendx.exchange.hub.service.participants import Participants, hash_token
from sendx.exchange.store import PageSession, Participant, utcnow
from sendx.validators.errors import NotAuthorisedError

__all__ = ["SESSION_HOURS", "SESSION_IDLE_MINUTES", "PageSessions"]

#: A session ends this long after sign-in, whatever happens in between (a working day).
SESSION_HOURS = 8
#: ... and after this long without a request.
SESSION_IDLE_MINUTES = 30
#: A session's last request is written down at most this often (not a write per page).
_TOUCH_EVERY = dt.timedelta(minutes=1)


class SessionEndedError(NotAuthorisedError):
    """The page session is over; ``message`` says why, for the sign-in page."""

    code = "session-ended"


class PageSessions(Participants, HubBase):
    """Beginning, checking and ending page sessions."""

    def begin_session(self, who: Participant, token: str) -> str:
        """A new session for ``who``, signed in with API token ``token``; its secret, for the cookie."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self.store.write() as s:
            # Sessions that can no longer be used are swept as new ones begin: the table stays small.
            s.execute(
                delete(PageSession).where(
                    or_(
                        PageSession.ended_at.is_not(None),
                        PageSession.created_at < now - dt.timedelta(hours=SESSION_HOURS),
                        PageSession.last_seen_at < now - dt.timedelta(minutes=SESSION_IDLE_MINUTES),
                    )
                )
            )
            s.add(
                PageSession(
                    id=hash_token(secret),
                    participant_id=who.id,
                    token_hash=hash_token(token),
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return secret

    def session_participant(self, secret: str) -> Participant:
        """The participant of a live session (and the session marked as used); else ``SessionEndedError``."""
        now = utcnow()
        with self.store.read() as s:
            row = s.get(PageSession, hash_token(secret))
        if row is None or row.ended_at is not None:
            raise SessionEndedError("You signed out, or your session has ended. Sign in again.")
        if now - row.created_at > dt.timedelta(hours=SESSION_HOURS):
            raise SessionEndedError(f"Your session ended after {SESSION_HOURS} hours. Sign in again.")
        if now - row.last_seen_at > dt.timedelta(minutes=SESSION_IDLE_MINUTES):
            raise SessionEndedError(
                f"Your session ended after {SESSION_IDLE_MINUTES} minutes without activity. Sign in again."
            )
        who = self._live_token(row.token_hash)
        if who is None or who.id != row.participant_id:
            raise SessionEndedError("Your session ended because its access token is no longer valid. Sign in again.")
        if now - row.last_seen_at > _TOUCH_EVERY:
            with self.store.write() as s:
                live = s.get(PageSession, row.id)
                if live is not None:
                    live.last_seen_at = now
        return who

    def end_session(self, secret: str) -> None:
        """Sign out: the session's cookie opens nothing from now on, on any worker."""
        with self.store.write() as s:
            row = s.get(PageSession, hash_token(secret))
            if row is not None and row.ended_at is None:
                row.ended_at = utcnow()
