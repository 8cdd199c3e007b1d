"""The hub's persistent store: SQLAlchemy tables and engine plumbing (``database``), the Alembic
migrations that create them (``migrations``), the log's node storage in SQL (``lognodes``) and
encryption at rest of documents and movement events (``atrest``).

SQLite is the embedded default, PostgreSQL the production store; nothing above this package
writes SQL DDL.  The store imports the log (for its node-store interface) but never the hub.
"""

from __future__ import annotations

from sendx.exchange.store.database import (
    LOG_HEAD_SET,
    LOG_HEAD_SIZE,
    ROLES,
    AccessLogEntry,
    ApiToken,
    AreaDay,
    AreaLength,
    AreaMovement,
    AreaPlacement,
    AreaPlan,
    AreaState,
    AreaUnknown,
    Base,
    LogHead,
    LogLeaf,
    LogNode,
    LostPupil,
    Movement,
    PageSession,
    Participant,
    ParticipantKey,
    PreviousLogEntry,
    PreviousLogHead,
    PreviousLogNode,
    Setting,
    Store,
    Transfer,
    sqlite_url,
    utcnow,
)

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
    "sqlite_url",
    "utcnow",
]
