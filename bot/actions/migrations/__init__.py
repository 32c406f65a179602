"""The action requests' Alembic migrations (`versions/`), run by `ActionStore.open`
(`bot.actions.store`) through `bot.audit.database.migrate`, on the audit trail's engine."""

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version_actions"
