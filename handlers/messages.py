"""Auto-enrichment: one threaded reply per new message that carries indicators."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.runtime import Services
from bot.slack_payloads import is_retry, thread_ts


def register(app: AsyncApp, services: Services) -> None:
    @app.message()
    @services.inflight.tracked
    async def enrich(
        message: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient
    ) -> None:
        if is_retry(request.headers) or not services.settings.enriches(message.get("channel")):
            return
        extraction = await services.enrichment.extract(str(message.get("text", "")))
        if not extraction.indicators:
            return
        report = await services.enrichment.lookup(extraction)
        reply = render.report_message(report)
        await client.chat_postMessage(
            channel=str(message["channel"]),
            thread_ts=thread_ts(message),
            text=reply.text,
            blocks=reply.blocks,
        )

    @app.event("message")
    async def ignore_other_message_events() -> None:
        """Edits, deletions, joins and the like: acknowledged, never answered."""
