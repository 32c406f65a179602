"""PURE: small helpers that read Slack payloads, so listeners never chain `body["a"]["b"]`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def is_retry(headers: Mapping[str, Sequence[str]]) -> bool:
    """Slack redelivers with X-Slack-Retry-Num; the first delivery already reached us."""
    return bool(headers.get("x-slack-retry-num"))


def thread_ts(message: Mapping[str, Any]) -> str:
    """Reply in the message's thread, or start one under it."""
    return str(message.get("thread_ts") or message["ts"])
