"""Lost pupils' own one-pupil files (split at receipt); page sessions held by the hub.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lost_pupils", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.LargeBinary(length=12), nullable=True))
        batch_op.add_column(sa.Column("ciphertext", sa.LargeBinary(), nullable=True))

    op.create_table(
        "page_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("page_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_sessions_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_page_sessions_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_sessions_created_at"))
        batch_op.drop_index(batch_op.f("ix_page_sessions_participant_id"))
    op.drop_table("page_sessions")
    with op.batch_alter_table("lost_pupils", schema=None) as batch_op:
        batch_op.drop_column("ciphertext")
        batch_op.drop_column("nonce")
