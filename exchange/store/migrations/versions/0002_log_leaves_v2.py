"""Log leaves that disclose nothing: the old log is kept frozen, a new one starts; retention columns.

The log written before (leaf format 1, which carried each movement's type, dates, settings and
recorder) moves, unchanged, to ``previous_log_*``, where it stays verifiable against every
checkpoint it signed.  The log tables start empty: on its next start the hub appends a first
entry committing to the previous log's final checkpoint, then one format 2 leaf per movement
in the previous order (``Hub.upgrade_log``), so a movement at previous index ``k`` is at
``k + 1`` now — rows and transfers are renumbered here to match.  Movements gain
``previous_index`` and ``erased_at`` (retention); the access log can record what the hub did
itself (no participant) to a movement (``log_index``) that belongs to no transfer.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_LEAF_COLUMNS = ("index", "leaf", "created_at")
_NODE_COLUMNS = ("level", "index", "hash")
_HEAD_COLUMNS = ("id", "size", "updated_at")


def _log_tables(prefix: str) -> tuple[sa.TableClause, sa.TableClause, sa.TableClause]:
    return (
        sa.table(f"{prefix}log_leaves", *(sa.column(c) for c in _LEAF_COLUMNS)),
        sa.table(f"{prefix}log_nodes", *(sa.column(c) for c in _NODE_COLUMNS)),
        sa.table(f"{prefix}log_head", *(sa.column(c) for c in _HEAD_COLUMNS)),
    )


def upgrade() -> None:
    op.create_table(
        "previous_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "previous_log_leaves",
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index"),
    )
    op.create_table(
        "previous_log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index"),
    )
    leaves, nodes, head = _log_tables("")
    old_leaves, old_nodes, old_head = _log_tables("previous_")
    for source, target, columns in ((leaves, old_leaves, _LEAF_COLUMNS), (nodes, old_nodes, _NODE_COLUMNS)):
        op.execute(target.insert().from_select(columns, sa.select(*(source.c[c] for c in columns))))
        op.execute(source.delete())
    op.execute(old_head.insert().from_select(_HEAD_COLUMNS, sa.select(*(head.c[c] for c in _HEAD_COLUMNS))))
    op.execute(head.update().values(size=0))

    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_index", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    movements = sa.table("movements", sa.column("log_index"), sa.column("previous_index"))
    op.execute(movements.update().values(previous_index=movements.c.log_index, log_index=movements.c.log_index + 1))
    transfers = sa.table("transfers", sa.column("log_index"))
    op.execute(transfers.update().where(transfers.c.log_index.is_not(None)).values(log_index=transfers.c.log_index + 1))

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.alter_column("participant_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("transfer_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("log_index", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    access = sa.table("access_log", sa.column("participant_id"), sa.column("transfer_id"))
    op.execute(access.delete().where(sa.or_(access.c.participant_id.is_(None), access.c.transfer_id.is_(None))))
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("log_index")
        batch_op.alter_column("transfer_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column("participant_id", existing_type=sa.String(length=64), nullable=False)
    movements = sa.table("movements", sa.column("log_index"), sa.column("previous_index"))
    op.execute(movements.update().values(log_index=movements.c.previous_index))
    transfers = sa.table("transfers", sa.column("log_index"))
    op.execute(transfers.update().where(transfers.c.log_index.is_not(None)).values(log_index=transfers.c.log_index - 1))
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("previous_index")
    # The format 2 log is dropped; the previous one becomes the log again.
    leaves, nodes, head = _log_tables("")
    old_leaves, old_nodes, old_head = _log_tables("previous_")
    op.execute(leaves.delete())
    op.execute(nodes.delete())
    for source, target, columns in ((old_leaves, leaves, _LEAF_COLUMNS), (old_nodes, nodes, _NODE_COLUMNS)):
        op.execute(target.insert().from_select(columns, sa.select(*(source.c[c] for c in columns))))
    size = sa.select(old_head.c.size).where(old_head.c.id == 1).scalar_subquery()
    op.execute(head.update().values(size=sa.func.coalesce(size, 0)))
    op.drop_table("previous_log_nodes")
    op.drop_table("previous_log_leaves")
    op.drop_table("previous_log_head")
