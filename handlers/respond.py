"""Response actions: the "Respond…" form (opened from a device card's menu), its submission,
and the Approve / Reject / Cancel buttons of a request's message. Every click and submission is
authorized when it happens (the bot's access list, then the action policy)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.choices import BY_VALUE, device_choices
from bot.actions.policy import CLASS_OF, Target
from bot.actions.requests import ActionRequest, Stage
from bot.actions.service import Ask
from bot.enrichment.check import allowed_actions
from bot.errors import BotError, InputError
from bot.render.actions import (
    CHOICE,
    CHOICE_BLOCK,
    COMMENT,
    COMMENT_BLOCK,
    TAG,
    TAG_BLOCK,
    loading_view,
    refusal_view,
    respond_view,
)
from bot.slack.access import home_team
from bot.slack.actions import asker, follow
from bot.slack.buttons import RESPOND_VIEW, ActionId, DeviceRef, FormContext, RequestRef, decode
from bot.slack.payloads import (
    action_value,
    click_channel,
    click_thread,
    clicker,
    requester_teams,
)
from bot.slack.services import Services
from handlers.middleware import authorized

SERVER_PLATFORMS = ("server",)  # an OS name with this in it is a server's (Windows Server …)


async def open_form(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """Open the form at once (Slack's trigger lives 3 s), then fill it in: the device as MDE
    has it now, and the actions this responder may ask for there."""
    opened = await client.views_open(
        trigger_id=str(body["trigger_id"]), view=loading_view("the device")
    )
    view = opened["view"]
    try:
        filled = await _form(services, body, client, device)
    except BotError as exc:
        filled = refusal_view(exc.message, exc.hint)
    await client.views_update(view_id=view["id"], hash=view.get("hash"), view=filled)


async def _form(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> dict[str, Any]:
    actions = services.actions
    if not actions.enabled:
        raise InputError(
            "response actions are off here", hint="the team that runs the bot can turn them on"
        )
    who = await asker(services.access, actions.policy, client, body)
    mine = actions.policy.allowed_kinds(who.user, who.groups)
    if not mine:
        raise InputError(
            "you are not a responder here", hint="ask the team that runs the bot to add you"
        )
    report = await services.enrichment.device_report(device.d, tenants=[device.c])
    connector = next(iter(report.connectors))
    found = next(iter(connector.devices), None)
    if found is None:
        raise InputError("MDE does not know this device any more", hint="run the lookup again")
    roles = (await actions.clients[device.c].tokens.claims()).roles
    choices = device_choices(mine & allowed_actions(roles))
    if not choices:
        raise InputError(
            f"the app's roles in {device.c} allow none of the actions you may ask for",
            hint="/mde check lists the app's permissions",
        )
    target = _target(found.device)
    approval = list(
        dict.fromkeys(c.kind for c in choices if actions.policy.needs_approval(c.kind, target))
    )
    note = f"Here, {', '.join(approval)} need a second responder's approval." if approval else ""
    channel = click_channel(body) or ""
    form = FormContext(c=device.c, d=device.d, ch=channel, th=click_thread(body) or "")
    user = body.get("user") or {}
    name = user.get("username") or user.get("name") or clicker(body) or "someone"
    where = (body.get("channel") or {}).get("name") or "Slack"
    return respond_view(
        found.device,
        device.c,
        choices,
        form=form,
        comment=f"Requested by @{name} in #{where}: ",
        now=report.at,
        approval_note=note,
        dry_run=actions.mode == "dry-run",
        containment=found.containment,
    )


def _target(device: Any) -> Target:
    """What approval rules look at: the device's tags, its group, whether it is a server."""
    groups = [g for g in device.groups or () if g.name]
    tags = frozenset(str(g.name) for g in groups if g.type == "MachineTag")
    group = next((str(g.name) for g in groups if g.type != "MachineTag"), None)
    os_name = (device.os.name if device.os else "") or ""
    return Target(tags, group, any(p in os_name.lower() for p in SERVER_PLATFORMS))


def _values(view: dict[str, Any]) -> tuple[str, str, str]:
    """(choice, tag, comment) as the form was submitted."""
    state = (view.get("state") or {}).get("values") or {}
    choice = ((state.get(CHOICE_BLOCK) or {}).get(CHOICE) or {}).get("selected_option") or {}
    tag = ((state.get(TAG_BLOCK) or {}).get(TAG) or {}).get("value") or ""
    comment = ((state.get(COMMENT_BLOCK) or {}).get(COMMENT) or {}).get("value") or ""
    return str(choice.get("value") or ""), str(tag).strip(), str(comment).strip()


def register(app: AsyncApp, services: Services) -> None:
    guard = [authorized(services)]

    @app.view(RESPOND_VIEW)
    async def submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        view = body.get("view") or {}
        choice_value, tag, comment = _values(view)
        choice = BY_VALUE.get(choice_value)
        errors = {}
        if choice is None:
            errors[CHOICE_BLOCK] = "Choose an action"
        elif choice.needs_tag and not tag:
            errors[TAG_BLOCK] = "Name the tag to add or remove"
        if len(comment) < 3:
            errors[COMMENT_BLOCK] = "Say why: MDE keeps the comment with the action"
        try:
            form = decode(FormContext, view.get("private_metadata"))
        except InputError:
            errors[COMMENT_BLOCK] = "This form is not valid any more: open it again"
        if not errors and not await _may_use(services, body, client, context, form.ch):
            errors[COMMENT_BLOCK] = "You're not on this bot's access list here"
        if not errors and choice is not None:
            who = await asker(services.access, services.actions.policy, client, body)
            if not services.actions.policy.may_request(choice.kind, who.user, who.groups):
                errors[CHOICE_BLOCK] = (
                    f"You are not a responder for {CLASS_OF[choice.kind]} actions"
                )
                services.inflight.spawn(
                    services.audit_refusal(body, "action", f"not a responder: {choice.kind}")
                )
        if errors or choice is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        async with services.work(body, client):
            device = await services.enrichment.device_report(form.d, tenants=[form.c])
            found = next((d for c in device.connectors for d in c.devices), None)
            if found is None:
                raise InputError("MDE does not know this device any more")
            options = dict(choice.options)
            if choice.needs_tag:
                options["tag"] = tag
            ask = Ask(
                kind=choice.kind,
                tenant=form.c,
                subject=form.d,
                subject_name=found.device.name or found.device.hostname or form.d,
                comment=comment,
                options=options,
                target=_target(found.device),
            )
            who = await asker(services.access, services.actions.policy, client, body)
            request = await services.actions.request(
                ask, who, channel=form.ch, thread=form.th, key=f"view:{view.get('id')}"
            )
            _follow(services, request)

    @app.action(ActionId.APPROVE.value, middleware=guard)
    async def approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            ref = decode(RequestRef, action_value(body))
            who = await asker(services.access, services.actions.policy, client, body)
            _follow(services, await services.actions.approve(ref.q, who))

    @app.action(ActionId.REJECT.value, middleware=guard)
    async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            ref = decode(RequestRef, action_value(body))
            who = await asker(services.access, services.actions.policy, client, body)
            await services.actions.reject(ref.q, who)

    @app.action(ActionId.CANCEL.value, middleware=guard)
    async def cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            ref = decode(RequestRef, action_value(body))
            who = await asker(services.access, services.actions.policy, client, body)
            await services.actions.cancel(ref.q, who)


async def _may_use(
    services: Services,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    channel: str,
) -> bool:
    """The access list, checked when the form is submitted (a form carries no channel of its
    own: the one its card was in counts)."""
    access = services.access
    if not access.teams_allowed(requester_teams(body), home_team(context)):
        return False
    return await access.allows(client, clicker(body), channel)


def _follow(services: Services, request: ActionRequest) -> None:
    """A submitted action is followed to its end in a task the process owns."""
    if request.stage is Stage.SUBMITTED:
        services.inflight.spawn(follow(services.actions, request))
