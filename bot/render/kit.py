"""PURE: Block Kit primitives that carry Slack's limits, so no message we build can be refused.

Limits (docs.slack.dev; slack_sdk's block models): 50 blocks a message, section text 3000
characters, 10 fields of 2000, 10 context elements, button text 75, button value 2000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from bot import ocsf
from bot.slack.mrkdwn import escape

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_ACTIONS = 25
MAX_BUTTON_URL = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OVERFLOW_OPTIONS = 5
MAX_NOTIFICATION_TEXT = 300  # far below Slack's 40,000: it is one line on a lock screen
# The whole message: Slack refuses one whose blocks hold more than about 13,000 characters of
# text in all (`msg_blocks_too_long`), each block within its own limits; and the bot keeps the
# payload itself small (button values and URLs count there, not in the text).
MAX_MESSAGE_TEXT = 12_000
MAX_MESSAGE_BYTES = 40_000

SEVERITY_EMOJI = {
    ocsf.SeverityId.CRITICAL: "🟣",
    ocsf.SeverityId.HIGH: "🔴",
    ocsf.SeverityId.MEDIUM: "🟠",
    ocsf.SeverityId.LOW: "🟡",
    ocsf.SeverityId.INFORMATIONAL: "🔵",
}
NO_ALERTS = "⚪"
WARNING = "⚠️"


@dataclass(frozen=True, slots=True)
class Message:
    text: str  # the notification and fallback text: mrkdwn, escaped, one line
    blocks: list[Block]
    # What to post instead when Slack refuses this message (None: its text alone).
    smaller: Message | None = None

    def as_response(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, never cutting an escape (`&amp;`) or our own markup
    (`<!date^…>`) in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    if (lt := cut.rfind("<")) > cut.rfind(">"):
        cut = cut[:lt]
    return cut + "…"


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> Block:
    """A mrkdwn text object; `verbatim` stops Slack from linking URLs and channel names in it."""
    return {"type": "mrkdwn", "text": clip(text, limit), "verbatim": True}


def section(text: str, *, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields(pairs: Iterable[tuple[str, str]]) -> Block:
    """Short `*Label*\\nvalue` pairs: the two-column grid that stays readable on a phone."""
    items = [mrkdwn(f"*{label}*\n{value}", MAX_FIELD_TEXT) for label, value in pairs]
    return {"type": "section", "fields": items[:MAX_FIELDS]}


def context(parts: Iterable[str]) -> Block:
    text = " · ".join(p for p in parts if p)
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> Block:
    return {"type": "divider"}


# The links the bot makes: https, a host, a path and query of URL characters only.
SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$")


def safe_url(url: str) -> bool:
    return len(url) <= MAX_BUTTON_URL and bool(SAFE_URL.match(url))


def button(
    label: str,
    *,
    action_id: str,
    value: str | None = None,
    url: str | None = None,
    style: Literal["primary", "danger"] | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = value
    if url is not None:
        element["url"] = url
    if style is not None:
        element["style"] = style
    return element


def option(label: str, value: str, *, url: str | None = None) -> Block:
    """An option of a menu; `url` opens a link (an overflow menu's options may). A value is a
    payload the bot parses back, so one that does not fit is a bug, never cut."""
    if len(value) > MAX_OPTION_VALUE:
        raise ValueError(f"an option's value is limited to {MAX_OPTION_VALUE} characters")
    item: Block = {
        "text": {"type": "plain_text", "text": clip(label, MAX_OPTION_TEXT), "emoji": True},
        "value": value,
    }
    if url is not None:
        item["url"] = url
    return item


def overflow(action_id: str, options: list[Block]) -> Block:
    """A `⋯` menu: one accessory instead of a row of buttons (2 to 5 options)."""
    return {"type": "overflow", "action_id": action_id, "options": options[:MAX_OVERFLOW_OPTIONS]}


def actions(elements: list[Block]) -> Block:
    return {"type": "actions", "elements": elements[:MAX_ACTIONS]}


def severity_emoji(severity: ocsf.SeverityId | None) -> str:
    return SEVERITY_EMOJI.get(severity, NO_ALERTS) if severity is not None else NO_ALERTS


def notification(text: str) -> str:
    """The `text` of a message: Slack parses it as mrkdwn too, so it is escaped as well."""
    return clip(escape(text), MAX_NOTIFICATION_TEXT)


def text_size(node: Any) -> int:
    """The characters of text (mrkdwn and plain) in a block or blocks, as Slack counts them
    against a message's total."""
    if isinstance(node, dict):
        own = len(node["text"]) if isinstance(node.get("text"), str) else 0
        return own + sum(text_size(v) for v in node.values())
    if isinstance(node, list):
        return sum(text_size(item) for item in node)
    return 0


def fit(blocks: list[Block], overflow: Block) -> list[Block]:
    """At most MAX_BLOCKS blocks, MAX_MESSAGE_TEXT characters of text and MAX_MESSAGE_BYTES of
    JSON; when cut, the last block kept says so (`overflow`)."""
    sizes = [(text_size(b), len(json.dumps(b, ensure_ascii=False))) for b in blocks]
    if (
        len(blocks) <= MAX_BLOCKS
        and sum(t for t, _ in sizes) <= MAX_MESSAGE_TEXT
        and sum(b for _, b in sizes) <= MAX_MESSAGE_BYTES
    ):
        return blocks
    text = text_size(overflow)
    size = len(json.dumps(overflow, ensure_ascii=False))
    kept: list[Block] = []
    for block, (block_text, block_size) in zip(blocks, sizes, strict=True):
        text, size = text + block_text, size + block_size
        if len(kept) == MAX_BLOCKS - 1 or text > MAX_MESSAGE_TEXT or size > MAX_MESSAGE_BYTES:
            break
        kept.append(block)
    return [*kept, overflow]


def link(url: str, label: str) -> str:
    """A mrkdwn link to one of the bot's own URLs (`safe_url`), its label escaped; `|` would
    end the label early."""
    return f"<{url}|{escape(label).replace('|', '¦')}>"
