"""`/mde`: ack at once, show progress, then the answer. Parsing is `bot.enrichment.commands`;
what users see on failure is decided by the app's one error handler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.enrichment.commands import Command, Verb, parse_command
from bot.indicators import Extraction
from bot.render import Message
from bot.slack.payloads import Audience, acting_user, command_audience
from bot.slack.services import Services
from handlers.middleware import authorized


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/mde", middleware=[authorized(services)])
    async def mde(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            parsed = parse_command(str(body.get("text", "")))
            shared = parsed.verb not in {Verb.HELP, Verb.CHECK}
            visibility = services.settings.response_visibility if shared else "ephemeral"
            audience = command_audience(body, private=visibility == "ephemeral")
            message = await answer(parsed, services, body, audience)
            await services.replies.respond(body, message, response_type=visibility)


async def answer(
    command: Command, services: Services, body: dict[str, Any], audience: Audience
) -> Message:
    enrichment = services.enrichment
    tenants = command.tenants
    if command.verb is Verb.HELP:
        return render.help_message()
    if command.verb is Verb.CHECK:
        return render.check_message(await enrichment.check(tenants))
    if command.verb in {Verb.ALERTS, Verb.DEVICE}:
        report = await enrichment.device_report(command.argument, tenants=tenants)
        if command.verb is Verb.DEVICE:
            return render.device_details_message(report, respond=services.actions.enabled)
        return await services.answer(report, audience, by=acting_user(body), expand=True)
    extraction = (
        Extraction((command.indicator,))
        if command.indicator is not None
        else await enrichment.extract(command.argument)
    )
    return await look_up(
        extraction, services, body, audience, tenants=command.tenants, at=command.at
    )


async def look_up(
    extraction: Extraction,
    services: Services,
    body: dict[str, Any],
    audience: Audience,
    *,
    tenants: tuple[str, ...] = (),
    at: datetime | None = None,
) -> Message:
    """The answer for the indicators of `extraction`, for the person `body` names: a progress
    note on the request's response_url first; a note instead when MDE's call budget cannot
    serve them in time."""
    if not extraction.indicators:
        return render.nothing_to_look_up_message()
    enrichment = services.enrichment
    admission = enrichment.admit(extraction, services.admission_horizon, tenants)
    if admission.refused:
        return render.busy_message(admission.deferred)
    with admission.booked():
        indicators = admission.extraction.indicators
        progress = render.progress_message(
            len(indicators), len(enrichment.clients(tenants)), admission.wait
        )
        await services.replies.note(body, progress)
        report = await enrichment.lookup(
            admission.extraction, tenants=tenants, at=at, deferred=admission.deferred
        )
    return await services.answer(report, audience, by=acting_user(body))
