"""PURE: the small messages: test connection, help, progress, refusals and errors. A lookup's
answer is `bot.render.report`."""

from __future__ import annotations

from bot.english import plural
from bot.enrichment.commands import HELP
from bot.enrichment.results import CheckReport, ConnectorCheck
from bot.render.kit import (
    WARNING,
    Block,
    Message,
    context,
    divider,
    fit,
    notification,
    section,
)
from bot.slack.mrkdwn import code, escape


def _step(ok: bool | None) -> str:
    return {True: "✅", False: "❌", None: "⚠️"}[ok]


def _check_blocks(check: ConnectorCheck) -> list[Block]:
    head = f"{_step(check.ok)} *{escape(check.alias)}* · {escape(check.cloud)}"
    lines = [f"{_step(check.token.ok)} {escape(check.token.message)}"]
    if check.token.hint:
        lines.append(f"    ↳ {escape(check.token.hint)}")
    for step in (check.audience, check.probe):
        if step is not None:
            lines.append(f"{_step(step.ok)} {escape(step.message)}")
            if step.hint and not step.ok:
                lines.append(f"    ↳ {escape(step.hint)}")
    table = []
    for permission in check.permissions:
        mark = _step(True if permission.granted else (False if permission.required else None))
        what = " or ".join(permission.roles[:2])
        state = (
            "granted"
            if permission.granted
            else "missing" + ("" if permission.required else " (optional)")
        )
        table.append(f"{mark} {escape(permission.feature)} — `{escape(what)}` {state}")
    blocks = [section(f"{head}\n" + "\n".join(lines))]
    if table:
        blocks.append(section("*Permissions*\n" + "\n".join(table)))
    blocks.append(context([code(check.api_url), code(check.authority)]))
    return blocks


def check_message(report: CheckReport) -> Message:
    bad = [c.alias for c in report.connectors if not c.ok]
    if not report.connectors:
        summary = f"{WARNING} No MDE connector is enabled"
    elif bad:
        verb = "needs" if len(bad) == 1 else "need"
        summary = f"❌ {plural(len(bad), 'connection')} {verb} attention: " + ", ".join(bad)
    elif len(report.connectors) == 1:
        summary = "✅ The MDE connection works"
    else:
        summary = f"✅ All {len(report.connectors)} MDE connections work"
    blocks: list[Block] = [section(f"*{escape(summary)}*")]
    for check in report.connectors:
        blocks += [divider(), *_check_blocks(check)]
    if report.demo:
        blocks.append(
            context(["demo: the embedded MDE simulator answers; set MDE_* to check yours"])
        )
    return Message(notification(summary), fit(blocks, context(["…"])))


def help_message() -> Message:
    return Message(notification("How to use /mde"), [section(HELP)])


def progress_message(indicators: int, tenants: int, queued_for: float) -> Message:
    text = f"🔎 Looking up {plural(indicators, 'indicator')} in {plural(tenants, 'tenant')}…"
    if queued_for >= 1:
        text += f" MDE's call budget is used up for now: queued, about {queued_for:.0f} s."
    return Message(notification(text), [section(escape(text))])


def busy_message(indicators: int) -> Message:
    """Nothing was looked up: MDE's call budget could not serve it before the answer expires."""
    text = (
        f"{WARNING} Not looked up: MDE's call budget is booked by the lookups already waiting, "
        f"and {plural(indicators, 'indicator')} would wait longer than an answer can be posted."
    )
    hint = "Try again in a few minutes, or ask about fewer indicators at once."
    return Message(notification(text), [section(f"{escape(text)}\n{escape(hint)}")])


def nothing_to_look_up_message() -> Message:
    summary = "No IP, host name, URL, domain, hash or file name in that text."
    return Message(
        notification(summary),
        [section(f"{escape(summary)}\n{HELP}")],
    )


def private_file_message() -> Message:
    text = "The OCSF file is in your direct messages with me."
    return Message(notification(text), [section(escape(text))])


def refusal_message() -> Message:
    text = "Sorry — you're not on this bot's access list here. Ask the team that runs it."
    return Message(notification(text), [section(escape(text))])


def error_message(message: str, hint: str = "") -> Message:
    """A failure, in our words: what happened and what to do."""
    body = f"{WARNING} {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return Message(notification(f"{WARNING} {message}"), [section(body)])
