"""`/mde <text>`: extract the indicators, look them up, answer with cards."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import render
from bot.runtime import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/mde")
    @services.inflight.tracked
    async def mde(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        enrichment = services.enrichment
        extraction = await enrichment.extract(str(command.get("text", "")))
        if not extraction.indicators:
            await ack(text=render.HELP_TEXT)
            return
        await ack(text=render.progress_text(len(extraction.indicators), len(enrichment.aliases)))
        report = await enrichment.lookup(extraction)
        message = render.report_message(report)
        await respond(
            text=message.text,
            blocks=message.blocks,
            response_type=services.settings.response_visibility,
        )
