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
    logs.configure("INFO", "json", stream=stream, cache=False)
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


def test_control_characters_cannot_forge_a_console_line() -> None:
    """Before: a value carrying CR/LF and ANSI escapes (a user's text, an MDE field) printed as
    a line of its own on the console: `x\\n2026-11-30 [error] admin_logged_in` read as a genuine
    error line, and `\\x1b[2J` cleared the operator's terminal."""
    stream = io.StringIO()
    logs.configure("INFO", "console", stream=stream, cache=False)
    try:
        forged = "x\r\n2026-11-30 09:00:00 [error    ] admin_logged_in\x1b[2J\x85"
        logs.get_logger("test").info("lookup", text=forged)
        logging.getLogger("slack_bolt").info("bolt saw %s", forged)
    finally:
        logging.getLogger().handlers.clear()
    written = stream.getvalue()
    lines = written.splitlines()
    assert len(lines) == 2
    assert all("admin_logged_in" in line for line in lines)
    assert "\x1b[2J" not in written
    assert "\x85" not in written
    assert "bolt saw x\\r\\n2026-11-30 09:00:00 [error    ] admin_logged_in\\x1b[2J" in lines[1]


def test_a_percent_encoded_response_url_is_redacted(output: io.StringIO) -> None:
    """Before: `https%3A%2F%2Fhooks.slack.com%2F…` (a response_url inside a form body) was logged
    as it came, while the plain form was masked."""
    encoded = "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0%2F1%2FSECRETPART"
    logs.get_logger("test").info("seen", body=encoded)
    assert "SECRETPART" not in output.getvalue()
    assert "response_url=[redacted]" in output.getvalue()
