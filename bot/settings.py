"""Settings, validated once at start-up and passed down; nothing else reads the environment.

Three groups, loaded separately so that each command asks only for what it needs:
`SlackSettings` (SLACK_*), the MDE connectors (MDE_* or a connectors file) and `BotSettings`
(behaviour, logging, port). Every failure becomes one `ConfigError` line that names the
variable and says how to fix it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

ENV_FILE = ".env"

_PLACEHOLDER = re.compile(
    r"your|change.?me|placeholder|example|replace|dummy|todo|xxxx|\.\.\.|<|>", re.IGNORECASE
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^(?=.{4,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def looks_like_placeholder(value: str) -> bool:
    """True for values copied from `.env.example` and never filled in."""
    return not value.strip() or bool(_PLACEHOLDER.search(value))


# --------------------------------------------------------------------------------- Slack


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


# ---------------------------------------------------------------------------------- MDE


class Cloud(StrEnum):
    COMMERCIAL = "commercial"
    COMMERCIAL_US = "commercial-us"
    COMMERCIAL_EU = "commercial-eu"
    COMMERCIAL_UK = "commercial-uk"
    COMMERCIAL_AU = "commercial-au"
    COMMERCIAL_SWA = "commercial-swa"
    COMMERCIAL_INA = "commercial-ina"
    GCC = "gcc"
    GCC_HIGH = "gcc-high"
    DOD = "dod"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class CloudPreset:
    api_url: str
    login_host: str
    scope: str
    portal_url: str


_COMMERCIAL_SCOPE = "https://api.securitycenter.microsoft.com/.default"
_LOGIN = "https://login.microsoftonline.com"
_PORTAL = "https://security.microsoft.com"


def _geo(prefix: str) -> CloudPreset:
    return CloudPreset(
        f"https://{prefix}.api.security.microsoft.com", _LOGIN, _COMMERCIAL_SCOPE, _PORTAL
    )


# Hosts from Microsoft's API and US Government pages (../shared/reference/mde-api.md §1). The
# government scopes are not documented by Microsoft; these are the app-ID-URI forms that XSOAR
# uses, and every connector can override them.
CLOUD_PRESETS: Mapping[Cloud, CloudPreset] = {
    Cloud.COMMERCIAL: CloudPreset(
        "https://api.security.microsoft.com", _LOGIN, _COMMERCIAL_SCOPE, _PORTAL
    ),
    Cloud.COMMERCIAL_US: _geo("us"),
    Cloud.COMMERCIAL_EU: _geo("eu"),
    Cloud.COMMERCIAL_UK: _geo("uk"),
    Cloud.COMMERCIAL_AU: _geo("au"),
    Cloud.COMMERCIAL_SWA: _geo("swa"),
    Cloud.COMMERCIAL_INA: _geo("ina"),
    Cloud.GCC: CloudPreset(
        "https://api-gcc.securitycenter.microsoft.us",
        _LOGIN,
        "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
        _PORTAL,
    ),
    Cloud.GCC_HIGH: CloudPreset(
        "https://api-gov.securitycenter.microsoft.us",
        "https://login.microsoftonline.us",
        "https://securitycenter.onmicrosoft.us/windowsatpservice/.default",
        "https://security.microsoft.us",
    ),
    Cloud.DOD: CloudPreset(
        "https://api-gov.securitycenter.microsoft.us",
        "https://login.microsoftonline.us",
        "https://securitycenter.onmicrosoft.us/windowsatpservice/.default",
        "https://security.apps.mil",
    ),
}


def _https_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"^https://[^/\s?#]+(/[^\s?#]*)?$", value):
        raise ValueError("must be an https URL without query or fragment")
    return value.rstrip("/")


HttpsUrl = Annotated[str | None, AfterValidator(_https_url)]


class ConnectorSettings(BaseModel):
    """One MDE tenant the bot can ask. Immutable; validated before anything connects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str
    cloud: Cloud = Cloud.COMMERCIAL
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    api_url: HttpsUrl = None
    authority: HttpsUrl = None
    scope: str | None = None
    portal_url: HttpsUrl = None
    ca_bundle: Path | None = None
    enabled: bool = True

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        if not _ALIAS.match(value):
            raise ValueError("must be 1-32 lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        if not (_GUID.match(value) or _TENANT_DOMAIN.match(value)) or looks_like_placeholder(value):
            raise ValueError("must be the directory (tenant) id, a GUID")
        return value

    @field_validator("client_id")
    @classmethod
    def _client(cls, value: str) -> str:
        if not _GUID.match(value):
            raise ValueError("must be the application (client) id, a GUID")
        return value

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if looks_like_placeholder(value.get_secret_value()):
            raise ValueError("is missing or a placeholder")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _custom_cloud_is_complete(self) -> ConnectorSettings:
        if self.cloud is Cloud.CUSTOM and not (self.api_url and self.authority and self.scope):
            raise ValueError("cloud 'custom' needs api_url, authority and scope")
        return self

    def _pick(self, override: str | None, field: str) -> str:
        if override:
            return override
        # Only the custom cloud lacks a preset, and the validator above made it complete.
        preset = CLOUD_PRESETS.get(self.cloud, CLOUD_PRESETS[Cloud.COMMERCIAL])
        value: str = getattr(preset, field)
        return value

    @property
    def resolved_api_url(self) -> str:
        return self._pick(self.api_url, "api_url")

    @property
    def resolved_authority(self) -> str:
        return self.authority or f"{self._pick(None, 'login_host')}/{self.tenant_id}"

    @property
    def resolved_scope(self) -> str:
        return self._pick(self.scope, "scope")

    @property
    def resolved_portal_url(self) -> str:
        return self._pick(self.portal_url, "portal_url")


class MdeEnv(BaseSettings):
    """MDE_* variables: one tenant inline, or a file naming several."""

    model_config = SettingsConfigDict(env_prefix="MDE_", env_file=ENV_FILE, extra="ignore")

    alias: str = "mde"
    cloud: str = Cloud.COMMERCIAL.value
    tenant_id: str = ""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    api_url: str | None = None
    authority: str | None = None
    scope: str | None = None
    portal_url: str | None = None
    ca_bundle: str | None = None
    connectors_file: Path | None = None


def load_connectors(
    env_file: str | None = ENV_FILE, environ: Mapping[str, str] | None = None
) -> list[ConnectorSettings]:
    """The configured connectors; an empty list means "use the embedded simulator"."""
    environ = os.environ if environ is None else environ
    try:
        mde = MdeEnv(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, "MDE_")) from None
    if mde.connectors_file is not None:
        variables = {**_dotenv(env_file), **environ}
        return _connectors_from_file(mde.connectors_file, variables)
    inline = [mde.tenant_id, mde.client_id, mde.client_secret.get_secret_value()]
    if not any(inline):
        return []
    raw = mde.model_dump(exclude={"connectors_file"}, exclude_none=True)
    raw["client_secret"] = mde.client_secret
    return [_connector(raw, prefix="MDE_", where="the environment")]


def _dotenv(env_file: str | None) -> dict[str, str]:
    if not env_file or not Path(env_file).is_file():
        return {}
    return {k: v for k, v in dotenv_values(env_file).items() if v is not None}


def _connectors_from_file(path: Path, environ: Mapping[str, str]) -> list[ConnectorSettings]:
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"MDE_CONNECTORS_FILE {path}: cannot read it ({type(exc).__name__})",
            hint="point it at a readable TOML or JSON file",
        ) from None
    entries = data.get("connectors") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"MDE_CONNECTORS_FILE {path}: no [[connectors]] entries",
            hint="see .env.example for the file format",
        )
    connectors = []
    for index, entry in enumerate(entries):
        where = f"{path} connector #{index + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table of settings")
        if "client_secret" in entry:
            raise ConfigError(
                f"{where}: client_secret must not be written in a file",
                hint="name an environment variable in client_secret_env instead",
            )
        entry = dict(entry)
        secret_var = entry.pop("client_secret_env", None)
        if not isinstance(secret_var, str) or not secret_var:
            raise ConfigError(f"{where}: client_secret_env is missing")
        entry["client_secret"] = SecretStr(environ.get(secret_var, ""))
        connectors.append(_connector(entry, prefix="", where=where, secret_var=secret_var))
    aliases = [c.alias for c in connectors]
    if duplicates := sorted({a for a in aliases if aliases.count(a) > 1}):
        raise ConfigError(f"MDE_CONNECTORS_FILE {path}: duplicate alias {duplicates[0]!r}")
    return connectors


def _connector(
    raw: Mapping[str, Any], *, prefix: str, where: str, secret_var: str = ""
) -> ConnectorSettings:
    try:
        return ConnectorSettings.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "cloud"  # the model-level check
        name = secret_var if field == "client_secret" and secret_var else prefix + field.upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} ({where}): {message}") from None


# ---------------------------------------------------------------------------------- bot


Visibility = Literal["ephemeral", "in_channel"]
CsvList = Annotated[list[str], NoDecode]  # "a, b,c" in the environment


class BotSettings(BaseSettings):
    """Behaviour, logging and the HTTP port."""

    model_config = SettingsConfigDict(env_prefix="BOT_", env_file=ENV_FILE, extra="ignore")

    port: int = Field(default=3000, validation_alias="PORT", ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    # Who sees a /mde answer: only the caller (default: indicators can be sensitive) or the channel.
    response_visibility: Visibility = "ephemeral"
    # Channels whose messages are enriched automatically: "*" for every channel the bot is in.
    auto_enrich_channels: CsvList = Field(default_factory=lambda: ["*"])
    # Who may use the bot at all; empty lists mean no restriction of that kind.
    allowed_channels: CsvList = Field(default_factory=list)
    allowed_users: CsvList = Field(default_factory=list)
    allowed_usergroups: CsvList = Field(default_factory=list)
    # Enrich messages of other bots (alerting integrations), not only people's.
    enrich_bot_messages: bool = False
    # Reply to a pasted message even when MDE knows none of its indicators.
    post_when_nothing_found: bool = False
    # DNS suffixes of internal names: `ws1.corp.contoso.com` is a host name, not a domain.
    internal_domains: CsvList = Field(default_factory=list)
    max_indicators: int = Field(default=50, ge=1, le=500)
    # How long MDE answers are reused (seconds; 0 turns the cache off) and how many are kept.
    cache_ttl: float = Field(default=300.0, ge=0)
    cache_size: int = Field(default=2048, ge=1)
    # MDE's limits, counted client-side per connector: calls per "minute" and per "hour", and
    # hunting calls per "minute". The window can be shortened for load tests (60 → 6 makes
    # 100 calls per 6 s and 1,500 per 6 min); the hour is always 60 of them.
    mde_calls_per_minute: int = Field(default=100, ge=1)
    mde_calls_per_hour: int = Field(default=1500, ge=1)
    mde_hunting_calls_per_minute: int = Field(default=45, ge=1)
    mde_rate_window: float = Field(default=60.0, gt=0)
    mde_call_timeout: float = Field(default=20.0, gt=0)  # seconds per MDE call

    @classmethod
    def embedded(cls) -> BotSettings:
        """The defaults alone, whatever the environment says: what `mde-bot demo` runs on."""
        return cls.model_construct()

    def enriches(self, channel: object) -> bool:
        """Whether messages in `channel` are enriched automatically."""
        allowed = self.auto_enrich_channels
        return "*" in allowed or (isinstance(channel, str) and channel in allowed)

    @field_validator(
        "auto_enrich_channels",
        "allowed_channels",
        "allowed_users",
        "allowed_usergroups",
        "internal_domains",
        mode="before",
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level


def load_slack_settings(env_file: str | None = ENV_FILE) -> SlackSettings:
    try:
        return SlackSettings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, "SLACK_")) from None


def load_bot_settings(env_file: str | None = ENV_FILE) -> BotSettings:
    try:
        return BotSettings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, "BOT_")) from None


_HINTS = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "copy the Signing Secret from Basic Information",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-…) with connections:write, or unset it",
}


def _one_line(exc: ValidationError, prefix: str) -> str:
    """The first error of a settings model as 'VARIABLE: what is wrong — how to fix it'."""
    error = exc.errors()[0]
    loc = error["loc"][0] if error["loc"] else "?"
    name = "PORT" if loc == "PORT" else prefix + str(loc).upper()
    problem = "is missing" if error["type"] == "missing" else str(error["msg"])
    problem = problem.removeprefix("Value error, ")
    hint = _HINTS.get(name, "see .env.example")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{name} {problem}{more} — {hint}"
