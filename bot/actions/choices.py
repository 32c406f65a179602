"""PURE: the response actions a device offers, as a responder picks them in the "Respond…"
form: each choice is an action and its options, with the words people read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.mde.actions import ActionKind


@dataclass(frozen=True, slots=True)
class Choice:
    value: str  # what the form sends back
    kind: ActionKind
    label: str  # in the form (at most 75 characters)
    title: str  # in the request's message: "Isolate (full)"
    options: Mapping[str, str] = field(default_factory=dict)
    needs_tag: bool = False


DEVICE_CHOICES: tuple[Choice, ...] = (
    Choice(
        "isolate_full",
        ActionKind.ISOLATE,
        "Isolate (full)",
        "Isolate (full)",
        {"isolation": "Full"},
    ),
    Choice(
        "isolate_selective",
        ActionKind.ISOLATE,
        "Isolate (selective: Outlook and Teams keep working)",
        "Isolate (selective)",
        {"isolation": "Selective"},
    ),
    Choice("release", ActionKind.RELEASE, "Release from isolation", "Release from isolation"),
    Choice(
        "scan_quick",
        ActionKind.SCAN,
        "Antivirus scan (quick)",
        "Antivirus scan (quick)",
        {"scan": "Quick"},
    ),
    Choice(
        "scan_full",
        ActionKind.SCAN,
        "Antivirus scan (full)",
        "Antivirus scan (full)",
        {"scan": "Full"},
    ),
    Choice(
        "collect",
        ActionKind.COLLECT,
        "Collect an investigation package",
        "Collect an investigation package",
    ),
    Choice("restrict", ActionKind.RESTRICT, "Restrict app execution", "Restrict app execution"),
    Choice(
        "unrestrict",
        ActionKind.UNRESTRICT,
        "Remove the app restriction",
        "Remove the app restriction",
    ),
    Choice(
        "tag_add", ActionKind.TAG, "Add a tag", "Add a tag", {"tag_action": "Add"}, needs_tag=True
    ),
    Choice(
        "tag_remove",
        ActionKind.TAG,
        "Remove a tag",
        "Remove a tag",
        {"tag_action": "Remove"},
        needs_tag=True,
    ),
)
BY_VALUE: Mapping[str, Choice] = {c.value: c for c in DEVICE_CHOICES}


def device_choices(allowed: frozenset[ActionKind]) -> list[Choice]:
    """The choices a responder allowed `allowed` kinds sees, in the form's order."""
    return [c for c in DEVICE_CHOICES if c.kind in allowed]
