"""Alembic environment: runs on the connection ``sendx.exchange.store.migrations.upgrade`` hands over."""

from __future__ import annotations

from alembic import context

from sendx.exchange.store.database import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable via the alembic command line
    raise RuntimeError("run sendx migrations through sendx.exchange.store.migrations.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
