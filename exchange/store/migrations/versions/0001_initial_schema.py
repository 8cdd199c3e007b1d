"""Initial schema: participants, keys, tokens, transfers, lost pupils, movements, log, access log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:55:34.553753
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "log_leaves",
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index"),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("la", sa.String(length=3), nullable=True),
        sa.Column("urn", sa.String(length=8), nullable=True),
        sa.Column("laestab", sa.String(length=7), nullable=True),
        sa.Column("ukprn", sa.String(length=8), nullable=True),
        sa.Column("ods", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("laestab"),
        sa.UniqueConstraint("ods"),
        sa.UniqueConstraint("ukprn"),
        sa.UniqueConstraint("urn"),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participants_la"), ["la"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "participant_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("kid"),
    )
    with op.batch_alter_table("participant_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participant_keys_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("envelope_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.Column("redirected_from", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["redirected_from"],
            ["transfers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "idempotency_key", name="uq_transfers_idempotency"),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfers_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfers_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfers_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("sender_la", sa.String(length=3), nullable=True),
        sa.Column("recipient_la", sa.String(length=3), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_participant_id"), ["participant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_recipient_la"), ["recipient_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_sender_la"), ["sender_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "lost_pupils",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("upn_hash", sa.String(length=64), nullable=False),
        sa.Column("source_la", sa.String(length=3), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("redirected_to", sa.String(length=64), nullable=True),
        sa.Column("redirect_transfer_id", sa.String(length=36), nullable=True),
        sa.Column("redirected_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redirected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["redirect_transfer_id"],
            ["transfers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["redirected_by"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["redirected_to"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lost_pupils", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lost_pupils_source_la"), ["source_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_lost_pupils_transfer_id"), ["transfer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lost_pupils_upn_hash"), ["upn_hash"], unique=False)

    op.create_table(
        "movements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("upn_hash", sa.String(length=64), nullable=False),
        sa.Column("from_la", sa.String(length=3), nullable=True),
        sa.Column("to_la", sa.String(length=3), nullable=True),
        sa.Column("school_la", sa.String(length=3), nullable=True),
        sa.Column("from_ap", sa.Boolean(), nullable=False),
        sa.Column("to_ap", sa.Boolean(), nullable=False),
        sa.Column("from_urn", sa.String(length=8), nullable=True),
        sa.Column("from_laestab", sa.String(length=7), nullable=True),
        sa.Column("from_ukprn", sa.String(length=8), nullable=True),
        sa.Column("to_urn", sa.String(length=8), nullable=True),
        sa.Column("to_laestab", sa.String(length=7), nullable=True),
        sa.Column("to_ukprn", sa.String(length=8), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recorded_by", "event_id", name="uq_movements_event"),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_movements_effective_date"), ["effective_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_from_la"), ["from_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_recorded_by"), ["recorded_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_school_la"), ["school_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_to_la"), ["to_la"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_transfer_id"), ["transfer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_upn_hash"), ["upn_hash"], unique=False)

    # The one log-head row every append locks (see exchange.store).
    op.bulk_insert(
        sa.table("log_head", sa.column("id", sa.Integer), sa.column("size", sa.BigInteger)), [{"id": 1, "size": 0}]
    )


def downgrade() -> None:

    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movements_upn_hash"))
        batch_op.drop_index(batch_op.f("ix_movements_type"))
        batch_op.drop_index(batch_op.f("ix_movements_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_movements_to_la"))
        batch_op.drop_index(batch_op.f("ix_movements_school_la"))
        batch_op.drop_index(batch_op.f("ix_movements_recorded_by"))
        batch_op.drop_index(batch_op.f("ix_movements_from_la"))
        batch_op.drop_index(batch_op.f("ix_movements_effective_date"))

    op.drop_table("movements")
    with op.batch_alter_table("lost_pupils", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lost_pupils_upn_hash"))
        batch_op.drop_index(batch_op.f("ix_lost_pupils_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_lost_pupils_source_la"))

    op.drop_table("lost_pupils")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_sender_la"))
        batch_op.drop_index(batch_op.f("ix_access_log_recipient_la"))
        batch_op.drop_index(batch_op.f("ix_access_log_participant_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))

    op.drop_table("access_log")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_sender_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_transfers_created_at"))

    op.drop_table("transfers")
    with op.batch_alter_table("participant_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_keys_participant_id"))

    op.drop_table("participant_keys")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_participant_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_la"))

    op.drop_table("participants")
    op.drop_table("log_nodes")
    op.drop_table("log_leaves")
    op.drop_table("log_head")
