"""PURE: Block Kit → readable terminal text, for the demo and `mde-bot enrich --format text`.

Renders what a person would see: links as `label <url>`, dates as their fallback text, Slack's
escapes undone, buttons as `[label]`, a menu as `[⋯]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack.mrkdwn import unescape

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def mrkdwn_to_text(text: str) -> str:
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 <\1>", text)
    text = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", r"\1", text)  # *bold*
    return unescape(text)


def _text(obj: Mapping[str, Any] | None) -> str:
    if not obj:
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn_to_text(raw) if obj.get("type") == "mrkdwn" else raw


def blocks_to_text(blocks: Iterable[Mapping[str, Any]], *, indent: str = "  ") -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "divider":
            lines.append(indent + "─" * 40)
        elif kind in {"section", "header"}:
            if text := _text(block.get("text")):
                text_lines = text.splitlines()
                if accessory := block.get("accessory"):
                    label = (
                        "⋯" if accessory.get("type") == "overflow" else _text(accessory.get("text"))
                    )
                    text_lines[0] += f"  [{label}]"
                lines.extend(indent + line for line in text_lines)
            for field in block.get("fields", []):
                label, _, value = _text(field).partition("\n")
                lines.append(f"{indent}{label + ':':<12} {value}".rstrip())
        elif kind == "context":
            parts = [_text(e) for e in block.get("elements", []) if e.get("type") != "image"]
            lines.append(indent + " · ".join(p for p in parts if p))
        elif kind == "input":  # a form's field: its label, and the choices when it has some
            element = block.get("element") or {}
            lines.append(f"{indent}{_text(block.get('label'))}:")
            chosen = (element.get("initial_option") or {}).get("value")
            for option in element.get("options") or []:
                mark = "(•)" if option.get("value") == chosen else "( )"
                lines.append(f"{indent}  {mark} {_text(option.get('text'))}")
            if initial := element.get("initial_value"):
                lines.append(f"{indent}  [{initial}]")
        elif kind == "actions":
            labels = [f"[{_text(e.get('text'))}]" for e in block.get("elements", [])]
            lines.append(indent + " ".join(labels))
    return "\n".join(lines)
