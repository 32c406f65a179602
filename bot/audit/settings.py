"""Where the audit trail is: `AUDIT_DATABASE`, else `DATABASE_URL`, else a SQLite file in the
working directory (`./mde-bot-audit.sqlite3`). A file path, `sqlite:///path`, or
`postgresql://user:password@host/db`; kept as a secret, since a URL may carry a password.
(The bot's other settings are in `bot.settings`; this group joins them there when the bot
writes its trail.)"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.audit.database import DatabaseUnavailable, database_url
from bot.errors import ConfigError
from bot.settings import ENV_FILE

DEFAULT_DATABASE = "./mde-bot-audit.sqlite3"


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    database: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE),
        validation_alias=AliasChoices("AUDIT_DATABASE", "DATABASE_URL"),
    )

    @field_validator("database")
    @classmethod
    def _readable(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty")
        try:
            database_url(value.get_secret_value())
        except DatabaseUnavailable as exc:
            raise ValueError(exc.message) from None
        return value


def load_audit_settings(env_file: str | None = ENV_FILE) -> AuditSettings:
    try:
        return AuditSettings(_env_file=env_file)
    except ValidationError as exc:
        problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"AUDIT_DATABASE (or DATABASE_URL) {problem}",
            hint="give a SQLite file path or a postgresql:// URL",
        ) from None
