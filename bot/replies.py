"""Answers to a request's `response_url`, through the process's one aiohttp session.

Bolt's own `respond()` opens a new HTTP session (and connection) for every post; under a burst
of commands that cost dominated the loop. This posts with the shared session, keeps the
connection alive, and only ever posts to Slack's own host (or the configured stand-in's): the
URL comes from a verified request, and checking it costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

from bot.errors import BotError
from bot.logs import get_logger
from bot.render import Message

log = get_logger(__name__)

SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})
ATTEMPTS = 3  # a 429 or 5xx is retried, after Retry-After when Slack gives one
TIMEOUT = 10.0
MAX_WAIT = 30.0  # seconds: a longer Retry-After is not waited out, the answer is reported lost

Visibility = Literal["ephemeral", "in_channel"]


class ReplyError(BotError):
    """The answer could not be delivered to Slack."""


class Replies:
    def __init__(
        self, session: aiohttp.ClientSession, *, hosts: frozenset[str] = SLACK_RESPONSE_HOSTS
    ) -> None:
        self._session = session
        self._hosts = hosts

    def _url(self, body: Mapping[str, Any]) -> str:
        url = str(body.get("response_url") or "")
        parts = urlsplit(url)
        if parts.hostname not in self._hosts or parts.scheme not in {"https", "http"}:
            raise ReplyError("this request carries no Slack response URL")
        if parts.scheme == "http" and parts.hostname in SLACK_RESPONSE_HOSTS:
            raise ReplyError("this request carries no Slack response URL")
        return url

    async def respond(
        self,
        body: Mapping[str, Any],
        message: Message,
        *,
        response_type: Visibility = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        """Post `message` to the request's response_url."""
        payload = {
            **message.as_response(),
            "response_type": response_type,
            "replace_original": replace_original,
        }
        url = self._url(body)
        for attempt in range(1, ATTEMPTS + 1):
            status, retry_after = await self._post(url, payload)
            if 200 <= status < 300:
                return
            if status and status != 429 and status < 500:
                raise ReplyError(f"Slack refused the answer ({status})")
            if attempt < ATTEMPTS:
                await asyncio.sleep(min(retry_after or attempt, MAX_WAIT))
        raise ReplyError("Slack did not take the answer")

    async def _post(self, url: str, payload: Mapping[str, Any]) -> tuple[int, float]:
        """(status, Retry-After seconds); status 0 when the post did not get through."""
        try:
            async with (
                asyncio.timeout(TIMEOUT),
                self._session.post(url, json=payload) as response,
            ):
                await response.read()
                retry_after = response.headers.get("Retry-After", "")
                return response.status, float(retry_after) if retry_after.isdigit() else 0.0
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url_failed", error=type(exc).__name__)
            return 0, 0.0
