"""PURE: response actions in Slack: the request's message in the card's thread (updated as
the action goes: waiting → Pending → InProgress → Succeeded, or how it ended), and the direct
message that carries an investigation package's link (the forms are `bot.render.forms`).

The message says in its first line what is asked, of what, and how far it has come.
"""

from __future__ import annotations

from bot.actions.choices import BY_VALUE
from bot.actions.requests import ActionRequest, Stage
from bot.mde.actions import ActionKind
from bot.mde.vocabulary import said
from bot.render.cards import HELD_WORDS
from bot.render.kit import (
    Block,
    Message,
    actions,
    button,
    clip,
    context,
    link,
    notification,
    safe_url,
    section,
)
from bot.slack.buttons import ActionId, RequestRef, encode
from bot.slack.mrkdwn import date, escape, mention

# How each stage (and MDE's status within it) reads: an emoji and a few words.
ENDINGS = {
    "Succeeded": "✅ Succeeded",
    "Failed": "❌ Failed on the device",
    "TimeOut": "⌛ Timed out: MDE could not reach the device in time",
    "Cancelled": "🚫 Cancelled",
    "DryRun": "🧪 Dry run: nothing was sent to MDE",
    "Unconfirmed": "❓ Unconfirmed: sent, but MDE could not say whether it has it",
}


def title_of(request: ActionRequest) -> str:
    """`Isolate (full)`, `Block in MDE`, `Triage: Resolved, True positive`: what was asked."""
    options = request.options
    if request.kind is ActionKind.BLOCK:
        verb = options.get("indicator_action", "")
        title = {"Block": "Block", "Audit": "Alert"}.get(verb, said(verb)) + " in MDE"
        if replaces := options.get("replaces"):  # MDE replaces what it holds for the value
            title += f" (replaces: {HELD_WORDS.get(replaces, replaces).lower()})"
        return title
    if request.kind is ActionKind.TRIAGE:
        words = [
            said(options[k])
            for k in ("status", "classification", "determination")
            if options.get(k)
        ]
        if options.get("assigned_to"):
            words.append("assigned to " + options["assigned_to"])
        return "Triage: " + (", ".join(words) or "comment")
    if request.kind is ActionKind.QUARANTINE:
        return "Stop and quarantine"
    for choice in BY_VALUE.values():
        if choice.kind == request.kind and all(
            options.get(k) == v for k, v in choice.options.items()
        ):
            tag = f" {options['tag']!r}" if choice.needs_tag else ""
            return choice.title + tag
    return str(request.kind).capitalize()


def state_line(request: ActionRequest) -> str:
    """Where the request stands, in words."""
    if request.stage is Stage.AWAITING:
        until = (
            f" until {date(int(request.expires * 1000), style='{time}')}" if request.expires else ""
        )
        return f"✋ Waiting for a second responder's approval{until}"
    if request.stage is Stage.SUBMITTING:
        return "📨 Sending to MDE…"
    if request.stage is Stage.SUBMITTED:
        return f"⏳ MDE: {escape(request.mde_status or 'Pending')}"
    if request.stage is Stage.DONE:
        return ENDINGS.get(request.mde_status or "", f"MDE: {escape(request.mde_status or '')}")
    if request.stage is Stage.REJECTED:
        return f"✋ Rejected by {mention(request.approver)}" if request.approver else "✋ Rejected"
    if request.stage is Stage.EXPIRED:
        return "⌛ Expired: nobody approved it in time"
    if request.stage is Stage.CANCELLED:
        return "🚫 Cancelled"
    return f"❌ Not done: {escape(request.note or 'MDE refused it')}"


def request_message(request: ActionRequest) -> Message:
    """The request's message in the card's thread, as it stands now: what, on what, who
    asked (and approved), the comment, the state; Approve / Reject while it waits, Cancel
    while MDE has not finished."""
    title = title_of(request)
    head = f"🛡️ *{escape(title)}* · {escape(request.subject_name)} · {escape(request.tenant)}"
    who = f"asked by {mention(request.requester)}"
    if request.approver and request.stage not in {Stage.REJECTED, Stage.EXPIRED}:
        who += f" · approved by {mention(request.approver)}"
    lines = [head, state_line(request), who]
    if request.comment:
        lines.append(f"> {escape(clip(request.comment, 500))}")
    if request.note and request.stage is not Stage.FAILED:
        lines.append(f"_{escape(request.note)}_")
    blocks: list[Block] = [section("\n".join(lines))]
    ref = encode(RequestRef(q=request.id))
    if request.stage is Stage.AWAITING:
        blocks.append(
            actions(
                [
                    button("Approve", action_id=ActionId.APPROVE, value=ref, style="primary"),
                    button("Reject", action_id=ActionId.REJECT, value=ref, style="danger"),
                ]
            )
        )
    elif request.stage is Stage.SUBMITTED and request.mde_id and not request.dry_run:
        blocks.append(actions([button("Cancel", action_id=ActionId.CANCEL, value=ref)]))
    blocks.append(context([f"request {request.id}" + (" · dry run" if request.dry_run else "")]))
    summary = f"{title} · {request.subject_name} · {request.tenant}: {_plain_state(request)}"
    return Message(notification(summary), blocks)


def _plain_state(request: ActionRequest) -> str:
    """The state for the notification: no mentions, no markup."""
    if request.stage is Stage.AWAITING:
        return "waiting for approval"
    if request.stage in {Stage.SUBMITTED, Stage.DONE}:
        return request.mde_status or str(request.stage)
    return str(request.stage)


def package_message(request: ActionRequest, url: str | None, expires: int | None) -> Message:
    """The investigation package's link, for the requester alone (a direct message); without
    one (MDE would not give it, or not one the bot can show safely), where to find it."""
    until = (
        f" It works until {date(expires, style='{time}')}."
        if expires
        else " It works for a short while only: download it now."
    )
    text = f"📦 The investigation package of {request.subject_name} ({request.tenant}) is ready"
    if url is not None and safe_url(url):
        where = (
            f": {link(url, 'download it')}.{until}\nThis link is yours alone: it is not posted "
            "in the channel."
        )
    else:
        where = (
            ", but MDE gave the bot no link it can pass on: download it from the device's "
            "action center in Defender."
        )
    body = (
        f"📦 The investigation package of *{escape(request.subject_name)}* "
        f"({escape(request.tenant)}) is ready{where}"
    )
    return Message(notification(text), [section(body)])
