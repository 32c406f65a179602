"""Buttons and menus on the cards. Each click is re-authorized (middleware) and its value
parsed into a typed payload; nothing in a value is trusted beyond being an id."""

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
from bot.slack.buttons import ActionId, DeviceChoice, DeviceRef, ReportRef, decode
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
from handlers.respond import open_form

View = Callable[[Services, Report, Audience, str | None], Awaitable[Message]]


async def _device_alerts(
    services: Services, report: Report, audience: Audience, by: str | None
) -> Message:
    return await services.answer(report, audience, by=by, expand=True)


async def _device_details(
    services: Services, report: Report, _: Audience, __: str | None
) -> Message:
    return render.device_details_message(report, respond=services.actions.enabled)


# What a device card offers, freshly looked up: a view of the device answered to the clicker.
DEVICE_VIEWS: dict[ActionId, View] = {
    ActionId.DEVICE_ALERTS: _device_alerts,
    ActionId.DEVICE_DETAILS: _device_details,
}


async def on_device(
    services: Services,
    body: dict[str, Any],
    client: AsyncWebClient,
    choose: Callable[[str], DeviceChoice],
) -> None:
    """One choice of a device card (its menu, or a button on a card an earlier version
    posted; `choose` reads which from the click's value): the device is looked up again in the
    tenant the card names."""
    async with services.work(body, client):
        choice = choose(action_value(body))
        if choice.a is ActionId.OPEN_PORTAL:
            return  # a link: the browser opened it
        if choice.a is ActionId.RESPOND:
            await open_form(services, body, client, choice)
            return
        if choice.a is ActionId.DEVICE_OCSF:
            await post_ocsf(services, body, client, choice)
            return
        view = DEVICE_VIEWS.get(choice.a)
        if view is None:
            raise InputError("this menu is not valid any more", hint="run the lookup again")
        report = await services.enrichment.device_report(choice.d, tenants=[choice.c])
        message = await view(services, report, click_audience(body), clicker(body))
        await services.replies.respond(body, message)


def button_choice(action_id: ActionId) -> Callable[[str], DeviceChoice]:
    """How a device button of an earlier card reads: its action id says what to show."""

    def choose(value: str) -> DeviceChoice:
        ref = decode(DeviceRef, value)
        return DeviceChoice(a=action_id, c=ref.c, d=ref.d)

    return choose


def menu_choice(value: str) -> DeviceChoice:
    return decode(DeviceChoice, value)


def register(app: AsyncApp, services: Services) -> None:
    guard = [authorized(services)]

    def device_listener(choose: Callable[[str], DeviceChoice]) -> Callable[..., Awaitable[None]]:
        async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await on_device(services, body, client, choose)

        return listener

    app.action(ActionId.DEVICE_MENU.value, middleware=guard)(device_listener(menu_choice))
    for action_id in (*DEVICE_VIEWS, ActionId.DEVICE_OCSF):
        app.action(action_id.value, middleware=guard)(device_listener(button_choice(action_id)))

    @app.action(ActionId.SHOW_ALL.value, middleware=guard)
    async def show_all(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            ref = decode(ReportRef, action_value(body))
            report = await services.recall(ref.r, channel=click_channel(body), user=clicker(body))
            message = render.report_message(report, expand=True, respond=services.actions.enabled)
            await services.replies.respond(body, message)

    @app.action(ActionId.OPEN_PORTAL.value)
    async def open_portal(ack: AsyncAck) -> None:
        """A link button: the browser opens it; Slack still tells us, so acknowledge."""
        await ack()


async def post_ocsf(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """The device's OCSF events as a file, once per card and device."""
    upload = claim_upload(services, body, device)
    try:
        await upload_ocsf(services, body, client, device)
    except BaseException:
        services.uploads.forget(upload)  # not posted: the next click may try again
        raise


def claim_upload(
    services: Services, body: dict[str, Any], device: DeviceRef
) -> tuple[str | None, ...]:
    """One OCSF file per card and device, and a few per user in a while: a second click on the
    same card points at the first file instead of uploading another. Returns the card's key."""
    key = (click_channel(body), click_card(body), device.c, device.d)
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


async def upload_ocsf(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """The device's events as a file: in the card's thread, or the clicker's DMs for a private
    card."""
    report = await services.enrichment.device_report(device.d, tenants=[device.c])
    export = ocsf_export(report)
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
