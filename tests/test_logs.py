"""Logs never carry a secret: not in fields, not nested, not in exception text or tracebacks,
from our loggers or the standard library's (Bolt, slack_sdk, aiohttp)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import logs

SLACK_TOKEN = "xoxb-1234567890-0987654321-abcdefabcdefabcdef"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FwaSJ9.c2lnbmF0dXJlLXZhbHVl"
RESPONSE_URL = "https://hooks.slack.com/commands/T0INCIDENT/1234/abcdefSECRETPART"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("INFO", "json", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


def test_fields_nested_values_and_tracebacks_are_redacted(output: io.StringIO) -> None:
    log = logs.get_logger("test")
    log.info("call", headers={"Authorization": f"Bearer {JWT}"}, urls=[RESPONSE_URL])
    try:
        raise RuntimeError(f"request failed with Bearer {JWT} and {SLACK_TOKEN}")
    except RuntimeError:
        log.exception("failed", client_secret="s3cr3t-value")
        logging.getLogger("slack_bolt").exception("bolt saw %s", SLACK_TOKEN)
    written = output.getvalue()
    for secret in (SLACK_TOKEN, JWT, "SECRETPART", "s3cr3t-value"):
        assert secret not in written
    assert "RuntimeError: request failed with [redacted] and [redacted]" in written
    assert '"event": "bolt saw [redacted]"' in written
    assert '"headers": {"Authorization": "[redacted]"}' in written
