"""The response forms: opening each (a device card's "Respond…", a device's "Triage an
alert…", a lookup's "Block…" and "Quarantine…") and reading each back when submitted.

A form opens at once (Slack's trigger lives 3 s) showing "Looking up…", and is then filled in
with its subject as MDE has it now, offering only what this responder may ask for and the
app's roles allow. A submission is read into a `Submission`: where it was asked, the kinds
and tenants it asks for (checked before the ack by `handlers.respond`), the form's errors, and
how to build the requests once it is acknowledged. Every choice is checked against what the
form offered: Slack sends only offered options, but nothing here relies on that.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ocsf
from bot.actions.choices import BY_VALUE, device_choices
from bot.actions.policy import CLASS_OF, Target
from bot.actions.service import Ask
from bot.enrichment.check import allowed_actions
from bot.enrichment.results import DeviceResult, Report
from bot.enrichment.targets import blockable, quarantine_targets
from bot.errors import BotError, InputError
from bot.indicators import HASH_TYPES, Indicator, defang
from bot.mde.actions import ActionKind
from bot.mde.vocabulary import (
    BLOCK_ACTIONS,
    CLASSIFICATIONS,
    DETERMINATIONS,
    FILE_ONLY_ACTIONS,
    determination_fits,
    said,
)
from bot.render.cards import HELD_WORDS, device_label
from bot.render.forms import (
    ALERT,
    ASSIGN,
    CHOICE,
    CLASSIFICATION,
    COMMENT,
    DAYS,
    DETERMINATION,
    KEEP,
    ME,
    STATUS,
    TAG,
    TARGETS,
    TENANTS,
    TITLE,
    VALUE,
    VERB,
    Pick,
    block_view,
    loading_view,
    quarantine_view,
    refusal_view,
    respond_view,
    triage_view,
)
from bot.render.kit import severity_emoji
from bot.slack.actions import asker
from bot.slack.buttons import (
    BLOCK_VIEW,
    QUARANTINE_VIEW,
    RESPOND_VIEW,
    TRIAGE_VIEW,
    DeviceRef,
    FormContext,
    ReportForm,
    ReportRef,
    decode,
)
from bot.slack.payloads import click_channel, click_is_private, click_thread, clicker
from bot.slack.services import Services

SERVER_PLATFORMS = ("server",)  # an OS name with this in it is a server's (Windows Server …)
MIN_COMMENT = 3  # characters of the responder's own beyond the prefill
PREFILL = re.compile(r"^Requested by @\S+ in #\S+:\s*")
TRIAGE_STATUSES = frozenset({KEEP, "InProgress", "Resolved"})
EMAIL_WAIT = 1.0  # seconds users.info may take (a submission is acknowledged within 3 s)
Answers = dict[str, str | list[str]]


# ---------------------------------------------------------------------- opening


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


async def _mine(
    services: Services, body: dict[str, Any], client: AsyncWebClient
) -> frozenset[ActionKind]:
    """The kinds of action the one opening a form may ask for; refused when none."""
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
    return mine


async def _may(
    services: Services, body: dict[str, Any], client: AsyncWebClient, kind: ActionKind
) -> None:
    if kind not in await _mine(services, body, client):
        raise InputError(
            f"you are not a responder for {CLASS_OF[kind]} actions",
            hint="ask the team that runs the bot to add you",
        )


async def allowed_in(services: Services, tenant: str) -> frozenset[ActionKind]:
    """The actions the app's roles allow in `tenant` (its token's roles)."""
    roles = (await services.actions.clients[tenant].tokens.claims()).roles
    return allowed_actions(roles)


def _prefill(body: Mapping[str, Any]) -> str:
    """The comment MDE keeps with the action, begun with who asked and where."""
    user = body.get("user") or {}
    name = user.get("username") or user.get("name") or clicker(body) or "someone"
    where = (body.get("channel") or {}).get("name") or "Slack"
    return f"Requested by @{name} in #{where}: "


def _notes(services: Services, body: Mapping[str, Any], needing: Sequence[str]) -> list[str]:
    """The form's last lines: which of its actions wait for a second responder; that the
    request is posted for the channel to see when the card was the responder's alone; a dry
    run."""
    named = list(dict.fromkeys(needing))
    verb = "needs" if len(named) == 1 else "need"
    notes = [f"Here, {', '.join(named)} {verb} a second responder's approval."] if named else []
    if click_is_private(body):
        notes.append("The request is posted in the channel, for everyone there to see.")
    if services.actions.mode == "dry-run":
        notes.append("Dry run: the request goes through, nothing is sent to MDE.")
    return notes


def _needing(services: Services, kind: ActionKind, target: Target | None = None) -> list[str]:
    """[kind] when asking for it (on `target`) waits for a second responder."""
    return [str(kind)] if services.actions.policy.needs_approval(kind, target or Target()) else []


async def _device(services: Services, ref: DeviceRef) -> tuple[DeviceResult, Report]:
    """The device a card names, as MDE has it now (with its alerts and containment)."""
    report = await services.enrichment.device_report(ref.d, tenants=[ref.c])
    found = next((d for c in report.connectors for d in c.devices), None)
    if found is None:
        raise InputError("MDE does not know this device any more", hint="run the lookup again")
    return found, report


def _place(body: Mapping[str, Any]) -> tuple[str, str]:
    return click_channel(body) or "", click_thread(body) or ""


def target_of(device: ocsf.Device) -> Target:
    """What approval rules look at: the device's tags, its group, whether it is a server."""
    groups = [g for g in device.groups or () if g.name]
    tags = frozenset(str(g.name) for g in groups if g.type == "MachineTag")
    group = next((str(g.name) for g in groups if g.type != "MachineTag"), None)
    os_name = (device.os.name if device.os else "") or ""
    return Target(tags, group, any(p in os_name.lower() for p in SERVER_PLATFORMS))


async def open_respond(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """The "Respond…" form: the device's actions this responder may ask for and the app may
    take."""

    async def fill() -> dict[str, Any]:
        mine = await _mine(services, body, client)
        found, report = await _device(services, device)
        choices = device_choices(mine & await allowed_in(services, device.c))
        if not choices:
            raise InputError(
                f"the app's roles in {device.c} allow none of the actions you may ask for",
                hint="/mde check lists the app's permissions",
            )
        target = target_of(found.device)
        needing = [n for c in choices for n in _needing(services, c.kind, target)]
        channel, thread = _place(body)
        return respond_view(
            found.device,
            device.c,
            choices,
            form=FormContext(c=device.c, d=device.d, ch=channel, th=thread),
            comment=_prefill(body),
            now=report.at,
            notes=_notes(services, body, needing),
            containment=found.containment,
        )

    await _open(body, client, RESPOND_VIEW, "the device", fill)


async def open_triage(
    services: Services, body: dict[str, Any], client: AsyncWebClient, device: DeviceRef
) -> None:
    """The "Triage an alert…" form: one of the device's alerts, the worst and newest first."""

    async def fill() -> dict[str, Any]:
        await _may(services, body, client, ActionKind.TRIAGE)
        if ActionKind.TRIAGE not in await allowed_in(services, device.c):
            raise InputError(
                f"the app's roles in {device.c} do not allow triage",
                hint="it needs Alert.ReadWrite.All: /mde check lists the app's permissions",
            )
        found, report = await _device(services, device)
        alerts = _alert_picks(found.findings)
        if not alerts:
            raise InputError("MDE lists no alerts for this device now")
        channel, thread = _place(body)
        return triage_view(
            found.device,
            device.c,
            alerts,
            form=FormContext(c=device.c, d=device.d, ch=channel, th=thread),
            comment=_prefill(body),
            now=report.at,
            email=await email_of(client, clicker(body)),
            notes=_notes(services, body, _needing(services, ActionKind.TRIAGE)),
        )

    await _open(body, client, TRIAGE_VIEW, "the device's alerts", fill)


def _alert_picks(findings: tuple[ocsf.DetectionFinding, ...]) -> list[Pick]:
    ranked = sorted(
        findings, key=lambda f: (f.severity_id, f.finding_info.last_seen_time or 0), reverse=True
    )
    return [
        Pick(f.finding_info.uid, f"{severity_emoji(f.severity_id)} {f.finding_info.title}")
        for f in ranked
        if f.finding_info.uid
    ]


async def email_of(client: AsyncWebClient, user: str | None) -> str | None:
    """The user's email as Slack has it now (MDE assigns alerts by email); None when Slack
    does not say (no `users:read.email`, no email, or Slack slow or away)."""
    if not user:
        return None
    try:
        async with asyncio.timeout(EMAIL_WAIT):
            answer = await client.users_info(user=user)
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        return None
    email = ((answer.get("user") or {}).get("profile") or {}).get("email")
    return str(email) if email else None


async def _tenants_allowing(services: Services, report: Report, kind: ActionKind) -> list[str]:
    """The tenants the lookup asked whose app's roles allow `kind`."""
    return [
        c.alias
        for c in report.connectors
        if c.searched and kind in await allowed_in(services, c.alias)
    ]


def _held_notes(report: Report) -> list[str]:
    """What MDE already holds for the pasted values: a new block replaces it."""
    return [
        f"{defang(h.indicator.value, h.indicator.type)} is already "
        f"{HELD_WORDS.get(h.action, h.action).lower()} in {c.alias}"
        + (f" (by {h.by})" if h.by else "")
        + ": a new one replaces it."
        for c in report.connectors
        for h in c.held
    ][:3]


async def open_block(
    services: Services, body: dict[str, Any], client: AsyncWebClient, ref: ReportRef
) -> None:
    """The "Block…" form: a pasted value as a custom indicator, in the tenants the lookup
    asked."""

    async def fill() -> dict[str, Any]:
        await _may(services, body, client, ActionKind.BLOCK)
        report = await services.recall(ref.r, channel=click_channel(body), user=clicker(body))
        values = blockable(report)
        if not values:
            raise InputError("nothing in this lookup is a value MDE can block")
        tenants = await _tenants_allowing(services, report, ActionKind.BLOCK)
        if not tenants:
            raise InputError(
                "the app's roles allow custom indicators in none of these tenants",
                hint="it needs Ti.ReadWrite.All: /mde check lists the app's permissions",
            )
        picks = [Pick(str(n), defang(i.value, i.type)) for n, i in enumerate(values)]
        channel, thread = _place(body)
        where = (body.get("channel") or {}).get("name") or "Slack"
        name = _prefill(body).split(" in #")[0].removeprefix("Requested by ")
        return block_view(
            picks,
            tenants,
            form=ReportForm(r=ref.r, ch=channel, th=thread),
            comment=_prefill(body),
            title=f"#{where}: blocked from Slack by {name}",
            days=services.settings.indicator_expiry_days,
            notes=[
                *_held_notes(report),
                *_notes(services, body, _needing(services, ActionKind.BLOCK)),
            ],
        )

    await _open(body, client, BLOCK_VIEW, "the lookup", fill)


async def open_quarantine(
    services: Services, body: dict[str, Any], client: AsyncWebClient, ref: ReportRef
) -> None:
    """The "Quarantine…" form: the lookup's files on the devices where it saw them."""

    async def fill() -> dict[str, Any]:
        await _may(services, body, client, ActionKind.QUARANTINE)
        report = await services.recall(ref.r, channel=click_channel(body), user=clicker(body))
        allowed = set(await _tenants_allowing(services, report, ActionKind.QUARANTINE))
        # Each option's value is its place among all the lookup's targets, as read back.
        numbered = [(n, t) for n, t in enumerate(quarantine_targets(report)) if t.tenant in allowed]
        targets = [t for _, t in numbered]
        if not targets:
            raise InputError("no file of this lookup was seen on a device the app may act on")
        several = len({t.tenant for t in targets}) > 1
        picks = [
            Pick(str(n), f"{t.file} on {t.device}" + (f" ({t.tenant})" if several else ""))
            for n, t in numbered
        ]
        devices = _devices(report)
        needing = [
            f"quarantine on {t.device}"
            for t in targets
            if services.actions.policy.needs_approval(
                ActionKind.QUARANTINE, target_of(devices[(t.tenant, t.machine_id)])
            )
        ]
        channel, thread = _place(body)
        return quarantine_view(
            picks,
            form=ReportForm(r=ref.r, ch=channel, th=thread),
            comment=_prefill(body),
            more=max(0, len(picks) - 10),
            notes=_notes(services, body, needing),
        )

    await _open(body, client, QUARANTINE_VIEW, "the lookup", fill)


def _devices(report: Report) -> dict[tuple[str, str], ocsf.Device]:
    return {(c.alias, d.device.uid or ""): d.device for c in report.connectors for d in c.devices}


# ---------------------------------------------------------------------- reading


@dataclass
class Submission:
    """A submitted form, read: where it was asked, the kinds and tenants it asks for (checked
    against the policy and the app's roles before the ack), the form's errors, and how to
    build the requests after the ack."""

    channel: str
    thread: str
    kinds: frozenset[ActionKind] = frozenset()
    tenants: frozenset[str] = frozenset()
    subject: str = ""  # what it acts on, for a refusal's record
    errors: dict[str, str] = field(default_factory=dict)
    build: Callable[[], Awaitable[list[Ask]]] | None = None
    refusal_at: str = COMMENT  # the input a refusal shows under


Reader = Callable[[Services, dict[str, Any], AsyncWebClient, Answers], Awaitable[Submission]]


def _comment(answers: Answers, errors: dict[str, str]) -> str:
    """The comment, or an error when the responder wrote nothing of their own."""
    comment = _text(answers, COMMENT)
    if len(PREFILL.sub("", comment).strip()) < MIN_COMMENT:
        errors[COMMENT] = "Say why: MDE keeps the comment with the action"
    return comment


def _text(answers: Answers, key: str) -> str:
    value = answers.get(key)
    return value if isinstance(value, str) else ""


def _many(answers: Answers, key: str) -> list[str]:
    value = answers.get(key)
    return list(dict.fromkeys(value)) if isinstance(value, list) else []


def _metadata(kind: type[FormContext] | type[ReportForm], view: Mapping[str, Any]) -> Any:
    try:
        return decode(kind, view.get("private_metadata"))
    except InputError:
        return None


def _stale() -> Submission:
    return Submission("", "", errors={COMMENT: "This form is not valid any more: open it again"})


def _pick(values: Sequence[Any], index: str) -> Any:
    """The item an option's value (its index) names, or None."""
    return values[int(index)] if index.isdecimal() and int(index) < len(values) else None


async def read_respond(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(FormContext, body.get("view") or {})
    if form is None:
        return _stale()
    errors: dict[str, str] = {}
    comment = _comment(answers, errors)
    choice = BY_VALUE.get(_text(answers, CHOICE))
    tag = _text(answers, TAG)
    if choice is None:
        errors[CHOICE] = "Choose an action"
    elif choice.needs_tag and not tag:
        errors[TAG] = "Name the tag to add or remove"
    if errors or choice is None:
        return Submission(form.ch, form.th, errors=errors)

    async def build() -> list[Ask]:
        found, _ = await _device(services, form)
        options = dict(choice.options) | ({"tag": tag} if choice.needs_tag else {})
        name = device_label(found.device) or form.d
        target = target_of(found.device)
        return [Ask(choice.kind, form.c, form.d, name, comment, options, target)]

    return Submission(
        form.ch,
        form.th,
        frozenset({choice.kind}),
        frozenset({form.c}),
        form.d,
        build=build,
        refusal_at=CHOICE,
    )


async def read_triage(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(FormContext, body.get("view") or {})
    if form is None:
        return _stale()
    errors: dict[str, str] = {}
    comment = _comment(answers, errors)
    alert_id = _text(answers, ALERT)
    status = _text(answers, STATUS) or KEEP
    classification = _text(answers, CLASSIFICATION)
    determination = _text(answers, DETERMINATION)
    if not alert_id:
        errors[ALERT] = "Choose an alert"
    if status not in TRIAGE_STATUSES:
        errors[STATUS] = "Choose a status"
    if classification and classification not in CLASSIFICATIONS:
        errors[CLASSIFICATION] = "Choose a classification"
    if determination and determination not in DETERMINATIONS:
        errors[DETERMINATION] = "Choose a determination"
    elif not determination_fits(classification, determination):
        errors[DETERMINATION] = f"{said(determination)} is not a {said(classification).lower()}"
    email = None
    if ME in _many(answers, ASSIGN):
        email = await email_of(client, clicker(body))  # as Slack says now
        if email is None:
            errors[ASSIGN] = "Slack does not give your email to the bot: leave this unticked"
    if errors:
        return Submission(form.ch, form.th, errors=errors)
    options = {
        "status": "" if status == KEEP else status,
        "classification": classification,
        "determination": determination,
        "assigned_to": email or "",
    }

    async def build() -> list[Ask]:
        found, _ = await _device(services, form)
        finding = next((f for f in found.findings if f.finding_info.uid == alert_id), None)
        if finding is None:
            raise InputError("MDE no longer lists this alert for the device")
        title = finding.finding_info.title or alert_id
        kept = {k: v for k, v in options.items() if v}
        return [Ask(ActionKind.TRIAGE, form.c, alert_id, title, comment, kept)]

    kinds, tenants = frozenset({ActionKind.TRIAGE}), frozenset({form.c})
    return Submission(form.ch, form.th, kinds, tenants, alert_id, build=build)


async def read_block(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(ReportForm, body.get("view") or {})
    if form is None:
        return _stale()
    errors: dict[str, str] = {}
    comment = _comment(answers, errors)
    report = await services.recall(form.r, channel=form.ch, user=clicker(body))
    chosen: Indicator | None = _pick(blockable(report), _text(answers, VALUE))
    verb = _text(answers, VERB)
    asked = {c.alias for c in report.connectors if c.searched}
    tenants = [t for t in _many(answers, TENANTS) if t in asked]
    days = _text(answers, DAYS)
    if chosen is None:
        errors[VALUE] = "Choose a value"
    if verb not in BLOCK_ACTIONS:
        errors[VERB] = "Choose what MDE does with it"
    elif verb in FILE_ONLY_ACTIONS and chosen is not None and chosen.type not in HASH_TYPES:
        errors[VERB] = "Block and remediate is for files: choose Block"
    if not tenants:
        errors[TENANTS] = "Choose at least one tenant"
    if not days.isdecimal() or not 1 <= int(days) <= 365:
        errors[DAYS] = "Choose how long MDE keeps it"
    if errors or chosen is None:
        return Submission(form.ch, form.th, errors=errors)
    expires = datetime.now(UTC) + timedelta(days=int(days))
    held = {c.alias: h for c in report.connectors for h in c.held if h.indicator == chosen}
    options = {
        "indicator_type": str(chosen.type),
        "indicator_action": verb,
        "title": _text(answers, TITLE) or f"Blocked from Slack: {defang(chosen.value)}",
        "expires": expires.isoformat(timespec="seconds"),
    }

    async def build() -> list[Ask]:
        name = defang(chosen.value, chosen.type)
        return [
            Ask(
                ActionKind.BLOCK,
                tenant,
                chosen.value,
                name,
                comment,
                options | ({"replaces": held[tenant].action} if tenant in held else {}),
            )
            for tenant in tenants
        ]

    kinds = frozenset({ActionKind.BLOCK})
    return Submission(form.ch, form.th, kinds, frozenset(tenants), chosen.value, build=build)


async def read_quarantine(
    services: Services, body: dict[str, Any], client: AsyncWebClient, answers: Answers
) -> Submission:
    form = _metadata(ReportForm, body.get("view") or {})
    if form is None:
        return _stale()
    errors: dict[str, str] = {}
    comment = _comment(answers, errors)
    report = await services.recall(form.r, channel=form.ch, user=clicker(body))
    targets = quarantine_targets(report)
    chosen = [t for n in _many(answers, TARGETS) if (t := _pick(targets, n)) is not None]
    if not chosen:
        errors[TARGETS] = "Choose at least one device"
    if errors:
        return Submission(form.ch, form.th, errors=errors)
    devices = _devices(report)

    async def build() -> list[Ask]:
        return [
            Ask(
                ActionKind.QUARANTINE,
                t.tenant,
                t.machine_id,
                f"{t.file} on {t.device}",
                comment,
                {"sha1": t.sha1},
                target_of(devices[(t.tenant, t.machine_id)]),
            )
            for t in chosen
        ]

    kinds, tenants = frozenset({ActionKind.QUARANTINE}), frozenset(t.tenant for t in chosen)
    subject = ", ".join(t.machine_id for t in chosen)
    return Submission(form.ch, form.th, kinds, tenants, subject, build=build)


READERS: dict[str, Reader] = {
    RESPOND_VIEW: read_respond,
    TRIAGE_VIEW: read_triage,
    BLOCK_VIEW: read_block,
    QUARANTINE_VIEW: read_quarantine,
}
