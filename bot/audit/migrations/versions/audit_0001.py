"""The audit trail: the records, the chain's head (seq 0, the genesis hash), and triggers that
refuse to change or delete a record.

Revision ID: audit_0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64  # bot.audit.records.GENESIS, frozen here as a migration must be

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
    "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$",
    "CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()",
    "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()",
)

_TRIGGERS = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time_us", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor_user", sa.String(64), nullable=False),
        sa.Column("actor_team", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("thread", sa.String(32), nullable=False),
        sa.Column("tenants", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_records_time_us", "audit_records", ["time_us"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    for statement in _TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_records_append_only() CASCADE")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_records_time_us", table_name="audit_records")
    op.drop_table("audit_records")
