"""BOT_* (and PORT): behaviour, access, limits, logging."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings.common import ENV_FILE, one_line

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
    # Where the "Look up in MDE" message shortcut answers: in the message's thread (privately
    # where the bot is not a member) or only to the person who asked.
    shortcut_reply: Literal["thread", "private"] = "thread"
    # Channels whose messages are enriched automatically: "*" for every channel the bot is in.
    auto_enrich_channels: CsvList = Field(default_factory=lambda: ["*"])
    # Who may use the bot at all; empty lists mean no restriction of that kind.
    allowed_channels: CsvList = Field(default_factory=list)
    allowed_users: CsvList = Field(default_factory=list)
    allowed_usergroups: CsvList = Field(default_factory=list)
    # Workspaces served besides the one the bot is installed in (team ids, T…). People of any
    # other workspace (Slack Connect guests, a foreign team_id) are not answered.
    allowed_teams: CsvList = Field(default_factory=list)
    # Enrich messages of other bots (alerting integrations), not only people's.
    enrich_bot_messages: bool = False
    # Reply to a pasted message even when MDE knows none of its indicators.
    post_when_nothing_found: bool = False
    # DNS suffixes of internal names: `ws1.corp.contoso.com` is a host name, not a domain.
    internal_domains: CsvList = Field(default_factory=list)
    max_indicators: int = Field(default=50, ge=1, le=500)
    # How long MDE answers are reused (seconds; 0 turns the cache off) and how much memory they
    # may take, per connector (MB, by their size on the wire times what parsing adds).
    cache_ttl: float = Field(default=300.0, ge=0)
    cache_mb: float = Field(default=64.0, gt=0)
    # MDE's limits, counted client-side per connector: calls per "minute" and per "hour", and
    # hunting calls per "minute". The window can be shortened for load tests (60 → 6 makes
    # 100 calls per 6 s and 1,500 per 6 min); the hour is always 60 of them.
    mde_calls_per_minute: int = Field(default=100, ge=1)
    mde_calls_per_hour: int = Field(default=1500, ge=1)
    mde_hunting_calls_per_minute: int = Field(default=45, ge=1)
    mde_rate_window: float = Field(default=60.0, gt=0)
    mde_call_timeout: float = Field(default=20.0, gt=0)  # seconds per MDE call
    # Response actions (isolate, scan, collect, triage, block): off until configured; dry-run
    # does everything but the write to MDE. Who may ask for each class of action: Slack user
    # ids (U…) and user group ids (S…); BOT_RESPONDERS counts for every class.
    actions: Literal["off", "dry-run", "on"] = "off"
    responders: CsvList = Field(default_factory=list)
    responders_contain: CsvList = Field(default_factory=list)
    responders_collect: CsvList = Field(default_factory=list)
    responders_triage: CsvList = Field(default_factory=list)
    responders_block: CsvList = Field(default_factory=list)
    # Which requests wait for a second responder (`bot.actions.policy`): an action or a class,
    # and the devices it applies to (tag=NAME, group=NAME, server, or * for all).
    approval_required: CsvList = Field(
        default_factory=lambda: ["contain:tag=Tier0", "contain:server", "block"]
    )
    approval_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    # Seconds before a submitted action's status is first read (then less and less often).
    action_poll_seconds: float = Field(default=5.0, gt=0, le=600)
    indicator_expiry_days: int = Field(default=30, ge=1, le=365)
    # The HTTP server: seconds a connection may take to send a request's headers (and may stay
    # idle between requests), and how many connections it holds at once.
    http_header_timeout: float = Field(default=15.0, gt=0)
    http_max_connections: int = Field(default=256, ge=1)

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
        "allowed_teams",
        "internal_domains",
        "responders",
        "responders_contain",
        "responders_collect",
        "responders_triage",
        "responders_block",
        "approval_required",
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


def load_bot_settings(env_file: str | None = ENV_FILE) -> BotSettings:
    try:
        return BotSettings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, "BOT_")) from None
