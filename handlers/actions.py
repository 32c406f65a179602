"""Buttons on the cards. Each click is re-authorized (middleware) and its value parsed back into
a typed payload; nothing in a value is trusted beyond being an id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import render
from bot.buttons import ActionId, DeviceRef, ReportRef, decode
from bot.errors import InputError
from bot.export import ocsf_export
from bot.render import Message
from bot.results import Report
from bot.runtime import Services
from bot.slack_payloads import (
    action_value,
    click_channel,
    click_is_private,
    click_thread,
    clicker,
)
from handlers.middleware import authorized

View = Callable[[Services, Report], Message]

# Buttons that answer the clicker with a view of the card's device, freshly looked up.
DEVICE_VIEWS: dict[ActionId, View] = {
    ActionId.DEVICE_ALERTS: lambda services, report: render.report_message(
        report, report_id=services.remember(report), expand=True
    ),
    ActionId.DEVICE_DETAILS: lambda _, report: render.device_details_message(report),
}


async def clicked_device(services: Services, body: dict[str, Any]) -> Report:
    """The device a card's button names, looked up again in the tenant it names."""
    ref = decode(DeviceRef, action_value(body))
    return await services.enrichment.device_report(ref.d, tenants=[ref.c])


def device_view(services: Services, view: View) -> Callable[..., Awaitable[None]]:
    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            message = view(services, await clicked_device(services, body))
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
            report = services.reports.get(decode(ReportRef, action_value(body)).r)
            if report is None:
                raise InputError("this card has expired", hint="paste the indicators again")
            message = render.report_message(report, expand=True)
            await services.replies.respond(body, message)

    @app.action(ActionId.DEVICE_OCSF.value, middleware=guard)
    async def device_ocsf(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
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

    @app.action(ActionId.OPEN_PORTAL.value)
    async def open_portal(ack: AsyncAck) -> None:
        """A link button: the browser opens it; Slack still tells us, so acknowledge."""
        await ack()
