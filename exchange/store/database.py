"""The hub's persistent store: typed SQLAlchemy 2 models and the engine/session plumbing.

This is the last step of the flow bytes → parse → validate → adapt → sign → exchange: what
the hub accepted lives here — participants with their keys and hashed API tokens,
transfers (documents encrypted at rest), movement events, the lost-pupil pool, the Merkle
log's leaves and head, and the access log.  SQLite (WAL) is the default, PostgreSQL the
production backend; the schema is created and upgraded only by the Alembic migrations in
``exchange/store/migrations`` (``Store.migrate``), never by ``create_all``, so both backends
always run the same DDL.

Write transactions that must be serialised (log appends) lock the single ``log_head`` row:
``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every write transaction starts with
``BEGIN IMMEDIATE``, which takes the database's one write lock up front.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from sendx.exchange.home import private_file
from sendx.validators.errors import ConfigError, InputError

__all__ = [
    "LOG_HEAD_SET",
    "LOG_HEAD_SIZE",
    "ROLES",
    "AccessLogEntry",
    "ApiToken",
    "AreaDay",
    "AreaLength",
    "AreaMovement",
    "AreaPlacement",
    "AreaPlan",
    "AreaState",
    "AreaUnknown",
    "Base",
    "LogHead",
    "LogLeaf",
    "LogNode",
    "LostPupil",
    "Movement",
    "PageSession",
    "Participant",
    "ParticipantKey",
    "PreviousLogEntry",
    "PreviousLogHead",
    "PreviousLogNode",
    "Setting",
    "Store",
    "Transfer",
    "utcnow",
]

#: Participant roles the hub knows (SPEC §7).
ROLES = ("school", "college", "health", "la", "admin")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    la: Mapped[str | None] = mapped_column(String(3), index=True)
    urn: Mapped[str | None] = mapped_column(String(8), unique=True)
    laestab: Mapped[str | None] = mapped_column(String(7), unique=True)
    ukprn: Mapped[str | None] = mapped_column(String(8), unique=True)
    ods: Mapped[str | None] = mapped_column(String(10), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "role": self.role, "name": self.name}
        for attr in ("la", "urn", "laestab", "ukprn", "ods"):
            if getattr(self, attr):
                out[attr] = getattr(self, attr)
        return out


class ParticipantKey(Base):
    """A participant's registered Ed25519 public key (JWK), addressed by its RFC 7638 kid."""

    __tablename__ = "participant_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """An API token, stored only as the SHA-256 of the high-entropy secret."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Transfer(Base):
    """One document sent through the hub; the document itself is AES-GCM encrypted."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("sender_id", "idempotency_key", name="uq_transfers_idempotency"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    #: None while the transfer sits in the lost-pupil pool.
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: delivered | acked | lost | redirected
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(160))
    #: SHA-256 of the canonical request body: same key + different body is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    envelope_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    redirected_from: Mapped[str | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LostPupil(Base):
    """A pupil in a CTF sent to an unknown destination (XXX/MMM), waiting for an LA."""

    __tablename__ = "lost_pupils"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), index=True)
    #: Keyed hash of the UPN: searchable by exact UPN without storing it in clear.
    upn_hash: Mapped[str] = mapped_column(String(64), index=True)
    source_la: Mapped[str | None] = mapped_column(String(3), index=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    destination: Mapped[str] = mapped_column(String(16))
    #: open | redirected
    status: Mapped[str] = mapped_column(String(16), default="open")
    redirected_to: Mapped[str | None] = mapped_column(ForeignKey("participants.id"))
    redirect_transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfers.id"))
    redirected_by: Mapped[str | None] = mapped_column(ForeignKey("participants.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    redirected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: This pupil's own one-pupil CTF, encrypted (None in rows made before files were split).
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)


class PageSession(Base):
    """A signed-in LA page session, held by the hub so that signing out ends it everywhere."""

    __tablename__ = "page_sessions"

    #: SHA-256 of the session's secret (the cookie holds the secret, the store only its hash).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    #: SHA-256 of the API token it signed in with: revoking the token ends the session.
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Movement(Base):
    """One movement event: searchable columns in clear (no personal data), the event encrypted."""

    __tablename__ = "movements"
    __table_args__ = (UniqueConstraint("recorded_by", "event_id", name="uq_movements_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    effective_date: Mapped[dt.date] = mapped_column(Date, index=True)
    upn_hash: Mapped[str] = mapped_column(String(64), index=True)
    from_la: Mapped[str | None] = mapped_column(String(3), index=True)
    to_la: Mapped[str | None] = mapped_column(String(3), index=True)
    #: The LA of the recording participant (the pupil's school's LA for school-recorded events).
    school_la: Mapped[str | None] = mapped_column(String(3), index=True)
    from_ap: Mapped[bool] = mapped_column(Boolean, default=False)
    to_ap: Mapped[bool] = mapped_column(Boolean, default=False)
    from_urn: Mapped[str | None] = mapped_column(String(8))
    from_laestab: Mapped[str | None] = mapped_column(String(7))
    from_ukprn: Mapped[str | None] = mapped_column(String(8))
    to_urn: Mapped[str | None] = mapped_column(String(8))
    to_laestab: Mapped[str | None] = mapped_column(String(7))
    to_ukprn: Mapped[str | None] = mapped_column(String(8))
    request_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    #: Its index in the log this hub kept before leaf format 2 (``previous_log_*``), if any.
    previous_index: Mapped[int | None] = mapped_column(BigInteger)
    #: When retention erased its details (event, salt, identifiers); its log entry stays.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --------------------------------------------------------------------------- the LA audit's facts
# Kept as movements and plans are written (``exchange/hub/service/area_facts.py``), so an LA's
# pages read sums over days and the rows they show, never the area's whole history.  No
# column holds personal data: pupils appear only as the keyed UPN hash the movements table
# already has, and a repeat as a keyed hash of what the movement said.


class Setting(Base):
    """A school, unit or college as movements name it (one row per distinct description)."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of the setting object's canonical JSON: the same description, the same row.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    #: ``name.casefold()``: what the timeline's setting search matches part of.
    name_folded: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    urn: Mapped[str | None] = mapped_column(Text)
    ukprn: Mapped[str | None] = mapped_column(Text)
    laestab: Mapped[str | None] = mapped_column(Text)


class AreaMovement(Base):
    """A movement as one LA's area sees it: one row per LA in the API's scope of the movement."""

    __tablename__ = "area_movements"
    __table_args__ = (
        Index("ix_area_movements_page", "la", "day", "movement_id"),
        Index("ix_area_movements_said", "said"),
    )

    movement_id: Mapped[int] = mapped_column(ForeignKey("movements.id"), primary_key=True)
    la: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(40))
    #: The event names a setting in this LA (``figures.touches_area``): on its pages and in its figures.
    shown: Mapped[bool] = mapped_column(Boolean)
    #: A later report of a movement already recorded: listed, not counted.
    repeat: Mapped[bool] = mapped_column(Boolean)
    flow: Mapped[int] = mapped_column(SmallInteger)
    reintegrated: Mapped[bool] = mapped_column(Boolean)
    unknown: Mapped[bool] = mapped_column(Boolean)
    has_to: Mapped[bool] = mapped_column(Boolean)
    ap: Mapped[bool] = mapped_column(Boolean)
    from_setting: Mapped[int | None] = mapped_column(ForeignKey("settings.id"))
    to_setting: Mapped[int | None] = mapped_column(ForeignKey("settings.id"))
    #: Keyed hash of what the movement said (pupil, type, date, settings); None if malformed.
    said: Mapped[bytes | None] = mapped_column(LargeBinary(16))


class AreaDay(Base):
    """What one day's movements add to an area's figures (each movement counted once)."""

    __tablename__ = "area_days"

    la: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    movements: Mapped[int] = mapped_column(Integer, default=0)
    into_ap: Mapped[int] = mapped_column(Integer, default=0)
    out_of_ap: Mapped[int] = mapped_column(Integer, default=0)
    reintegrated: Mapped[int] = mapped_column(Integer, default=0)


class AreaPlacement(Base):
    """One pupil's AP placement in an area: from entry to exit (None while open)."""

    __tablename__ = "area_placements"
    __table_args__ = (
        Index("ix_area_placements_pupil", "la", "upn_hash"),
        Index("ix_area_placements_end", "la", "end_day", "start_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    la: Mapped[str] = mapped_column(String(3))
    upn_hash: Mapped[str] = mapped_column(String(64))
    start_day: Mapped[dt.date] = mapped_column(Date)
    end_day: Mapped[dt.date | None] = mapped_column(Date)
    start_movement_id: Mapped[int] = mapped_column(ForeignKey("movements.id"))


class AreaLength(Base):
    """How many of an area's ended AP placements lasted ``days`` days (median and lengths chart)."""

    __tablename__ = "area_lengths"

    la: Mapped[str] = mapped_column(String(3), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)


#: Text ordered by code point on every backend (SQLite's BINARY; PostgreSQL's "C", not the locale's).
CODE_ORDER = String(64).with_variant(String(64, collation="C"), "postgresql")


class AreaUnknown(Base):
    """An unknown-destination case in an area: open from ``since`` until ``until`` (None: still open).

    The overview lists the oldest open cases by (``since``, ``event_id``): the index serves
    that order directly for the cases still open, so listing them never sorts them all.
    """

    __tablename__ = "area_unknown"
    __table_args__ = (
        Index("ix_area_unknown_pupil", "la", "upn_hash"),
        Index("ix_area_unknown_open", "la", "until", "since", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    la: Mapped[str] = mapped_column(String(3))
    upn_hash: Mapped[str] = mapped_column(String(64))
    movement_id: Mapped[int] = mapped_column(ForeignKey("movements.id"))
    #: The event id of the movement that opened the case (not personal: the hub's movement ids).
    event_id: Mapped[str] = mapped_column(CODE_ORDER)
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)


class AreaPlan(Base):
    """The latest version of an EHC plan an LA issued through the hub, as its timeliness figures see it."""

    __tablename__ = "area_plans"

    #: The LA of the LA participant that sent the plan.
    sender_la: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: Keyed hash of the plan's ``planId`` (or of the transfer id when it has none).
    plan_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"))
    #: The plan's own ``la.code``: it counts for its sender's LA only when they agree.
    plan_la: Mapped[str | None] = mapped_column(Text)
    issued: Mapped[bool] = mapped_column(Boolean)
    within: Mapped[bool] = mapped_column(Boolean)
    excepted: Mapped[bool] = mapped_column(Boolean)
    late: Mapped[bool] = mapped_column(Boolean)
    tracked: Mapped[bool] = mapped_column(Boolean)
    overdue_from: Mapped[dt.date | None] = mapped_column(Date)
    overdue_until: Mapped[dt.date | None] = mapped_column(Date)
    overdue_after_5: Mapped[dt.date | None] = mapped_column(Date)


class AreaState(Base):
    """One row: whether the area facts still have to be built from the stored records.

    Building them needs the storage key, which the database never sees, so a migration that
    adds them on a hub with records leaves ``rebuild`` set and the hub builds them at start.
    """

    __tablename__ = "area_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rebuild: Mapped[bool] = mapped_column(Boolean)
    built_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LogHead(Base):
    """The single row every log append locks: current size, so appends form one history."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


_HEAD = LogHead.__table__
#: The log's size, read without the lock; and the statement that sets it (parameters
#: ``size``, ``updated_at``) when an append did not reserve its leaves up front.
LOG_HEAD_SIZE = select(_HEAD.c.size).where(_HEAD.c.id == 1)
LOG_HEAD_SET = _HEAD.update().where(_HEAD.c.id == 1)
#: What every append runs first: one statement that takes the row lock, advances the size
#: by the leaves the transaction will append and says where it now ends.
_ADVANCE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(size=_HEAD.c.size + bindparam("grow"), updated_at=bindparam("now"))
    .returning(_HEAD.c.size)
)


class LogLeaf(Base):
    """One Merkle log leaf: the exact leaf bytes (no personal data: salted hashes only)."""

    __tablename__ = "log_leaves"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LogNode(Base):
    """Hash of a complete Merkle subtree: (level, index) → 32 bytes; immutable once written."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class PreviousLogEntry(Base):
    """An entry of the log this hub kept before leaf format 2: frozen, served for audit only."""

    __tablename__ = "previous_log_leaves"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PreviousLogNode(Base):
    """A subtree hash of the previous log (see ``LogNode``)."""

    __tablename__ = "previous_log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class PreviousLogHead(Base):
    """The previous log's final size (0 on a hub that never had one)."""

    __tablename__ = "previous_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AccessLogEntry(Base):
    """Who read which document when, and what retention erased; the LAs concerned can query it."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: None when the hub itself acted (retention).
    participant_id: Mapped[str | None] = mapped_column(ForeignKey("participants.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    #: The log entry of the movement acted on (retention), when it was one.
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    sender_la: Mapped[str | None] = mapped_column(String(3), index=True)
    recipient_la: Mapped[str | None] = mapped_column(String(3), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# --------------------------------------------------------------------------- engine


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'hub.sqlite'}"


class Store:
    """An engine plus session factories for one hub database.

    ``read()`` opens an ordinary transaction; ``write()`` one that is allowed to append to
    the log (``BEGIN IMMEDIATE`` on SQLite so two writers never deadlock on lock upgrade).
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = url
        try:
            self.engine: Engine = _make_engine(url, echo=echo, pool_size=pool_size)
        except Exception as exc:  # bad URL, missing driver
            raise ConfigError(f"cannot open the hub database: {exc}", hint="check SENDX_DATABASE_URL") from exc
        self.dialect = self.engine.dialect.name
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.dialect == "sqlite" else self.engine
        self._write = sessionmaker(writer, expire_on_commit=False)
        db = self.engine.url.database if self.dialect == "sqlite" else None
        self._lock_path = f"{db}.writelock" if db and db != ":memory:" and os.name == "posix" else None
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer_lock(), self._write() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """One pooled connection for a request that reads and then writes.

        The upload path runs on this with Core statements: one pool checkout (one liveness
        ping on PostgreSQL) for both of its transactions, and none of the ORM's per-statement
        bookkeeping, which costs more than SQLite itself on this path.
        """
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def writing(self, conn: Connection) -> Iterator[Connection]:
        """A write transaction on ``conn``, queued and begun exactly as ``write()`` does."""
        with self._writer_lock():
            if self.dialect == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")  # in place on a Connection
            try:
                with conn.begin():
                    yield conn
            finally:
                if self.dialect == "sqlite":
                    conn.execution_options(sqlite_begin="DEFERRED")

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """On SQLite, queue writers on an OS file lock before ``BEGIN IMMEDIATE``.

        SQLite's own busy handler polls with sleeps of up to 100 ms, so under contention
        writers from several gunicorn workers idle while the database is free; a blocking
        ``flock`` wakes the next writer the moment the lock is released.
        """
        if self._lock_path is None:
            yield
            return
        import fcntl

        with self._thread_lock:  # flock is per open file; serialise this process's threads first
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def lock_log_head(self, db: Session | Connection, grow: int = 0) -> int:
        """Lock the log head, advance it by ``grow`` leaves, and return the size it had.

        The lock is held until the transaction ends, so the ``grow`` indices from the returned
        size on are this transaction's to fill.  Reserving them here, rather than setting the
        size after the append, saves the append a statement (a round trip on PostgreSQL).
        """
        size = db.execute(_ADVANCE_HEAD, {"grow": grow, "now": utcnow()}).scalar_one_or_none()
        if size is None:
            raise ConfigError("the hub database has no log head row", hint="run `sendx admin init`")
        return int(size) - grow

    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema with the packaged Alembic migrations."""
        from sendx.exchange.store.migrations import upgrade

        upgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, *, echo: bool, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_files(make_url(url).database)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _private_sqlite_files(database: str | None) -> None:
    """Make the database file 0600 before SQLite opens it (SQLite gives its -wal and -shm files
    the same mode), and tighten the files an older sendx left readable by others."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    db = Path(database)
    if not db.parent.is_dir():
        return  # SQLite reports the missing directory in its own words
    private_file(db)
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if extra.exists():
            private_file(extra)


def _refuse_nul(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    """Refuse text holding U+0000 before it reaches the database, on every backend alike.

    PostgreSQL text cannot hold it (psycopg raises ``DataError``, which surfaced as a 500),
    while SQLite would store it: a participant id, a search term or a name from a request
    with a NUL in it is bad input, so it is a 400 on both.
    """
    rows = parameters if executemany else (parameters,)
    for row in rows or ():
        values = row.values() if isinstance(row, dict) else row if isinstance(row, list | tuple) else ()
        if any(type(v) is str and "\x00" in v for v in values):
            raise InputError(
                "text with a NUL character (U+0000) cannot be stored or searched",
                hint="remove the NUL (\\u0000) from identifiers, names and query parameters",
            )


def _sqlite_on_connect(dbapi_conn: Any, record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is DEFERRED
    # and comes too late for us to choose IMMEDIATE).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    # FULL: a transfer acknowledged with 201 survives a power cut, not just a killed process.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
