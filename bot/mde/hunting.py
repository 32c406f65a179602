"""The advanced hunting queries the bot sends, as templates with one placeholder each.

Only values that passed validation are substituted, and they are escaped as KQL string literals
besides. The simulator recognises exactly these templates (`match`), so what it answers is what
the bot asks.
"""

from __future__ import annotations

import re
from enum import StrEnum

LOOKBACK = "30d"  # hunting keeps 30 days of data


class Hunt(StrEnum):
    EXTERNAL_IP_DEVICES = (
        "DeviceInfo | where Timestamp > ago(30d) | where PublicIP == {value} "
        "| summarize arg_max(Timestamp, *) by DeviceId "
        "| project DeviceId, DeviceName, PublicIP, Timestamp | take 50"
    )
    MD5_FILES = (
        "DeviceFileEvents | where Timestamp > ago(30d) | where MD5 == {value} "
        "| summarize arg_max(Timestamp, *) by SHA1 "
        "| project SHA1, SHA256, MD5, FileName, FolderPath, DeviceId, DeviceName, Timestamp "
        "| take 20"
    )
    FILE_NAME_ALERTS = (
        'AlertEvidence | where Timestamp > ago(30d) | where EntityType in ("File", "Process") '
        "and FileName =~ {value} | summarize arg_max(Timestamp, *) by AlertId "
        "| project AlertId, DeviceId, DeviceName, FileName, FolderPath, SHA1, SHA256, Timestamp "
        "| take 50"
    )


def kql_string(value: str) -> str:
    """A KQL string literal: double-quoted, backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(hunt: Hunt, value: str) -> str:
    return hunt.value.replace("{value}", kql_string(value))


_LITERAL = r'"((?:[^"\\]|\\.)*)"'
_PATTERNS = {
    hunt: re.compile("^" + re.escape(hunt.value).replace(re.escape("{value}"), _LITERAL) + "$")
    for hunt in Hunt
}


def match(query: str) -> tuple[Hunt, str] | None:
    """Which template `query` was rendered from, and the value substituted (unescaped)."""
    for hunt, pattern in _PATTERNS.items():
        if found := pattern.match(query.strip()):
            return hunt, re.sub(r"\\(.)", r"\1", found.group(1))
    return None
