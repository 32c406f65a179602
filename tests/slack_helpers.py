"""Reading what reached the Slack stand-in, for the end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

from bot.demo.standin import SlackStandIn, clickables
from bot.render.text import blocks_to_text
from tests.blockkit import assert_no_injected_markup, assert_valid_blocks


def shown(payload: dict[str, Any]) -> str:
    """What a person sees: the blocks as text, or the text alone."""
    blocks = payload.get("blocks") or []
    return blocks_to_text(blocks, indent="") if blocks else str(payload.get("text", ""))


def checked(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload, after asserting it is valid, safe Block Kit."""
    if payload.get("blocks"):
        assert_valid_blocks(payload["blocks"])
        assert_no_injected_markup(payload["blocks"], str(payload.get("text", "")))
    return payload


async def answers(slack: SlackStandIn, count: int, within: float = 10.0) -> list[dict[str, Any]]:
    """Wait for `count` response_url posts and return them, each checked."""
    await slack.wait_for(lambda: len(slack.responses()) >= count, within)
    return [checked(p) for p in slack.responses()]


async def posts(slack: SlackStandIn, count: int, within: float = 10.0) -> list[dict[str, Any]]:
    """Wait for `count` chat.postMessage calls and return them, each checked."""
    await slack.wait_for(lambda: len(slack.calls("chat.postMessage")) >= count, within)
    return [checked(p) for p in slack.calls("chat.postMessage")]


def control(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What a responder taps to do `action_id`: (the button, None), or (the menu, its option)
    for a device menu's option, whose value names the action it does (`a`)."""
    for element, option in clickables(blocks):
        if option is None and element["action_id"] == action_id:
            return element, None
        if option is not None and json.loads(option["value"]).get("a") == action_id:
            return element, option
    raise LookupError(f"nothing on the card does {action_id}")
