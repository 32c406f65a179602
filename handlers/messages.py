"""Auto-enrichment: one threaded reply per new message that carries indicators."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.logs import get_logger
from bot.mde.limits import Priority
from bot.render import Message
from bot.slack.access import home_team
from bot.slack.handover import handed_over_if_lost
from bot.slack.payloads import (
    Audience,
    delivery_keys,
    is_bot_message,
    message_text,
    requester_teams,
    thread_ts,
)
from bot.slack.services import Services

log = get_logger(__name__)

NEW_MESSAGE_SUBTYPES = (None, "bot_message", "thread_broadcast", "file_share")


def register(app: AsyncApp, services: Services) -> None:
    # New messages only, as `app.message()` selects them, but without its keyword matcher: that
    # one skips messages with empty text, and alerting bots put everything in attachments.
    @app.event({"type": "message", "subtype": NEW_MESSAGE_SUBTYPES})
    async def enrich(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        if await wanted(event, body, services, home_team(context)):
            key = delivery_keys(body, event)[0]
            async with handed_over_if_lost(services.pending, key, "message", event):
                await enrich_once(event, body, services, client)

    async def resume(event: dict[str, Any], client: AsyncWebClient) -> None:
        """A message another replica acknowledged and could not answer (it died)."""
        await enrich_once(event, {"event": event}, services, client)

    services.resumers["message"] = resume

    @app.event("message")
    async def ignore_other_message_events() -> None:
        """Edits, deletions, joins and the like: acknowledged, never answered."""


async def enrich_once(
    event: dict[str, Any], body: dict[str, Any], services: Services, client: AsyncWebClient
) -> None:
    async with services.work(body, client, after_ack=False, priority=Priority.AUTO):
        await reply(event, services, client)


async def reply(message: dict[str, Any], services: Services, client: AsyncWebClient) -> None:
    """One threaded reply covering every indicator of the message, or none at all."""
    enrichment = services.enrichment
    extraction = await enrichment.extract(message_text(message))
    if not extraction.indicators or not await allowed(message, services, client):
        return
    channel = str(message["channel"])
    admission = enrichment.admit(extraction, services.admission_horizon)
    if admission.refused:
        # Said once per channel in a while: a flood of pastes gets one note, not one each.
        if services.busy_notes.allow(channel):
            await post(services, client, message, render.busy_message(admission.deferred))
        return
    with admission.booked():
        report = await enrichment.lookup(admission.extraction, deferred=admission.deferred)
    if not (report.worth_posting or services.settings.post_when_nothing_found):
        return
    answer = await services.answer(report, Audience(channel), by=message.get("user"))
    await post(services, client, message, answer)


async def post(
    services: Services, client: AsyncWebClient, message: dict[str, Any], answer: Message
) -> None:
    """`answer` in the message's thread."""
    await services.replies.post(
        client, channel=str(message["channel"]), thread_ts=thread_ts(message), message=answer
    )


async def allowed(message: dict[str, Any], services: Services, client: AsyncWebClient) -> bool:
    """Whoever a message names as its author must be an allowed user in an allowed channel: a
    bot's post that carries a person's `user` id is that person's (a refused user must not get
    answers through an integration that posts on their behalf). A bot's post without one
    (enriched only when configured) is checked by channel alone."""
    channel, user = message.get("channel"), message.get("user")
    if is_bot_message(message) and not user:
        return services.access.channel_allowed(channel)
    return await services.access.allows(client, user, channel)


async def wanted(
    message: dict[str, Any], body: dict[str, Any], services: Services, home: str | None
) -> bool:
    """A new message, in an enriched channel, from a person of a served workspace (or a bot, if
    configured; only top-level posts, so two bots can never answer each other in a thread),
    seen for the first time. Slack's retries and duplicate deliveries are dropped by event id
    and (channel, ts), not by the retry header: a retry of a delivery we never received must
    still be answered."""
    settings = services.settings
    if not settings.enriches(message.get("channel")):
        return False
    if not services.access.teams_allowed(requester_teams(body), home):
        return False
    if is_bot_message(message) and (
        not settings.enrich_bot_messages
        or message.get("thread_ts") not in (None, message.get("ts"))
    ):
        return False
    if await services.seen.first(*delivery_keys(body, message)):
        return True
    services.metrics.duplicates.labels(kind="event").inc()
    log.info("delivery_dropped", reason="already handled", event_id=body.get("event_id"))
    return False
