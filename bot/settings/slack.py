"""SLACK_*: the bot token, the signing secret, the optional app-level token (Socket Mode) and
where the Web API lives."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings.common import ENV_FILE, looks_like_placeholder, one_line


def _slack_token(prefix: str) -> Any:
    def check(value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if looks_like_placeholder(raw):
            raise ValueError("is a placeholder")
        if not raw.startswith(prefix):
            raise ValueError(f"must start with {prefix!r}")
        return value

    return AfterValidator(check)


def _signing_secret(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value()
    if looks_like_placeholder(raw):
        raise ValueError("is a placeholder")
    if len(raw) < 16:
        raise ValueError("is too short to be a Slack signing secret")
    return value


class SlackSettings(BaseSettings):
    """What the Slack side needs: credentials and where the Web API lives."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=ENV_FILE, extra="ignore")

    bot_token: Annotated[SecretStr, _slack_token("xoxb-")]
    signing_secret: Annotated[SecretStr, AfterValidator(_signing_secret)]
    app_token: Annotated[SecretStr | None, _slack_token("xapp-")] = None
    api_url: str = "https://slack.com/api/"

    @field_validator("app_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        # slack_sdk joins method names onto it: a path without the trailing slash loses its
        # last segment.
        return value if value.endswith("/") else value + "/"


def load_slack_settings(env_file: str | None = ENV_FILE) -> SlackSettings:
    try:
        return SlackSettings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, "SLACK_")) from None
