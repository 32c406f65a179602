"""PURE: safe pieces of Slack mrkdwn.

Every string that came from MDE, from a user or from an indicator goes through `escape` (or
`code`) before it is placed in mrkdwn: that defuses `<!channel>`, `<@U…>`, `<https://x|y>` and the
rest of Slack's control sequences. Indicators are defanged besides (`bot.indicators.defang`), so
nobody taps a live malicious link on a phone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime


def escape(text: str) -> str:
    """Slack's three control characters, `&` first."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What `escape` did, undone (Slack escapes exactly these three in what it sends); `&amp;`
    last, so that `&amp;lt;` stays `&lt;`."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def code(text: str) -> str:
    """Inline code: escaped, and a backtick in the data cannot close the span."""
    return "`" + escape(text.replace("`", "ˋ")) + "`"  # noqa: RUF001 - a look-alike on purpose


def date(epoch_ms: int | None, *, style: str = "{date_short_pretty} {time}") -> str:
    """A timestamp each reader sees in their own time zone, with a UTC fallback."""
    if epoch_ms is None:
        return "—"
    seconds = epoch_ms // 1000
    fallback = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{seconds}^{style}|{fallback}>"


def ago(epoch_ms: int | None, now_ms: int | None) -> str:
    """How long ago, as a phone has room for: `just now`, `5 min ago`, `3 h ago`, `2 d ago`,
    `5 wk ago`; empty when either time is unknown."""
    if epoch_ms is None or now_ms is None:
        return ""
    seconds = max(0, (now_ms - epoch_ms) // 1000)
    for unit, size in (("wk", 7 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def mention(user: str) -> str:
    """A Slack user mention (`<@U…>`) for an id from Slack's own payloads; anything that is not
    an id is shown as escaped text, never as markup."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape(user)
