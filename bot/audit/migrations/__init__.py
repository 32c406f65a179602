"""The audit trail's Alembic migrations (`versions/`), run by `bot.audit.database.migrate`."""

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version_audit"
