"""PURE: the App Home tab: whether the MDE connections work, how to ask, and the reader's own
recent lookups. Built fresh each time someone opens it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from bot.enrichment.commands import HELP
from bot.enrichment.results import CheckReport, ConnectorCheck
from bot.render.kit import WARNING, Block, context, divider, fit, section
from bot.slack.mrkdwn import date, escape

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")  # public and private channels


class Lookup(Protocol):
    """A recent lookup as the tab lists it (`bot.slack.services.RecentLookup`)."""

    @property
    def at(self) -> int: ...
    @property
    def summary(self) -> str: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def private(self) -> bool: ...


def _connection(check: ConnectorCheck) -> str:
    """`✅ contoso · commercial`, or what is wrong first, in the test's own words."""
    head = f"*{escape(check.alias)}* · {escape(check.cloud)}"
    if check.ok:
        return f"✅ {head}"
    failed = [s for s in (check.token, check.audience, check.probe) if s is not None and not s.ok]
    missing = [p.feature for p in check.permissions if p.required and not p.granted]
    if failed:
        why = escape(failed[0].message)
    elif missing:
        why = "missing permission: " + escape(", ".join(missing))
    else:
        why = "not tested to the end"
    return f"❌ {head} — {why}"


def _where(lookup: Lookup) -> str:
    """`#incident` (a channel mention: Slack shows its name to those who may see it), or
    what kind of conversation it was."""
    channel = lookup.channel or ""
    if CHANNEL_ID.fullmatch(channel):
        place = f"<#{channel}>"
    else:
        place = "a direct message" if channel.startswith("D") else "a conversation"
    return f"{place}, to you alone" if lookup.private else place


def home_view(
    status: CheckReport | None,
    recent: Sequence[Lookup],
    *,
    allowed: bool = True,
    checked_at: int | None = None,
) -> dict[str, Any]:
    """The Home tab for one reader. `status`: the connections' last test, `checked_at`: when
    (epoch ms); neither is shown to a reader who is not `allowed`."""
    if not allowed:
        text = "Sorry — you're not on this bot's access list. Ask the team that runs it."
        return {"type": "home", "blocks": [section(escape(text))]}
    blocks: list[Block] = [section("*MDE Responder* — Defender for Endpoint in your channels")]
    blocks += [divider(), section("*Connections*")]
    if status is None or not status.connectors:
        blocks.append(section(f"{WARNING} No MDE connector is enabled."))
    else:
        blocks.append(section("\n".join(_connection(c) for c in status.connectors)))
        when = f"tested {date(checked_at)}" if checked_at is not None else "tested recently"
        hint = "`/mde check` shows every step and permission"
        demo = ["demo: the embedded MDE simulator answers"] if status.demo else []
        blocks.append(context([when, hint, *demo]))
    blocks += [divider(), section("*How to ask*"), section(HELP)]
    blocks.append(
        context(
            [
                "Paste indicators in a channel I'm in, or use *Look up in MDE* "
                "from a message's ⋯ menu (threads and direct messages too)."
            ]
        )
    )
    blocks += [divider(), section("*Your recent lookups*")]
    if recent:
        lines = [
            f"• {date(lookup.at)} · {_where(lookup)} · {escape(lookup.summary)}"
            for lookup in recent
        ]
        blocks.append(section("\n".join(lines)))
    else:
        blocks.append(context(["None yet: the lookups you ask for are listed here for a day."]))
    return {"type": "home", "blocks": fit(blocks[:MAX_HOME_BLOCKS], context(["…"]))}
