"""Alembic migrations for the hub's store, packaged with sendx and run programmatically.

``upgrade(engine)`` brings a database to the newest schema; it is what ``sendx admin
init`` and hub start-up call.  Several workers starting at once are safe: on PostgreSQL
the upgrade runs under a transaction-scoped advisory lock, on SQLite inside ``BEGIN
IMMEDIATE`` (one writer at a time), and the DDL is transactional on both.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "upgrade"]

_HERE = Path(__file__).resolve().parent
#: Arbitrary constant naming the "sendx schema migration" advisory lock on PostgreSQL.
_PG_LOCK = 0x53454E4458  # "SENDX"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    eng = engine.execution_options(sqlite_begin="IMMEDIATE") if engine.dialect.name == "sqlite" else engine
    with eng.connect() as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
