"""The MDE connectors: one tenant from MDE_*, or several from a TOML/JSON file whose secrets
come from the environment; clouds and their endpoints; validation before anything connects."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings.common import ENV_FILE, looks_like_placeholder, one_line

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^(?=.{4,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


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


# Hosts from Microsoft's API and US Government pages (docs/mde-api.md §1). The
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
        raise ConfigError(one_line(exc, "MDE_")) from None
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
