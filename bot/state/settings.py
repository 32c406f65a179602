"""Where the replicas share their state, and how many there are:

    REDIS_URL      redis://[user:password@]host:port/db (rediss:// for TLS); unset: every
                   replica keeps its own state, as a single instance does
    REDIS_PREFIX   the start of every key the bot writes (several bots can share a Redis)
    BOT_REPLICAS   how many replicas run: while Redis is down each spends 1/BOT_REPLICAS of
                   MDE's call budget on its own (bot.state.window)

Kept as a secret, since the URL may carry a password. (Like `bot.audit.settings`, a group of
its own, loaded where the state is opened.)
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings import ENV_FILE

SCHEMES = ("redis://", "rediss://", "unix://")


class StateSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    redis_prefix: str = Field(
        default="mde-bot", validation_alias="REDIS_PREFIX", pattern=r"^[A-Za-z0-9_.-]{1,64}$"
    )
    replicas: int = Field(default=1, ge=1, le=1000, validation_alias="BOT_REPLICAS")

    @field_validator("redis_url")
    @classmethod
    def _scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(SCHEMES):
            raise ValueError("is not a redis://, rediss:// or unix:// URL")
        return value

    @property
    def shared(self) -> bool:
        """Whether state is shared on Redis (else: a single instance)."""
        return self.redis_url is not None


_NAMES = {"redis_url": "REDIS_URL", "redis_prefix": "REDIS_PREFIX", "replicas": "BOT_REPLICAS"}
_HINTS = {
    "REDIS_URL": "give redis://host:6379/0, or unset it for a single instance",
    "REDIS_PREFIX": "use up to 64 letters, digits, '.', '_' or '-'",
    "BOT_REPLICAS": "give the number of replicas that run (1 or more)",
}


def load_state_settings(env_file: str | None = ENV_FILE) -> StateSettings:
    try:
        return StateSettings(_env_file=env_file)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = str(error["loc"][0]) if error["loc"] else "?"
        name = _NAMES.get(loc, loc)
        problem = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} {problem}", hint=_HINTS.get(name, "see .env.example")) from None
