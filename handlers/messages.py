"""Auto-enrichment: one threaded reply per new message that carries indicators."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.runtime import Services
from bot.slack_payloads import delivery_keys, is_bot_message, is_retry, message_text, thread_ts


def register(app: AsyncApp, services: Services) -> None:
    @app.message()
    async def enrich(
        message: dict[str, Any],
        body: dict[str, Any],
        request: AsyncBoltRequest,
        client: AsyncWebClient,
    ) -> None:
        if wanted(message, body, request, services):
            async with services.work(body, None, client):
                await reply(message, services, client)

    @app.event("message")
    async def ignore_other_message_events() -> None:
        """Edits, deletions, joins and the like: acknowledged, never answered."""


async def reply(message: dict[str, Any], services: Services, client: AsyncWebClient) -> None:
    """One threaded reply covering every indicator of the message, or none at all."""
    extraction = await services.enrichment.extract(message_text(message))
    user = message.get("user")
    if not extraction.indicators or (
        not is_bot_message(message)
        and not await services.access.allows(client, user, message.get("channel"))
    ):
        return
    report = await services.enrichment.lookup(extraction)
    if not (report.found_anything or report.problems or services.settings.post_when_nothing_found):
        return
    answer = render.report_message(report, report_id=services.remember(report))
    await client.chat_postMessage(
        channel=str(message["channel"]),
        thread_ts=thread_ts(message),
        text=answer.text,
        blocks=answer.blocks,
        unfurl_links=False,
        unfurl_media=False,
    )


def wanted(
    message: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest, services: Services
) -> bool:
    """A new message, in an enriched channel, from a person (or a bot, if configured; only
    top-level posts, so two bots can never answer each other in a thread), seen for the first
    time (Slack's retries and duplicate deliveries are dropped)."""
    settings = services.settings
    if is_retry(request.headers) or not settings.enriches(message.get("channel")):
        return False
    if is_bot_message(message) and (
        not settings.enrich_bot_messages
        or message.get("thread_ts") not in (None, message.get("ts"))
    ):
        return False
    return services.seen.first(*delivery_keys(body, message))
