"""Block Kit checks shared by the tests: slack_sdk's own block models, plus the limits they do
not check (50 blocks a message, 2000 characters a field), plus mrkdwn safety."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.render.kit import MAX_BLOCKS, MAX_FIELD_TEXT

# The only `<…>` sequences the bot itself writes: Slack dates, links to the Defender portal,
# mentions of the channels a reader's lookups were answered in (the App Home tab) and of the
# people who asked for and approved a response action (ids from Slack's own payloads), and
# quotes (a request's comment).
_OWN_MARKUP = re.compile(
    r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<https://security\.microsoft\.com/[^|<>]*\|[^<>]*>"
    r"|<#[CG][A-Z0-9]+>|<@[UW][A-Z0-9]+>|(?m:^> )"
)


def texts(blocks: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Every mrkdwn/plain text in the blocks."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, Mapping):
            if node.get("type") in {"mrkdwn", "plain_text"} and isinstance(node.get("text"), str):
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(list(blocks))


def assert_valid_blocks(blocks: Sequence[Mapping[str, Any]]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        Block.parse(dict(block)).validate_json()  # type: ignore[union-attr]
        for field in block.get("fields", []):
            assert len(field["text"]) <= MAX_FIELD_TEXT


def assert_no_injected_markup(blocks: Sequence[Mapping[str, Any]], text: str = "") -> None:
    """No `<` that Slack would read as a mention, a channel ping or a link, except our own."""
    for value in [*texts(blocks), text]:
        stripped = _OWN_MARKUP.sub("", value)
        assert "<" not in stripped, value
        assert ">" not in stripped, value
