"""The action requests: one row a request, its stage the column every step compares and sets,
its idempotency key unique (a modal submitted twice, on any replica, makes one request).

Revision ID: actions_0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "actions_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("subject_name", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("thread", sa.String(32), nullable=False),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("expires", sa.Float(precision=53), nullable=True),
        sa.Column("approver", sa.String(64), nullable=True),
        sa.Column("mde_id", sa.String(128), nullable=True),
        sa.Column("mde_status", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_action_requests_stage", "action_requests", ["stage"])


def downgrade() -> None:
    op.drop_index("ix_action_requests_stage", table_name="action_requests")
    op.drop_table("action_requests")
