"""PURE: response actions in Slack: the "Respond…" form, the request's message in the card's
thread (updated as the action goes: waiting → Pending → InProgress → Succeeded, or how it
ended), and the direct message that carries an investigation package's link.

Built for a phone: the form fits one screen and says what it acts on (name, tenant, health,
last seen, tags); the message says in its first line what is asked, of which device, and how
far it has come.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import ocsf
from bot.actions.choices import BY_VALUE, Choice
from bot.actions.requests import ActionRequest, Stage
from bot.render.cards import containment_said, device_groups, device_label, device_state
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
from bot.slack.buttons import RESPOND_VIEW, ActionId, FormContext, RequestRef, encode
from bot.slack.mrkdwn import ago, date, escape, mention

MAX_VIEW_TITLE = 24  # Slack's limit for a modal's title
COMMENT_BLOCK, COMMENT = "comment", "comment"  # block and action ids of the form's inputs
CHOICE_BLOCK, CHOICE = "choice", "choice"
TAG_BLOCK, TAG = "tag", "tag"

# How each stage (and MDE's status within it) reads: an emoji and a few words.
ENDINGS = {
    "Succeeded": "✅ Succeeded",
    "Failed": "❌ Failed on the device",
    "TimeOut": "⌛ Timed out: MDE could not reach the device in time",
    "Cancelled": "🚫 Cancelled",
    "DryRun": "🧪 Dry run: nothing was sent to MDE",
}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def loading_view(device: str) -> dict[str, Any]:
    """What the form shows for the moment it takes to look the device up again."""
    return {
        "type": "modal",
        "callback_id": RESPOND_VIEW,
        "title": _plain("Respond", MAX_VIEW_TITLE),
        "close": _plain("Close", 24),
        "blocks": [section(f"Looking up {escape(device)}…")],
    }


def refusal_view(message: str, hint: str = "") -> dict[str, Any]:
    """The form, when there is nothing to offer: why, and what to do."""
    body = f"⚠️ {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return {
        "type": "modal",
        "title": _plain("Respond", MAX_VIEW_TITLE),
        "close": _plain("Close", 24),
        "blocks": [section(body)],
    }


def respond_view(
    device: ocsf.Device,
    tenant: str,
    choices: Sequence[Choice],
    *,
    form: FormContext,
    comment: str,
    now: int | None,
    approval_note: str = "",
    dry_run: bool = False,
    containment: Sequence[str] = (),
) -> dict[str, Any]:
    """The "Respond…" form: the device it acts on, the actions this responder may ask for
    (radio buttons, the first chosen), a tag when needed, and the comment MDE requires,
    prefilled with who and where."""
    facts = []
    if seen := ago(device.last_seen_time, now):
        facts.append(f"seen {seen}")
    facts += device_state(device)
    facts += [containment_said(state) for state in containment]
    if tags := device_groups(device)[1]:
        facts.append("🏷️ " + ", ".join(escape(t) for t in tags[:5]))
    head = f"*{escape(device_label(device))}* · {escape(tenant)}"
    blocks: list[Block] = [section(f"{head}\n{' · '.join(facts) or 'health unknown'}")]
    options = [{"text": _plain(c.label, 75), "value": c.value} for c in choices]
    blocks.append(
        {
            "type": "input",
            "block_id": CHOICE_BLOCK,
            "label": _plain("Action", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": CHOICE,
                "options": options,
                "initial_option": options[0],
            },
        }
    )
    if any(c.needs_tag for c in choices):
        blocks.append(
            {
                "type": "input",
                "block_id": TAG_BLOCK,
                "optional": True,
                "label": _plain("Tag (to add or remove)", 2000),
                "element": {"type": "plain_text_input", "action_id": TAG, "max_length": 200},
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": COMMENT_BLOCK,
            "label": _plain("Comment (MDE keeps it with the action)", 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": COMMENT,
                "multiline": True,
                "min_length": 3,
                "max_length": 1000,
                "initial_value": comment,
            },
        }
    )
    notes = [approval_note] if approval_note else []
    if dry_run:
        notes.append("Dry run: the request goes through, nothing is sent to MDE.")
    if notes:
        blocks.append(context([escape(n) for n in notes]))
    return {
        "type": "modal",
        "callback_id": RESPOND_VIEW,
        "title": _plain(f"Respond on {device_label(device)}", MAX_VIEW_TITLE),
        "submit": _plain("Request", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps(form.model_dump(), separators=(",", ":")),
        "blocks": blocks,
    }


def title_of(request: ActionRequest) -> str:
    """`Isolate (full)`: the choice's title, or the kind's name."""
    for choice in BY_VALUE.values():
        if choice.kind == request.kind and all(
            request.options.get(k) == v for k, v in choice.options.items()
        ):
            tag = f" {request.options['tag']!r}" if choice.needs_tag else ""
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


def package_message(request: ActionRequest, url: str, expires: int | None) -> Message:
    """The investigation package's link, for the requester alone (a direct message)."""
    until = (
        f" It works until {date(expires, style='{time}')}."
        if expires
        else " It works for a short while only: download it now."
    )
    text = f"📦 The investigation package of {request.subject_name} ({request.tenant}) is ready"
    where = (
        f": {link(url, 'download it')}.{until}\nThis link is yours alone: it is not posted in the "
        "channel."
        if safe_url(url)
        else ", but its link is not one the bot can show safely: download it from the action "
        "center in Defender."
    )
    body = (
        f"📦 The investigation package of *{escape(request.subject_name)}* "
        f"({escape(request.tenant)}) is ready{where}"
    )
    return Message(notification(text), [section(body)])
