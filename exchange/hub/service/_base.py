"""What every part of the hub's behaviour shares: the store and keys it runs on (``HubBase``),
the answer type (``Result``), role checks and the small formatting helpers.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sendx.exchange.hub.service.throttle import TokenThrottle
from sendx.exchange.store import AccessLogEntry, LogLeaf, LostPupil, Movement, Participant, Store, Transfer
from sendx.exchange.store.atrest import Cipher
from sendx.exchange.trust.canonical import canonical_json
from sendx.validators.errors import ForbiddenError, InputError, NotFoundError

#: The longest page any listing returns.
MAX_PAGE = 200


@dataclass(frozen=True)
class Result:
    """A response body and whether it was created now (201) or replayed/read (200)."""

    body: dict[str, Any]
    created: bool = False

    @property
    def status(self) -> int:
        return 201 if self.created else 200


class HubBase:
    """The store, the encryption key and the log key every part of the hub works with."""

    def __init__(self, store: Store, cipher: Cipher, *, log_signer: Any = None, log_origin: str = "sendx.hub/log"):
        self.store = store
        self.cipher = cipher
        self.log_signer = log_signer
        self.log_origin = log_origin
        self.config: Any = None
        self.token_throttle = TokenThrottle()

    @property
    def log_verifier(self) -> str | None:
        """The log key's C2SP verifier key text (``name+keyid+base64``), for auditors."""
        return self.log_signer.verifier().to_text() if self.log_signer is not None else None

    def _connection(self, conn: Connection | None) -> contextlib.AbstractContextManager[Connection]:
        """``conn`` when a request already holds one (one pool checkout per request), else a new one."""
        return contextlib.nullcontext(conn) if conn is not None else self.store.connection()

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


def participant_in(s: Session, pid: str) -> Participant:
    p = s.get(Participant, pid)
    if p is None:
        raise NotFoundError(f"no participant {pid!r}")
    return p


def find_participant(db: Session | Connection, pid: str, *, by_school_code: bool = False) -> Participant | None:
    """A participant by id (or, for CTF routing, by LAESTAB or URN), detached from any session."""
    row = db.execute(_PARTICIPANT_BY_ID, {"pid": pid}).first()
    if row is None and by_school_code:
        row = db.execute(_PARTICIPANT_BY_CODE, {"pid": pid}).first()
    return detached_participant(row) if row is not None else None


def detached_participant(row: Any) -> Participant:
    """A ``Participant`` from a Core row holding its columns (and maybe others), bound to no session."""
    return Participant(**{c: getattr(row, c) for c in _PARTICIPANT_COLUMNS})


def require(caller: Participant, *roles: str) -> None:
    if caller.role not in roles:
        raise ForbiddenError(f"this needs the role {' or '.join(roles)}; you are {caller.role}")


def setting_of(p: Participant | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {"name": p.name, "ap": False}
    for attr in ("urn", "laestab", "ukprn", "la"):
        if getattr(p, attr):
            out[attr] = getattr(p, attr)
    return out


def la_of(s: Session, pid: str | None) -> str | None:
    if pid is None:
        return None
    p = s.get(Participant, pid)
    return p.la if p else None


def canonical_hash(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def encode_cursor(day: dt.date, movement_id: int) -> str:
    """A position in a movement list: an opaque token for a query string."""
    return base64.urlsafe_b64encode(f"{day.isoformat()}.{movement_id}".encode()).decode().rstrip("=")


def decode_cursor(token: str, where: str) -> tuple[dt.date, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        day, mid = raw.split(".", 1)
        position = dt.date.fromisoformat(day), int(mid)
    except (ValueError, UnicodeDecodeError):
        position = None
    if position is None or not 0 <= position[1] < 2**63:
        raise InputError(f"the paging cursor {where!r} is not valid", where=where)
    return position


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_PARTICIPANT_COLUMNS = tuple(c.name for c in Participant.__table__.c)
_PARTICIPANT_BY_ID = select(Participant.__table__).where(Participant.__table__.c.id == bindparam("pid"))
_PARTICIPANT_BY_CODE = (
    select(Participant.__table__)
    .where(or_(Participant.__table__.c.laestab == bindparam("pid"), Participant.__table__.c.urn == bindparam("pid")))
    .limit(1)
)
