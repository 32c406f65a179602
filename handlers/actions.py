"""Buttons on the cards. Each click is re-authorized (middleware) and its value parsed back into
a typed payload; nothing in a value is trusted beyond being an id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.enrichment.export import ocsf_export
from bot.enrichment.results import Report
from bot.errors import InputError
from bot.render import Message
from bot.slack.buttons import ActionId, DeviceRef, ReportRef, decode
from bot.slack.payloads import (
    Audience,
    action_value,
    click_audience,
    click_card,
    click_channel,
    click_is_private,
    click_thread,
    clicker,
)
from bot.slack.services import Services
from handlers.middleware import authorized

View = Callable[[Services, Report, Audience], Message]

# Buttons that answer the clicker with a view of the card's device, freshly looked up.
DEVICE_VIEWS: dict[ActionId, View] = {
    ActionId.DEVICE_ALERTS: lambda services, report, audience: render.report_message(
        report, report_id=services.remember(report, audience), expand=True
    ),
    ActionId.DEVICE_DETAILS: lambda _, report, __: render.device_details_message(report),
}


async def clicked_device(services: Services, body: dict[str, Any]) -> Report:
    """The device a card's button names, looked up again in the tenant it names."""
    ref = decode(DeviceRef, action_value(body))
    return await services.enrichment.device_report(ref.d, tenants=[ref.c])


def device_view(services: Services, view: View) -> Callable[..., Awaitable[None]]:
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            report = await clicked_device(services, body)
            message = view(services, report, click_audience(body))
            await services.replies.respond(body, message)

    return listener


def register(app: AsyncApp, services: Services) -> None:
    guard = [authorized(services)]

    for action_id, view in DEVICE_VIEWS.items():
        app.action(action_id.value, middleware=guard)(device_view(services, view))

    @app.action(ActionId.SHOW_ALL.value, middleware=guard)
    async def show_all(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            ref = decode(ReportRef, action_value(body))
            report = services.recall(ref.r, channel=click_channel(body), user=clicker(body))
            message = render.report_message(report, expand=True)
            await services.replies.respond(body, message)

    @app.action(ActionId.DEVICE_OCSF.value, middleware=guard)
    async def device_ocsf(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            upload = claim_upload(services, body)
            try:
                await upload_ocsf(services, body, client)
            except BaseException:
                services.uploads.forget(upload)  # not posted: the next click may try again
                raise

    @app.action(ActionId.OPEN_PORTAL.value)
    async def open_portal(ack: AsyncAck) -> None:
        """A link button: the browser opens it; Slack still tells us, so acknowledge."""
        await ack()


def claim_upload(services: Services, body: dict[str, Any]) -> tuple[str | None, ...]:
    """One OCSF file per card and device, and a few per user in a while: a second click on the
    same card points at the first file instead of uploading another. Returns the card's key."""
    ref = decode(DeviceRef, action_value(body))
    key = (click_channel(body), click_card(body), ref.c, ref.d)
    if key in services.uploads:
        where = "your direct messages with me" if click_is_private(body) else "this card's thread"
        raise InputError("the OCSF file for this device is already posted", hint=f"see {where}")
    if not services.upload_quota.allow(clicker(body)):
        raise InputError(
            "you have asked for several OCSF files in the last minutes",
            hint="try again in a few minutes",
        )
    services.uploads.first(key)
    return key


async def upload_ocsf(services: Services, body: dict[str, Any], client: AsyncWebClient) -> None:
    """The device's events as a file: in the card's thread, or the clicker's DMs for a private
    card."""
    export = ocsf_export(await clicked_device(services, body))
    channel, thread = click_channel(body), click_thread(body)
    if click_is_private(body):  # the card was the clicker's alone: so is the file
        opened = await client.conversations_open(users=clicker(body))
        channel, thread = str(opened["channel"]["id"]), None
    if channel is None:
        raise InputError("there is no channel to upload the OCSF file to")
    await client.files_upload_v2(
        channel=channel,
        thread_ts=thread,
        filename=export.filename,
        title=export.title,
        content=export.content,
        initial_comment=export.comment,
    )
    if click_is_private(body):
        await services.replies.respond(body, render.private_file_message())
