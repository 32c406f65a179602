"""Slack `rich_text` blocks → text in `event.text`'s encoding (links as `<url|text>`)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.slack.mrkdwn import escape


def rich_elements(elements: object, lines: list[str]) -> None:
    if not isinstance(elements, list):
        return
    for section in elements:
        if not isinstance(section, Mapping):
            continue
        kind = section.get("type")
        if kind == "rich_text_list":
            rich_elements(section.get("elements"), lines)
            continue
        inner = section.get("elements")
        items = inner if isinstance(inner, list) else []
        text = "".join(_rich_element(el) for el in items if isinstance(el, Mapping))
        lines.append(f"```{text}```" if kind == "rich_text_preformatted" else text)


def _rich_element(el: Mapping[str, object]) -> str:
    def field(name: str) -> str:
        value = el.get(name)
        return value if isinstance(value, str) else ""

    kind = field("type")
    if kind == "text":
        return escape(field("text"))
    if kind == "link":
        label = field("text")
        return f"<{field('url')}|{escape(label)}>" if label else f"<{field('url')}>"
    if kind == "user":
        return f"<@{field('user_id')}>"
    if kind == "channel":
        return f"<#{field('channel_id')}>"
    if kind == "usergroup":
        return f"<!subteam^{field('usergroup_id')}>"
    if kind == "broadcast":
        return f"<!{field('range')}>"
    if kind == "emoji":
        return f":{field('name')}:"
    return escape(field("fallback") or field("text") or field("value"))
