"""PURE: the response forms (Slack modals) and how their answers read back.

    respond     a device card's "Respond…": isolate, release, scan, collect, restrict, tag
    triage      a device card's "Triage alerts…": one of its alerts: status, classification,
                determination, assign to me, comment
    block       a lookup's "Block…": one pasted value as a custom indicator in MDE (block or
                alert only), in the tenants chosen, with an expiry and a title
    quarantine  a lookup's "Quarantine…": stop and quarantine a file on the devices chosen

Built for a phone: each form fits one screen, says in its first line what it acts on, and asks
for the comment MDE keeps with the action, prefilled with who and where. Every input's block id
is its action id too, so `form_values` reads a submission back by the ids below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import ocsf
from bot.actions.choices import Choice
from bot.mde.vocabulary import BLOCK_ACTIONS, CLASSIFICATIONS, DETERMINATIONS_OF, said
from bot.render.cards import containment_said, device_groups, device_label, device_state
from bot.render.kit import Block, clip, context, section
from bot.slack.buttons import (
    BLOCK_VIEW,
    QUARANTINE_VIEW,
    RESPOND_VIEW,
    TRIAGE_VIEW,
    FormContext,
    ReportForm,
    encode,
)
from bot.slack.mrkdwn import ago, escape

MAX_VIEW_TITLE = 24  # Slack's limits: a modal's title, an option's text, a select's options,
MAX_OPTION = 75  # a checkbox group's options, radio buttons (below)
MAX_SELECT = 100
MAX_CHECKBOXES = 10

# Block (and action) ids of the inputs.
CHOICE, TAG, COMMENT = "choice", "tag", "comment"
ALERT, STATUS, CLASSIFICATION, DETERMINATION, ASSIGN = (
    "alert", "status", "classification", "determination", "assign",
)  # fmt: skip
VALUE, VERB, TENANTS, DAYS, TITLE = "value", "verb", "tenants", "days", "title"
TARGETS = "targets"

KEEP = "keep"  # a triage choice that leaves the field as it is
ME = "me"  # "assign to me": the email is read again from Slack when the form is submitted
STATUS_PICKS = (
    (KEEP, "Leave as it is"),
    ("InProgress", said("InProgress")),
    ("Resolved", said("Resolved")),
)
CLASSIFICATION_PICKS = tuple((c, said(c)) for c in CLASSIFICATIONS)
DETERMINATION_PICKS = tuple(
    (d, said(d)) for d in dict.fromkeys(d for ds in DETERMINATIONS_OF.values() for d in ds)
)
VERB_PICKS = tuple((v, said(v)) for v in BLOCK_ACTIONS)
MAX_RADIO = 10
EXPIRY_DAYS = (1, 7, 30, 90, 365)


@dataclass(frozen=True, slots=True)
class Pick:
    """One option of a select or a checkbox group: what the form sends back, what people read."""

    value: str
    label: str


# ---------------------------------------------------------------------- pieces


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _options(picks: Sequence[Pick]) -> list[dict[str, Any]]:
    return [{"text": _plain(p.label, MAX_OPTION), "value": p.value} for p in picks]


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label, 2000),
        "element": {**element, "action_id": block_id},
    }


def _choose(
    block_id: str, label: str, picks: Sequence[Pick], *, initial: str | None = None, radio: bool
) -> Block:
    """Radio buttons (few, all visible) or a select (many); `initial` chosen when given."""
    options = _options(picks)
    element: dict[str, Any] = {"type": "radio_buttons" if radio else "static_select"}
    element["options"] = options[:MAX_RADIO] if radio else options[:MAX_SELECT]
    if not radio:
        element["placeholder"] = _plain("Choose", 150)
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _input(block_id, label, element, optional=initial is None and not radio)


def _checkboxes(
    block_id: str, label: str, picks: Sequence[Pick], *, checked: Sequence[str] = ()
) -> Block:
    options = _options(picks[:MAX_CHECKBOXES])
    element: dict[str, Any] = {"type": "checkboxes", "options": options}
    initial = [o for o in options if o["value"] in checked]
    if initial:
        element["initial_options"] = initial
    return _input(block_id, label, element)


def _text(block_id: str, label: str, initial: str, *, limit: int, multiline: bool) -> Block:
    element = {
        "type": "plain_text_input",
        "multiline": multiline,
        "min_length": 3,
        "max_length": limit,
        "initial_value": clip(initial, limit),
    }
    return _input(block_id, label, element)


def _comment(prefill: str) -> Block:
    return _text(
        COMMENT, "Comment (MDE keeps it with the action)", prefill, limit=1000, multiline=True
    )


def _modal(
    callback: str, title: str, blocks: list[Block], metadata: str, notes: Sequence[str]
) -> dict[str, Any]:
    if shown := [escape(n) for n in notes if n]:
        blocks = [*blocks, context(shown)]
    return {
        "type": "modal",
        "callback_id": callback,
        "title": _plain(title, MAX_VIEW_TITLE),
        "submit": _plain("Request", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _device_head(
    device: ocsf.Device, tenant: str, now: int | None, containment: Sequence[str]
) -> Block:
    """What a device form acts on: name and tenant; last seen, health, containment, tags."""
    facts = []
    if seen := ago(device.last_seen_time, now):
        facts.append(f"seen {seen}")
    facts += device_state(device)
    facts += [containment_said(state) for state in containment]
    if tags := device_groups(device)[1]:
        facts.append("🏷️ " + ", ".join(escape(t) for t in tags[:5]))
    head = f"*{escape(device_label(device))}* · {escape(tenant)}"
    return section(f"{head}\n{' · '.join(facts) or 'health unknown'}")


# ---------------------------------------------------------------------- views


def loading_view(callback: str, what: str) -> dict[str, Any]:
    """What a form shows for the moment it takes to look its subject up again."""
    return {
        "type": "modal",
        "callback_id": callback,
        "title": _plain("Respond", MAX_VIEW_TITLE),
        "close": _plain("Close", 24),
        "blocks": [section(f"Looking up {escape(what)}…")],
    }


def refusal_view(message: str, hint: str = "") -> dict[str, Any]:
    """A form, when there is nothing to offer: why, and what to do."""
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
    notes: Sequence[str] = (),
    containment: Sequence[str] = (),
) -> dict[str, Any]:
    """The "Respond…" form: the device, the actions this responder may ask for (the first
    chosen), a tag when one of them needs it, and the comment."""
    picks = [Pick(c.value, c.label) for c in choices]
    blocks = [
        _device_head(device, tenant, now, containment),
        _choose(CHOICE, "Action", picks, initial=picks[0].value, radio=True),
    ]
    if any(c.needs_tag for c in choices):
        tag = {"type": "plain_text_input", "max_length": 200}
        blocks.append(_input(TAG, "Tag (to add or remove)", tag, optional=True))
    blocks.append(_comment(comment))
    title = f"Respond on {device_label(device)}"
    return _modal(RESPOND_VIEW, title, blocks, encode(form), notes)


def triage_view(
    device: ocsf.Device,
    tenant: str,
    alerts: Sequence[Pick],
    *,
    form: FormContext,
    comment: str,
    now: int | None,
    email: str | None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The "Triage an alert…" form: one of the device's alerts (the worst first), its new
    status, classification and determination, "assign to me" (when Slack gave the user's
    email), and the comment MDE adds to the alert."""
    blocks = [
        _device_head(device, tenant, now, ()),
        _choose(ALERT, "Alert", alerts, initial=alerts[0].value, radio=False),
        _choose(STATUS, "Status", [Pick(*s) for s in STATUS_PICKS], initial=KEEP, radio=True),
        _choose(
            CLASSIFICATION, "Classification", [Pick(*c) for c in CLASSIFICATION_PICKS], radio=False
        ),
        _choose(
            DETERMINATION, "Determination", [Pick(*d) for d in DETERMINATION_PICKS], radio=False
        ),
    ]
    if email:
        me = _options([Pick(ME, f"Assign to me ({email})")])
        assign = {"type": "checkboxes", "options": me}
        blocks.append(_input(ASSIGN, "Owner", assign, optional=True))
    blocks.append(_comment(comment))
    return _modal(TRIAGE_VIEW, f"Triage on {device_label(device)}", blocks, encode(form), notes)


def block_view(
    values: Sequence[Pick],
    tenants: Sequence[str],
    *,
    form: ReportForm,
    comment: str,
    title: str,
    days: int,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The "Block…" form: one of the pasted values MDE can hold (defanged in the labels),
    what MDE does with it, in which tenants (all checked), for how long, the indicator's
    title (it names the channel), and the comment (its description)."""
    spans = sorted({*EXPIRY_DAYS, days})
    blocks = [
        _choose(VALUE, "Value", values, initial=values[0].value, radio=False),
        _choose(VERB, "In MDE", [Pick(*v) for v in VERB_PICKS], initial="Block", radio=True),
        _checkboxes(TENANTS, "Tenants", [Pick(t, t) for t in tenants], checked=tenants),
        _choose(
            DAYS,
            "Expires after",
            [Pick(str(n), "1 day" if n == 1 else f"{n} days") for n in spans],
            initial=str(days),
            radio=False,
        ),
        _text(TITLE, "Title", title, limit=100, multiline=False),
        _comment(comment),
    ]
    return _modal(BLOCK_VIEW, "Block in MDE", blocks, encode(form), notes)


def quarantine_view(
    targets: Sequence[Pick],
    *,
    form: ReportForm,
    comment: str,
    more: int = 0,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The "Quarantine…" form: stop the file and quarantine it on the devices chosen (each a
    separate action in MDE), from the devices where the lookup saw it."""
    blocks = [
        section("Stops the file's processes and quarantines it on each device chosen."),
        _checkboxes(TARGETS, "Files and devices", targets),
        _comment(comment),
    ]
    if more:
        notes = [*notes, f"{more} more devices saw it: act on them in Defender."]
    return _modal(QUARANTINE_VIEW, "Stop and quarantine", blocks, encode(form), notes)


# ---------------------------------------------------------------------- answers


def form_values(view: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """A submitted form's answers by input id: a text's value, a choice's value, or a
    checkbox group's values (empty inputs are left out)."""
    state = (view.get("state") or {}).get("values") or {}
    answers: dict[str, str | list[str]] = {}
    for block_id, elements in state.items():
        element = (elements or {}).get(block_id) or {}
        if (chosen := element.get("selected_option")) is not None:
            answers[block_id] = str(chosen.get("value") or "")
        elif (many := element.get("selected_options")) is not None:
            answers[block_id] = [str(o.get("value") or "") for o in many]
        elif (value := element.get("value")) is not None and str(value).strip():
            answers[block_id] = str(value).strip()
    return answers
