"""Alembic's entry point for the action requests' migrations: see `bot.audit.database.run_env`."""

from bot.audit.database import run_env

run_env()
