"""Answers to Slack: posted once, and posted at all.

Two ways out, both through the process's one aiohttp session:
- `respond`: to a request's `response_url`, with slack_sdk's `AsyncWebhookClient`, only ever to
  Slack's own host (or the configured stand-in's): the URL comes from a verified request, and
  checking it costs nothing;
- `post`: `chat.postMessage` into a thread, marked with a unique id in the message's metadata.

**Once.** The one retry policy (`bot.retry`; the Web API client uses it too) retries a request
that never left (the connection could not be made) and a 429 after its Retry-After (30 s at
most); never one whose delivery is unknown (a timeout, or a connection dropped after sending),
which Slack may have taken. For a thread post, an unknown
outcome is settled by looking for the post's id in the thread (`conversations.replies`) before
posting again; for a response URL, which cannot be read back, it is left at that (and logged).

**At all.** When Slack refuses a message for its content (`invalid_blocks`,
`msg_blocks_too_long`, …), a smaller one is posted instead: the message's own `smaller` form (a
summary with links), or else its text alone.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import ReplyError
from bot.logs import get_logger
from bot.render import Message
from bot.retry import slack_retry_handlers

log = get_logger(__name__)

SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})
TIMEOUT = 10.0  # seconds for a response_url post, retries included
# What Slack says when it will not show a message as built; a smaller one may pass.
CONTENT_REFUSALS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "invalid_attachments",
        "too_many_attachments",
    }
)
ANSWER_EVENT = "mde_answer"  # the metadata event type that marks the bot's thread posts

Visibility = Literal["ephemeral", "in_channel"]


def forms(message: Message) -> list[Message]:
    """What to try, in order, while Slack refuses the content: the message, its smaller forms
    (a summary with links), and last its notification text alone."""
    tried = [message]
    while (smaller := tried[-1].smaller) is not None:
        tried.append(smaller)
    return [*tried, Message(message.text, [])]


def _payload(message: Message, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": message.text, **extra}
    if message.blocks:
        payload["blocks"] = message.blocks
    return payload


def slack_error(error: SlackApiError) -> str:
    response = error.response
    data = response.data if response is not None else {}
    return str(data.get("error", "")) if isinstance(data, dict) else ""


class Replies:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        hosts: frozenset[str] = SLACK_RESPONSE_HOSTS,
        timeout: float = TIMEOUT,
    ) -> None:
        self._session = session
        self._hosts = hosts
        self._timeout = timeout

    # ------------------------------------------------------------------ response URLs

    def _url(self, body: Mapping[str, Any]) -> str:
        url = str(body.get("response_url") or "")
        if not response_url_allowed(url, self._hosts):
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
        """Post `message` to the request's response_url (a smaller one if Slack refuses it)."""
        url = self._url(body)
        options = {"response_type": response_type, "replace_original": replace_original}
        for form in forms(message):
            status, refusal = await self._send(url, _payload(form, **options))
            if 200 <= status < 300:
                return
            if status != 400 or refusal.strip() not in CONTENT_REFUSALS:
                break
            log.warning("answer_refused", error=refusal.strip(), via="response_url")
        raise ReplyError(f"Slack refused the answer ({status})")

    async def note(self, body: Mapping[str, Any], message: Message) -> None:
        """A progress note ("Looking up…"): best effort. The answer that follows does not
        depend on it, so a failure is logged, not raised."""
        try:
            await self.respond(body, message)
        except ReplyError as exc:
            log.warning("progress_not_shown", reason=exc.message)

    async def _send(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        webhook = AsyncWebhookClient(
            url, session=self._session, retry_handlers=slack_retry_handlers()
        )
        try:
            async with asyncio.timeout(self._timeout):
                response = await webhook.send_dict(payload)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Sent but not confirmed (or never sent, after the retries): Slack may have taken
            # it, so it is not sent again.
            log.warning("response_url_unconfirmed", error=type(exc).__name__)
            raise ReplyError("Slack did not confirm the answer") from None
        return response.status_code, str(response.body or "")

    # ------------------------------------------------------------------ thread posts

    async def post(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        message: Message,
    ) -> None:
        """`message` in the thread of `thread_ts`, once (a smaller one if Slack refuses it)."""
        *first, last = forms(message)
        for form in first:
            try:
                await self._post_once(client, channel, thread_ts, form)
                return
            except SlackApiError as exc:
                if slack_error(exc) not in CONTENT_REFUSALS:
                    raise
                log.warning("answer_refused", error=slack_error(exc), via="chat.postMessage")
        await self._post_once(client, channel, thread_ts, last)

    async def _post_once(
        self, client: AsyncWebClient, channel: str, thread_ts: str, message: Message
    ) -> None:
        marker = secrets.token_hex(8)
        metadata = {"event_type": ANSWER_EVENT, "event_payload": {"id": marker}}
        for attempt in (1, 2):
            try:
                await client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                    **_payload(message),
                )
                return
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("post_unconfirmed", error=type(exc).__name__, attempt=attempt)
                if await self._posted(client, channel, thread_ts, marker):
                    return
        raise ReplyError("Slack did not take the answer")

    async def _posted(
        self, client: AsyncWebClient, channel: str, thread_ts: str, marker: str
    ) -> bool:
        """Whether the post marked `marker` is in the thread. When Slack cannot tell, it is
        taken as posted: an answer missing is better than an answer twice, and it is logged."""
        try:
            replies = await client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("post_check_failed", error=type(exc).__name__)
            return True
        for reply in replies.get("messages") or []:
            metadata = reply.get("metadata") or {}
            if (metadata.get("event_payload") or {}).get("id") == marker:
                return True
        return False


def response_url_allowed(url: str, hosts: frozenset[str]) -> bool:
    """Only Slack's own host over https (or a configured stand-in's) gets our answers."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.hostname not in hosts or parts.scheme not in {"https", "http"}:
        return False
    return not (parts.scheme == "http" and parts.hostname in SLACK_RESPONSE_HOSTS)
