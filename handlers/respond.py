"""Response actions at the Slack edge: every form's submission through one pipeline, the
buttons that open the lookup's forms, and the Approve / Reject / Cancel buttons of a request's
message. Every click and submission is authorized when it happens: the bot's access list, the
action policy, the app's roles; a submission is checked before it is acknowledged, so that a
refusal shows in the form itself, and is on record.

After the ack a form has no `response_url`: what goes wrong then (MDE refusing, a device gone)
is told to the responder in an ephemeral message where the form was opened, or by direct
message, a line per action not asked for; the others go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.policy import CLASS_OF
from bot.actions.requests import ActionRequest, Stage
from bot.actions.service import Ask, Asker
from bot.audit.records import Place
from bot.errors import BotError, InputError
from bot.logs import get_logger
from bot.mde.actions import ACTION_ROLES
from bot.render.forms import COMMENT, form_values
from bot.slack.access import home_team
from bot.slack.actions import asker, follow
from bot.slack.buttons import ActionId, ReportRef, RequestRef, decode
from bot.slack.mrkdwn import escape
from bot.slack.payloads import action_value, clicker, requester_teams
from bot.slack.services import Services
from handlers.forms import READERS, Reader, Submission, allowed_in, open_block, open_quarantine
from handlers.middleware import authorized

log = get_logger(__name__)


async def _refusal(
    services: Services,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    submission: Submission,
    who: Asker,
) -> tuple[str, str, str] | None:
    """Why this submission may not go ahead — (the input it shows under, the words, the
    reason on record) — or None: the access list where the form was opened (a form carries
    no channel of its own), the policy for each kind, the app's roles in each tenant."""
    access = services.access
    allowed = access.teams_allowed(requester_teams(body), home_team(context))
    if not allowed or not await access.allows(client, clicker(body), submission.channel):
        return COMMENT, "You're not on this bot's access list here", "not on the access list"
    policy = services.actions.policy
    for kind in sorted(submission.kinds):
        if not policy.may_request(kind, who.user, who.groups):
            words = f"You are not a responder for {CLASS_OF[kind]} actions"
            return submission.refusal_at, words, f"not a responder: {kind}"
    for tenant in sorted(submission.tenants):
        try:
            roles = await allowed_in(services, tenant)
        except BotError:
            words = f"The bot cannot sign in to {tenant} now: try again in a minute"
            return COMMENT, words, f"no sign-in: {tenant}"
        for kind in sorted(submission.kinds - roles):
            needs = " or ".join(ACTION_ROLES[kind])
            words = f"The app's roles in {tenant} do not allow {kind}: it needs {needs}"
            return submission.refusal_at, words, f"app lacks the role: {kind} in {tenant}"
    return None


async def _submitted(
    services: Services,
    read: Reader,
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Check a submission before the ack (its answers, then who may ask for what, where),
    then ask for each action it builds, each once however often the form is submitted."""
    view = body.get("view") or {}
    try:
        submission = await read(services, body, client, form_values(view))
    except InputError as exc:  # e.g. the lookup behind the form expired, or is not this channel's
        submission = Submission("", "", errors={COMMENT: f"{exc.message}: {exc.hint}".strip(": ")})
    errors = submission.errors
    who: Asker | None = None
    if not errors:
        who = await asker(services.access, services.actions.policy, client, body)
    if who is not None and (
        refused := await _refusal(services, body, client, context, submission, who)
    ):
        at, words, reason = refused
        errors[at] = words
        services.inflight.spawn(
            services.audit_refusal(
                body,
                "action",
                reason,
                place=Place(submission.channel, submission.thread),
                tenants=sorted(submission.tenants),
                subject=submission.subject,
            )
        )
    if errors or who is None or submission.build is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    async with services.work(body, client):
        try:
            asks = await submission.build()
        except BotError as exc:
            await _tell(client, who.user, submission, [_failure(exc)])
            return
        failures = []
        keyed = {_key(str(view.get("id")), ask): ask for ask in asks}  # one request per action
        for key, ask in keyed.items():
            try:
                request = await services.actions.request(
                    ask, who, channel=submission.channel, thread=submission.thread, key=key
                )
            except BotError as exc:
                failures.append(
                    f"{escape(ask.subject_name)} ({escape(ask.tenant)}): {_failure(exc)}"
                )
                continue
            _follow(services, request)
        if failures:
            await _tell(client, who.user, submission, failures)


def _key(view_id: str, ask: Ask) -> str:
    """One request per form and action, however often the form is submitted: the view, the
    kind, the tenant and what it acts on (hashed: a URL may be long)."""
    what = "\x1f".join((ask.kind, ask.tenant, ask.subject, ask.options.get("sha1", "")))
    return f"view:{view_id}:" + hashlib.sha256(what.encode()).hexdigest()[:32]


def _failure(exc: BotError) -> str:
    return escape(f"{exc.message}" + (f" — {exc.hint}" if exc.hint else ""))


async def _tell(
    client: AsyncWebClient, user: str, submission: Submission, lines: list[str]
) -> None:
    """What a submitted form could not ask for, to the responder alone: where the form was
    opened, or by direct message."""
    text = "⚠️ Not asked of MDE:\n" + "\n".join(f"• {line}" for line in lines)
    try:
        if submission.channel:
            await client.chat_postEphemeral(channel=submission.channel, user=user, text=text)
            return
        opened = await client.conversations_open(users=user)
        await client.chat_postMessage(channel=str(opened["channel"]["id"]), text=text)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("form_failure_not_told", error=type(exc).__name__)


def register(app: AsyncApp, services: Services) -> None:
    guard = [authorized(services)]

    def on_submit(read: Reader) -> Callable[..., Awaitable[None]]:
        async def submitted(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
        ) -> None:
            await _submitted(services, read, ack, body, client, context)

        return submitted

    for callback, read in READERS.items():
        app.view(callback)(on_submit(read))

    @app.action(ActionId.BLOCK.value, middleware=guard)
    async def block(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            await open_block(services, body, client, decode(ReportRef, action_value(body)))

    @app.action(ActionId.QUARANTINE.value, middleware=guard)
    async def quarantine(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with services.work(body, client):
            await open_quarantine(services, body, client, decode(ReportRef, action_value(body)))

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


def _follow(services: Services, request: ActionRequest) -> None:
    """A submitted action is followed to its end in a task the process owns."""
    if request.stage is Stage.SUBMITTED:
        services.inflight.spawn(follow(services.actions, request))
