"""Response actions: the forms (a device card's "Respond…" and "Triage alerts…", a lookup's
"Block…" and "Quarantine…"), their submissions, and the Approve / Reject / Cancel buttons of a
request's message. Every click and submission is authorized when it happens: the bot's access
list, then the action policy; a submission is checked before it is acknowledged, so a refusal
shows in the form itself.

Each form opens at once (Slack's trigger lives 3 s) showing "Looking up…", and is then filled
in with its subject as MDE has it now. Each submission reads as a `Submission`: where it was
asked, which kinds of action, the form's errors, and how to build the requests once it is
acknowledged; one pipeline (`_submitted`) checks and sends them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ocsf
from bot.actions.choices import BY_VALUE, device_choices
from bot.actions.policy import CLASS_OF, Target
from bot.actions.requests import ActionRequest, Stage
from bot.actions.service import Ask, Asker
from bot.enrichment.check import allowed_actions
from bot.enrichment.results import DeviceResult, Report
from bot.enrichment.targets import blockable, quarantine_targets
from bot.errors import BotError, InputError
from bot.indicators import defang
from bot.mde.actions import ActionKind
from bot.render.cards import device_label
from bot.render.forms import (
    ALERT,
    ASSIGN,
    CHOICE,
    CLASSIFICATION,
    COMMENT,
    DAYS,
    DETERMINATION,
    KEEP,
    TAG,
    TARGETS,
    TENANTS,
    TITLE,
    VALUE,
    VERB,
    Pick,
    block_view,
    form_values,
    loading_view,
    quarantine_view,
    refusal_view,
    respond_view,
    triage_view,
)
from bot.render.kit import severity_emoji
from bot.slack.access import home_team
from bot.slack.actions import asker, follow
from bot.slack.buttons import (
    BLOCK_VIEW,
    QUARANTINE_VIEW,
    RESPOND_VIEW,
    TRIAGE_VIEW,
    ActionId,
    DeviceRef,
    FormContext,
    ReportForm,
    ReportRef,
    RequestRef,
    decode,
)
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
FILE_TYPES = frozenset({"md5", "sha1", "sha256"})  # values "Block and remediate" applies to
MIN_COMMENT = 3
Answers = dict[str, str | list[str]]


# ---------------------------------------------------------------------- opening a form


async def _open(
    body: dict[str, Any],
    client: AsyncWebClient,
    callback: str,
    what: str,
    fill: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    """Open a form showing "Looking up `what`…", then fill it in (or say why not)."""
    opened = await client.views_open(
        trigger_id=str(body["trigger_id"]), view=loading_view(callback, what)
    )
    view = opened["view"]
    try:
        filled = await fill()
    except BotError as exc:
        filled = refusal_view(exc.message, exc.hint)
    await client.views_update(view_id=view["id"], hash=view.get("hash"), view=filled)


async def _responder(
    services: Services, body: dict[str, Any], client: AsyncWebClient
) -> tuple[Asker, frozenset[ActionKind]]:
    """Who opens the form, and the kinds of action they may ask for; refused when none."""
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
    return who, mine


def _may(kinds: frozenset[ActionKind], kind: ActionKind) -> None:
    if kind not in kinds:
        raise InputError(
            f"you are not a responder for {CLASS_OF[kind]} actions",
            hint="ask the team that runs the bot to add you",
        )


def _who_and_where(body: Mapping[str, Any]) -> tuple[str, str]:
    user = body.get("user") or {}
    name = user.get("username") or user.get("name") or clicker(body) or "someone"
    where = (body.get("channel") or {}).get("name") or "Slack"
    return str(name), str(where)


def _prefill(body: Mapping[str, Any]) -> str:
    """The comment MDE keeps with the action, begun with who asked and where."""
    name, where = _who_and_where(body)
    return f"Requested by @{name} in #{where}: "


def _notes(services: Services, approval: Sequence[str]) -> list[str]:
    """The form's last line: which of its actions wait for a second responder; a dry run."""
    named = list(dict.fromkeys(approval))
    verb = "needs" if len(named) == 1 else "need"
    notes = [f"Here, {', '.join(named)} {verb} a second responder's approval."] if named else []
    if services.actions.mode == "dry-run":
        notes.append("Dry run: the request goes through, nothing is sent to MDE.")
    return notes


async def _device(services: Services, ref: DeviceRef) -> tuple[str, DeviceResult, Report]:
    """The device a card names, as MDE has it now (with its alerts and containment)."""
    report = await services.enrichment.device_report(ref.d, tenants=[ref.c])
    found = next((d for c in report.connectors for d in c.devices), None)
    if found is None:
        raise InputError("MDE does not know this device any more", hint="run the lookup again")
    return ref.c, found, report


def _form_place(body: Mapping[str, Any]) -> tuple[str, str]:
    return click_channel(body) or "", click_thread(body) or ""


async def open_form(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """ "Respond…": the device's actions this responder may ask for and the app may take."""

    async def fill() -> dict[str, Any]:
        _, mine = await _responder(services, body, client)
        tenant, found, report = await _device(services, device)
        roles = (await services.actions.clients[tenant].tokens.claims()).roles
        choices = device_choices(mine & allowed_actions(roles))
        if not choices:
            raise InputError(
                f"the app's roles in {tenant} allow none of the actions you may ask for",
                hint="/mde check lists the app's permissions",
            )
        target = _target(found.device)
        policy = services.actions.policy
        approval = list(
            dict.fromkeys(c.kind for c in choices if policy.needs_approval(c.kind, target))
        )
        channel, thread = _form_place(body)
        return respond_view(
            found.device,
            tenant,
            choices,
            form=FormContext(c=tenant, d=device.d, ch=channel, th=thread),
            comment=_prefill(body),
            now=report.at,
            notes=_notes(services, approval),
            containment=found.containment,
        )

    await _open(body, client, RESPOND_VIEW, "the device", fill)


async def open_triage(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """ "Triage alerts…": one of the device's alerts, the worst and newest first."""

    async def fill() -> dict[str, Any]:
        _, mine = await _responder(services, body, client)
        _may(mine, ActionKind.TRIAGE)
        tenant, found, report = await _device(services, device)
        alerts = _alert_picks(found.findings)
        if not alerts:
            raise InputError("MDE lists no alerts for this device now")
        channel, thread = _form_place(body)
        policy = services.actions.policy
        approval = ["triage"] if policy.needs_approval(ActionKind.TRIAGE, Target()) else []
        return triage_view(
            found.device,
            tenant,
            alerts,
            form=FormContext(c=tenant, d=device.d, ch=channel, th=thread),
            comment=_prefill(body),
            now=report.at,
            email=await _email(client, clicker(body)),
            notes=_notes(services, approval),
        )

    await _open(body, client, TRIAGE_VIEW, "the device's alerts", fill)


def _alert_picks(findings: tuple[ocsf.DetectionFinding, ...]) -> list[Pick]:
    ranked = sorted(
        findings, key=lambda f: (f.severity_id, f.finding_info.last_seen_time or 0), reverse=True
    )
    picks = []
    for finding in ranked:
        info = finding.finding_info
        if info.uid:
            picks.append(Pick(info.uid, f"{severity_emoji(finding.severity_id)} {info.title}"))
    return picks


async def _email(client: AsyncWebClient, user: str | None) -> str | None:
    """The user's email as Slack has it (MDE assigns alerts by email); None when Slack does
    not say (the app lacks `users:read.email`, or the profile has none)."""
    if not user:
        return None
    try:
        answer = await client.users_info(user=user)
    except SlackApiError:
        return None
    email = ((answer.get("user") or {}).get("profile") or {}).get("email")
    return str(email) if email else None


async def open_block(
    services: Services, body: dict[str, Any], client: AsyncWebClient, ref: ReportRef
) -> None:
    """ "Block…": a pasted value as a custom indicator, in the tenants the lookup asked."""

    async def fill() -> dict[str, Any]:
        _, mine = await _responder(services, body, client)
        _may(mine, ActionKind.BLOCK)
        report = services.recall(ref.r, channel=click_channel(body), user=clicker(body))
        values = blockable(report)
        if not values:
            raise InputError("nothing in this lookup is a value MDE can block")
        picks = [Pick(str(n), defang(i.value, i.type)) for n, i in enumerate(values)]
        channel, thread = _form_place(body)
        name, where = _who_and_where(body)
        policy = services.actions.policy
        approval = ["block"] if policy.needs_approval(ActionKind.BLOCK, Target()) else []
        return block_view(
            picks,
            [c.alias for c in report.connectors if c.searched],
            form=ReportForm(r=ref.r, ch=channel, th=thread),
            comment=_prefill(body),
            title=f"#{where}: blocked from Slack by @{name}",
            days=services.settings.indicator_expiry_days,
            notes=_notes(services, approval),
        )

    await _open(body, client, BLOCK_VIEW, "the lookup", fill)


async def open_quarantine(
    services: Services, body: dict[str, Any], client: AsyncWebClient, ref: ReportRef
) -> None:
    """ "Quarantine…": the lookup's files on the devices where it saw them."""

    async def fill() -> dict[str, Any]:
        _, mine = await _responder(services, body, client)
        _may(mine, ActionKind.QUARANTINE)
        report = services.recall(ref.r, channel=click_channel(body), user=clicker(body))
        targets = quarantine_targets(report)
        if not targets:
            raise InputError("no file of this lookup was seen on a device shown here")
        several = len({t.tenant for t in targets}) > 1
        picks = [
            Pick(str(n), f"{t.file} on {t.device}" + (f" ({t.tenant})" if several else ""))
            for n, t in enumerate(targets)
        ]
        channel, thread = _form_place(body)
        return quarantine_view(
            picks,
            form=ReportForm(r=ref.r, ch=channel, th=thread),
            comment=_prefill(body),
            more=max(0, len(picks) - 10),
            notes=_notes(services, []),
        )

    await _open(body, client, QUARANTINE_VIEW, "the lookup", fill)


def _target(device: ocsf.Device) -> Target:
    """What approval rules look at: the device's tags, its group, whether it is a server."""
    groups = [g for g in device.groups or () if g.name]
    tags = frozenset(str(g.name) for g in groups if g.type == "MachineTag")
    group = next((str(g.name) for g in groups if g.type != "MachineTag"), None)
    os_name = (device.os.name if device.os else "") or ""
    return Target(tags, group, any(p in os_name.lower() for p in SERVER_PLATFORMS))


# ---------------------------------------------------------------------- submissions


@dataclass
class Submission:
    """A submitted form, read: where it was asked, the kinds it asks for (checked against the
    policy before the ack), the form's errors, and how to build the requests after the ack."""

    channel: str
    thread: str
    kinds: frozenset[ActionKind] = frozenset()
    errors: dict[str, str] = field(default_factory=dict)
    build: Callable[[], Awaitable[list[Ask]]] | None = None
    refusal_at: str = COMMENT  # the input a policy refusal shows under


Reader = Callable[[Services, dict[str, Any], AsyncWebClient, Answers], Awaitable[Submission]]


def _comment_errors(answers: Answers) -> dict[str, str]:
    comment = answers.get(COMMENT)
    if not isinstance(comment, str) or len(comment) < MIN_COMMENT:
        return {COMMENT: "Say why: MDE keeps the comment with the action"}
    return {}


def _text(answers: Answers, key: str) -> str:
    value = answers.get(key)
    return value if isinstance(value, str) else ""


def _many(answers: Answers, key: str) -> list[str]:
    value = answers.get(key)
    return value if isinstance(value, list) else []


def _metadata(kind: type[FormContext] | type[ReportForm], view: Mapping[str, Any]) -> Any:
    try:
        return decode(kind, view.get("private_metadata"))
    except InputError:
        return None


def _expired_form(channel: str = "") -> Submission:
    return Submission(
        channel, "", errors={COMMENT: "This form is not valid any more: open it again"}
    )


async def _read_respond(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(FormContext, body.get("view") or {})
    if form is None:
        return _expired_form()
    choice = BY_VALUE.get(_text(answers, CHOICE))
    tag = _text(answers, TAG)
    errors = _comment_errors(answers)
    if choice is None:
        errors[CHOICE] = "Choose an action"
    elif choice.needs_tag and not tag:
        errors[TAG] = "Name the tag to add or remove"
    if errors or choice is None:
        return Submission(form.ch, form.th, errors=errors)

    async def build() -> list[Ask]:
        tenant, found, _ = await _device(services, form)
        options = dict(choice.options) | ({"tag": tag} if choice.needs_tag else {})
        return [
            Ask(
                kind=choice.kind,
                tenant=tenant,
                subject=form.d,
                subject_name=device_label(found.device) or form.d,
                comment=_text(answers, COMMENT),
                options=options,
                target=_target(found.device),
            )
        ]

    return Submission(form.ch, form.th, frozenset({choice.kind}), build=build, refusal_at=CHOICE)


async def _read_triage(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(FormContext, body.get("view") or {})
    if form is None:
        return _expired_form()
    errors = _comment_errors(answers)
    alert_id = _text(answers, ALERT)
    if not alert_id:
        errors[ALERT] = "Choose an alert"
    email = None
    if _many(answers, ASSIGN):
        email = await _email(client, clicker(body))  # as Slack says now, not as the form did
        if email is None:
            errors[ASSIGN] = "Slack does not give your email to the bot: leave this unticked"
    if errors:
        return Submission(form.ch, form.th, errors=errors)
    options = {
        "status": _text(answers, "status") if _text(answers, "status") != KEEP else "",
        "classification": _text(answers, CLASSIFICATION),
        "determination": _text(answers, DETERMINATION),
        "assigned_to": email or "",
    }

    async def build() -> list[Ask]:
        tenant, found, _ = await _device(services, form)
        finding = next((f for f in found.findings if f.finding_info.uid == alert_id), None)
        if finding is None:
            raise InputError("MDE no longer lists this alert for the device")
        return [
            Ask(
                kind=ActionKind.TRIAGE,
                tenant=tenant,
                subject=alert_id,
                subject_name=finding.finding_info.title or alert_id,
                comment=_text(answers, COMMENT),
                options={k: v for k, v in options.items() if v},
            )
        ]

    return Submission(form.ch, form.th, frozenset({ActionKind.TRIAGE}), build=build)


async def _read_block(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(ReportForm, body.get("view") or {})
    if form is None:
        return _expired_form()
    errors = _comment_errors(answers)
    report = services.recall(form.r, channel=form.ch, user=clicker(body))
    values = blockable(report)
    index = _text(answers, VALUE)
    chosen = values[int(index)] if index.isdecimal() and int(index) < len(values) else None
    verb = _text(answers, VERB) or "Block"
    tenants = [t for t in _many(answers, TENANTS) if t in {c.alias for c in report.connectors}]
    days = _text(answers, DAYS)
    if chosen is None:
        errors[VALUE] = "Choose a value"
    elif verb == "BlockAndRemediate" and chosen.type not in FILE_TYPES:
        errors[VERB] = "Block and remediate is for files: choose Block"
    if not tenants:
        errors[TENANTS] = "Choose at least one tenant"
    if not days.isdecimal() or not 1 <= int(days) <= 365:
        errors[DAYS] = "Choose how long MDE keeps it"
    if errors or chosen is None:
        return Submission(form.ch, form.th, errors=errors)
    expires = datetime.now(UTC) + timedelta(days=int(days))
    options = {
        "indicator_type": str(chosen.type),
        "indicator_action": verb,
        "title": _text(answers, TITLE) or f"Blocked from Slack: {defang(chosen.value)}",
        "expires": expires.isoformat(timespec="seconds"),
    }

    async def build() -> list[Ask]:
        return [
            Ask(
                kind=ActionKind.BLOCK,
                tenant=tenant,
                subject=chosen.value,
                subject_name=defang(chosen.value, chosen.type),
                comment=_text(answers, COMMENT),
                options=options,
            )
            for tenant in tenants
        ]

    return Submission(form.ch, form.th, frozenset({ActionKind.BLOCK}), build=build)


async def _read_quarantine(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(ReportForm, body.get("view") or {})
    if form is None:
        return _expired_form()
    errors = _comment_errors(answers)
    report = services.recall(form.r, channel=form.ch, user=clicker(body))
    targets = quarantine_targets(report)
    chosen = [
        targets[int(n)] for n in _many(answers, TARGETS) if n.isdecimal() and int(n) < len(targets)
    ]
    if not chosen:
        errors[TARGETS] = "Choose at least one device"
    if errors:
        return Submission(form.ch, form.th, errors=errors)
    devices = {(c.alias, d.device.uid): d.device for c in report.connectors for d in c.devices}

    async def build() -> list[Ask]:
        return [
            Ask(
                kind=ActionKind.QUARANTINE,
                tenant=t.tenant,
                subject=t.machine_id,
                subject_name=f"{t.file} on {t.device}",
                comment=_text(answers, COMMENT),
                options={"sha1": t.sha1},
                target=_target(devices[(t.tenant, t.machine_id)]),
            )
            for t in chosen
        ]

    return Submission(form.ch, form.th, frozenset({ActionKind.QUARANTINE}), build=build)


READERS: dict[str, Reader] = {
    RESPOND_VIEW: _read_respond,
    TRIAGE_VIEW: _read_triage,
    BLOCK_VIEW: _read_block,
    QUARANTINE_VIEW: _read_quarantine,
}


async def _submitted(
    services: Services,
    read: Reader,
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Check a submission before the ack (its answers, the access list, the policy: refusals
    show in the form and are audited), then ask for each action it builds, once per form."""
    view = body.get("view") or {}
    answers = form_values(view)
    try:
        submission = await read(services, body, client, answers)
    except InputError as exc:  # e.g. the lookup behind the form expired
        submission = Submission("", "", errors={COMMENT: f"{exc.message}: {exc.hint}".strip(": ")})
    errors = submission.errors
    if not errors and not await _may_use(services, body, client, context, submission.channel):
        errors[COMMENT] = "You're not on this bot's access list here"
    who: Asker | None = None
    if not errors:
        who = await asker(services.access, services.actions.policy, client, body)
        policy = services.actions.policy
        for kind in sorted(submission.kinds):
            if not policy.may_request(kind, who.user, who.groups):
                errors[submission.refusal_at] = (
                    f"You are not a responder for {CLASS_OF[kind]} actions"
                )
                services.inflight.spawn(
                    services.audit_refusal(body, "action", f"not a responder: {kind}")
                )
    if errors or who is None or submission.build is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    async with services.work(body, client):
        asks = await submission.build()
        for n, ask in enumerate(asks):  # the same answers build the same asks, in order
            request = await services.actions.request(
                ask,
                who,
                channel=submission.channel,
                thread=submission.thread,
                key=f"view:{view.get('id')}:{n}",
            )
            _follow(services, request)


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
