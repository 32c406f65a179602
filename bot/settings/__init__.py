"""Settings, validated once at start-up and passed down; nothing else reads the environment.

Three groups, loaded separately so that each command asks only for what it needs:
`SlackSettings` (SLACK_*), the MDE connectors (MDE_* or a connectors file) and `BotSettings`
(behaviour, logging, port). Every failure becomes one `ConfigError` line that names the
variable and says how to fix it.
"""

from __future__ import annotations

from bot.settings.behaviour import BotSettings, Visibility, load_bot_settings
from bot.settings.common import ENV_FILE, looks_like_placeholder
from bot.settings.connectors import (
    CLOUD_PRESETS,
    Cloud,
    CloudPreset,
    ConnectorSettings,
    MdeEnv,
    load_connectors,
)
from bot.settings.slack import SlackSettings, load_slack_settings

__all__ = [
    "CLOUD_PRESETS",
    "ENV_FILE",
    "BotSettings",
    "Cloud",
    "CloudPreset",
    "ConnectorSettings",
    "MdeEnv",
    "SlackSettings",
    "Visibility",
    "load_bot_settings",
    "load_connectors",
    "load_slack_settings",
    "looks_like_placeholder",
]
