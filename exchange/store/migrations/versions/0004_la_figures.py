"""The LA audit's facts: settings, each movement per area, day counts, placements, their
lengths, unknown-destination cases and plan timeliness, kept as records are written.

A hub that already holds movements or plans needs them built from its records, which takes
the storage key the database never sees: the migration sets ``area_state.rebuild`` and the
hub builds the facts when it next starts (``exchange/hub/service/area_facts.py``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("name_folded", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("urn", sa.Text(), nullable=True),
        sa.Column("ukprn", sa.Text(), nullable=True),
        sa.Column("laestab", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "area_movements",
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("la", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.Column("flow", sa.SmallInteger(), nullable=False),
        sa.Column("reintegrated", sa.Boolean(), nullable=False),
        sa.Column("unknown", sa.Boolean(), nullable=False),
        sa.Column("has_to", sa.Boolean(), nullable=False),
        sa.Column("ap", sa.Boolean(), nullable=False),
        sa.Column("from_setting", sa.Integer(), nullable=True),
        sa.Column("to_setting", sa.Integer(), nullable=True),
        sa.Column("said", sa.LargeBinary(length=16), nullable=True),
        sa.ForeignKeyConstraint(["from_setting"], ["settings.id"]),
        sa.ForeignKeyConstraint(["movement_id"], ["movements.id"]),
        sa.ForeignKeyConstraint(["to_setting"], ["settings.id"]),
        sa.PrimaryKeyConstraint("movement_id", "la"),
    )
    op.create_index("ix_area_movements_page", "area_movements", ["la", "day", "movement_id"], unique=False)
    op.create_index("ix_area_movements_said", "area_movements", ["said"], unique=False)
    op.create_table(
        "area_days",
        sa.Column("la", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("movements", sa.Integer(), nullable=False),
        sa.Column("into_ap", sa.Integer(), nullable=False),
        sa.Column("out_of_ap", sa.Integer(), nullable=False),
        sa.Column("reintegrated", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("la", "day"),
    )
    op.create_table(
        "area_placements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("la", sa.String(length=3), nullable=False),
        sa.Column("upn_hash", sa.String(length=64), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=True),
        sa.Column("start_movement_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["start_movement_id"], ["movements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_area_placements_end", "area_placements", ["la", "end_day", "start_day"], unique=False)
    op.create_index("ix_area_placements_pupil", "area_placements", ["la", "upn_hash"], unique=False)
    op.create_table(
        "area_lengths",
        sa.Column("la", sa.String(length=3), nullable=False),
        sa.Column("days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("la", "days"),
    )
    op.create_table(
        "area_unknown",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("la", sa.String(length=3), nullable=False),
        sa.Column("upn_hash", sa.String(length=64), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column(
            "event_id", sa.String(length=64).with_variant(sa.String(64, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["movement_id"], ["movements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_area_unknown_open", "area_unknown", ["la", "until", "since", "event_id"], unique=False)
    op.create_index("ix_area_unknown_pupil", "area_unknown", ["la", "upn_hash"], unique=False)
    op.create_table(
        "area_plans",
        sa.Column("sender_la", sa.String(length=3), nullable=False),
        sa.Column("plan_key", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("plan_la", sa.Text(), nullable=True),
        sa.Column("issued", sa.Boolean(), nullable=False),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.Column("excepted", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("overdue_from", sa.Date(), nullable=True),
        sa.Column("overdue_until", sa.Date(), nullable=True),
        sa.Column("overdue_after_5", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"]),
        sa.PrimaryKeyConstraint("sender_la", "plan_key"),
    )
    state = op.create_table(
        "area_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rebuild", sa.Boolean(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # The backfill: records already stored need their facts built, by the hub (it has the key).
    stored = (
        op.get_bind()
        .execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM movements) OR EXISTS (SELECT 1 FROM transfers WHERE kind = 'ehcp')")
        )
        .scalar()
    )
    op.bulk_insert(state, [{"id": 1, "rebuild": bool(stored), "built_at": None}])


def downgrade() -> None:
    op.drop_table("area_state")
    op.drop_table("area_plans")
    op.drop_index("ix_area_unknown_pupil", table_name="area_unknown")
    op.drop_index("ix_area_unknown_open", table_name="area_unknown")
    op.drop_table("area_unknown")
    op.drop_table("area_lengths")
    op.drop_index("ix_area_placements_pupil", table_name="area_placements")
    op.drop_index("ix_area_placements_end", table_name="area_placements")
    op.drop_table("area_placements")
    op.drop_table("area_days")
    op.drop_index("ix_area_movements_said", table_name="area_movements")
    op.drop_index("ix_area_movements_page", table_name="area_movements")
    op.drop_table("area_movements")
    op.drop_table("settings")
