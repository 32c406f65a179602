"""Section 9, phone: the bot's answer cards as a responder's phone shows them.

Six fixed messages (`bench.phone_cards`: a 1-indicator paste, a 10-indicator paste and its
"Show all", the 1-indicator paste while fabrikam refuses the bot's sign-in, a device's details,
the connection test with fabrikam failing) are rendered by the bot's own code against the
embedded simulator, in this process. The vendored `bench/blockkit_preview` tool then draws each
one as Slack's mobile app lays it out, in headless Chromium on a 390 x 844 px phone screen, and
says how tall it is in screens and what a responder reads before scrolling (its first screen).
Its validator checks every message against slack_sdk's block models and Slack's limits.

    figure                                                  target
    1 indicator: screens                                    ≤ 0.8
    10 mixed indicators: screens                            ≤ 1.5
    10 mixed: indicators whose verdict is on the first screen   all 10
    tenant failure: fabrikam named in the notification      yes
    tenant failure: fabrikam named on the first screen      yes
    Block Kit violations, all messages                      0, and ≤ 50 blocks each
    Show all: what the collapsed card says, all kept        yes (verdicts, files, notes)
    Show all, device details, test connection: screens      (reported)

Before and after: a full run also renders the same messages with the bot as it was before the
answer-first cards (commit aea880c: its `bot/` from `git archive`, with `bench/phone_cards.py`
beside it), measures them the same way, and reports screens now ÷ before. A quick run leaves
that out. A full run also writes the README's screenshots into docs/img/.

Without Chromium the measured figures say "not available" (`make bench` installs it as root on
Debian: chromium, fonts-lato, fonts-noto-color-emoji); the Block Kit check needs only slack_sdk.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench import phone_cards
from bench.child import ROOT
from bench.common import Figure, SectionResult, rounded
from bench.phone_cards import FAILING_TENANT, TEN_INDICATORS, TEN_TEXT, TITLES
from bot import logs
from bot.indicators import extract

SECTION = "9 phone"
TOOL = ROOT / "bench" / "blockkit_preview"
BEFORE_COMMIT = "aea880c"  # the last commit before the answer-first cards
SCREENS_TARGET = {"one-indicator": 0.8, "ten-mixed": 1.5}
MAX_BLOCKS = 50  # Slack's limit per message
# The screenshots the README shows, written on every full run.
README_IMAGES = {
    "one-indicator": "card-one-ip.png",
    "ten-mixed": "card-ten-mixed.png",
    "tenant-failure": "card-tenant-failure.png",
    "device-details": "card-device-details.png",
}
DOCS_IMG = ROOT / "docs" / "img"
BOT_NAME = "MDE Responder"  # manifest.yaml's display name, drawn above the card
CHANNEL = "#incident"
INSTALL = "apt-get install chromium fonts-lato fonts-noto-color-emoji"  # what `make bench` runs
TIMEOUT = 120.0  # seconds for one run of a tool (Chromium takes 1-2 s a message)
VERDICT_ARROW = " → "  # how a verdict line reads: `10[.]1[.]2[.]3` → ws-fin-042 · …
FILE_CARD = "📄"  # how a file card starts (bot.render.cards.file_card)
NOTE = "💡"  # how a note on an indicator starts


class NotMeasured(RuntimeError):
    """A step the section can do without (the before/after comparison) could not run."""


# ---------------------------------------------------------------------- the tools


def _tool(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """One of the vendored scripts (or `phone_cards.py`), run by path with this interpreter
    (the venv's: validate.py needs its slack_sdk), without the developer's MDE_*, SLACK_* and
    BOT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDE_", "SLACK_", "BOT_"))}
    return subprocess.run(  # noqa: S603 - our own interpreter and scripts, fixed arguments
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )


def chromium() -> str | None:
    """The Chromium binary measure.py will use, if there is one."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def measure(message: Path, png: Path) -> dict[str, Any]:
    """measure.py's figures for one message (px, screens, blocks, notification,
    first_screen_text, block_tops), and its screenshot saved as `png`."""
    where = ["--bot", BOT_NAME, "--channel", CHANNEL]
    done = _tool([str(TOOL / "measure.py"), str(message), "--png", str(png), *where])
    if done.returncode != 0:
        raise RuntimeError(f"measure.py {message.name}: {done.stderr.strip()[-300:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def validate(messages: dict[str, Path]) -> dict[str, list[str]]:
    """validate.py's verdict on each message, by name: the limits it breaks (none: [])."""
    done = _tool([str(TOOL / "validate.py"), *map(str, messages.values())])
    problems: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():  # `<name>  <n> blocks  OK` or `… a; b`
        name, _, rest = line.strip().partition(" ")
        status = rest.split("blocks", 1)[-1].strip()
        problems[name] = [] if status == "OK" else status.split("; ")
    if set(problems) != {path.stem for path in messages.values()}:
        raise RuntimeError(f"validate.py said: {done.stdout.strip()} {done.stderr.strip()}"[:300])
    return {name: problems[path.stem] for name, path in messages.items()}


# ---------------------------------------------------------------------- reading the messages


def plain(text: str) -> str:
    """mrkdwn or a page's text, reduced to what both show alike: a link to its label, no
    formatting marks, no spaces. For "is this line on the first screen". (A Slack date becomes
    its fallback text, which the phone does not show: verdict lines carry no dates.)"""
    text = re.sub(r"<[^<>|]*\|([^<>]*)>", r"\1", text)
    text = html.unescape(text)
    return re.sub(r"[\s*_~`]", "", text)


def _text(block: dict[str, Any]) -> str:
    """A block's own text (not its fields' or elements')."""
    return str((block.get("text") or {}).get("text", ""))


def verdict_lines(message: dict[str, Any]) -> list[str]:
    """The lines of the message's verdict sections: the sections after the headline (and the
    tenant problems right under it), up to the first file card or divider; a verdict line is
    one with ` → `."""
    lines: list[str] = []
    for block in message["blocks"][1:]:
        if block["type"] != "section" or "accessory" in block or _text(block).startswith(FILE_CARD):
            break
        lines += [line for line in _text(block).splitlines() if VERDICT_ARROW in line]
    return lines


def indicators_named(lines: list[str]) -> int:
    """How many indicators the verdict lines speak of: the code spans before each arrow (one
    line may speak of several indicators MDE says the same of)."""
    return sum(len(re.findall(r"`[^`]+`", line.split(VERDICT_ARROW)[0])) for line in lines)


def left_out_by_show_all(collapsed: dict[str, Any], expanded: dict[str, Any]) -> list[str]:
    """What the collapsed card says that "Show all" leaves out: its verdict lines, file cards
    and notes, each looked for in the expanded message (empty: all kept)."""
    said = verdict_lines(collapsed)
    for block in collapsed["blocks"]:
        if _text(block).startswith(FILE_CARD):
            said.append(_text(block))
        said += [
            e["text"] for e in block.get("elements", []) if str(e.get("text", "")).startswith(NOTE)
        ]
    everything = json.dumps(expanded["blocks"], ensure_ascii=False)
    return [s for s in said if json.dumps(s, ensure_ascii=False)[1:-1] not in everything]


def on_first_screen(lines: list[str], figures: dict[str, Any]) -> list[str]:
    """The lines the first screen shows in full."""
    first = plain(figures["first_screen_text"])
    return [line for line in lines if plain(line) in first]


def named_in(tenant: str, text: str) -> str:
    return "yes" if tenant in text else "no"


# ---------------------------------------------------------------------- before and after


def render_before(work: Path) -> dict[str, Path]:
    """The same messages, rendered by the bot of BEFORE_COMMIT: its `bot/` from `git archive`
    into `work`, `phone_cards.py` beside it (run as a script, so that `bot` is that tree's)."""
    tree = work / "before-tree"
    archive = subprocess.run(  # noqa: S603 - a fixed git command line
        ["git", "archive", "--format=tar", BEFORE_COMMIT, "bot"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if archive.returncode != 0:
        reason = archive.stderr.decode(errors="replace").strip()[-200:]
        raise NotMeasured(f"git archive {BEFORE_COMMIT} failed: {reason}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    shutil.copy(phone_cards.__file__, tree / "phone_cards.py")
    out = work / "before"
    done = _tool([str(tree / "phone_cards.py"), str(out)], cwd=tree)
    if done.returncode != 0:
        raise NotMeasured(f"the {BEFORE_COMMIT} tree did not render: {done.stderr.strip()[-300:]}")
    used = Path(done.stdout.strip().splitlines()[-1]).resolve()
    if used != (tree / "bot").resolve():
        raise NotMeasured(f"the messages came from {used}, not from the {BEFORE_COMMIT} tree")
    return {name: out / f"{name}.json" for name in TITLES}


def said_before(messages: dict[str, Path], measured: dict[str, dict[str, Any]]) -> str:
    """What the section checks of this run's messages, said of the messages before."""
    ten = json.loads(messages["ten-mixed"].read_text("utf-8"))
    failure = measured["tenant-failure"]
    broken = sum(len(p) for p in validate(messages).values())
    return (
        f"Before (commit {BEFORE_COMMIT}): verdict lines in the 10-indicator card: "
        f"{len(verdict_lines(ten))}; the tenant failure card named {FAILING_TENANT} in the "
        f"notification: {named_in(FAILING_TENANT, failure['notification'])}, on the first "
        f"screen: {named_in(FAILING_TENANT, failure['first_screen_text'])}; Block Kit "
        f"violations: {broken}."
    )


# ---------------------------------------------------------------------- the section


def _size(figures: dict[str, Any]) -> str:
    return f"{figures['px']} px, {figures['blocks']} blocks"


def measure_all(messages: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """measure.py on each message; the screenshot beside it (`<name>.png`)."""
    return {name: measure(path, path.with_suffix(".png")) for name, path in messages.items()}


def phone_figures(
    messages: dict[str, dict[str, Any]], measured: dict[str, dict[str, Any]]
) -> list[Figure]:
    """The figures drawn from the phone: heights, and what the first screen shows."""
    figures = [
        Figure(
            SECTION,
            f"{TITLES[name]}: screens",
            measured[name]["screens"],
            f"≤ {target}",
            measured[name]["screens"] <= target,
            _size(measured[name]),
        )
        for name, target in SCREENS_TARGET.items()
    ]
    verdicts = verdict_lines(messages["ten-mixed"])
    shown = on_first_screen(verdicts, measured["ten-mixed"])
    missing = [v for v in verdicts if v not in shown]
    figures.append(
        Figure(
            SECTION,
            f"{TITLES['ten-mixed']}: indicators whose verdict is on the first screen",
            f"{indicators_named(shown)} of {TEN_INDICATORS}",
            "all",
            indicators_named(shown) == TEN_INDICATORS and not missing,
            f"not on it: {'; '.join(missing)}"[:200] if missing else "",
        )
    )
    failure = measured["tenant-failure"]
    for where, text in (
        ("in the notification", failure["notification"]),
        ("on the first screen", failure["first_screen_text"]),
    ):
        said = named_in(FAILING_TENANT, text)
        figures.append(
            Figure(
                SECTION,
                f"tenant failure: {FAILING_TENANT} named {where}",
                said,
                "yes",
                said == "yes",
                f"notification: {failure['notification']}" if "notification" in where else "",
            )
        )
    return figures


def info_screens(measured: dict[str, dict[str, Any]], names: list[str]) -> list[Figure]:
    return [
        Figure(
            SECTION, f"{TITLES[n]}: screens", measured[n]["screens"], absolute=_size(measured[n])
        )
        for n in names
    ]


def blockkit_figure(messages: dict[str, dict[str, Any]], problems: dict[str, list[str]]) -> Figure:
    """Every limit any message breaks, as validate.py counts them, and the most blocks."""
    count = sum(len(p) for p in problems.values())
    most = max(len(m["blocks"]) for m in messages.values())
    broken = "; ".join(f"{n}: {', '.join(p)}" for n, p in problems.items() if p)
    return Figure(
        SECTION,
        f"Block Kit violations, all {len(messages)} messages",
        count,
        f"0, and ≤ {MAX_BLOCKS} blocks each",
        count == 0 and most <= MAX_BLOCKS,
        (broken or f"at most {most} blocks in one message")[:200],
    )


def show_all_figure(messages: dict[str, dict[str, Any]]) -> Figure:
    lost = left_out_by_show_all(messages["ten-mixed"], messages["ten-mixed-show-all"])
    return Figure(
        SECTION,
        f"{TITLES['ten-mixed-show-all']}: the collapsed card's verdicts, files and notes all in it",
        "no" if lost else "yes",
        "yes",
        not lost,
        f"left out: {'; '.join(lost)}"[:200] if lost else "",
    )


def compared(now: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> list[Figure]:
    """Screens now ÷ screens before, per message."""
    return [
        Figure(
            SECTION,
            f"{title}: screens now ÷ before",
            rounded(now[name]["screens"] / before[name]["screens"], 2),
            absolute=f"now {_size(now[name])}; before {_size(before[name])}",
        )
        for name, title in TITLES.items()
    ]


def markdown(
    measured: dict[str, dict[str, Any]] | None,
    before: dict[str, dict[str, Any]] | None,
    before_note: str,
) -> str:
    """The table of every message, now and before, and what the section left out."""
    if measured is None:
        return f"Not measured: Chromium is not installed (Debian: `{INSTALL}`)."
    lines = [
        "Each message on a 390 x 844 px phone (Slack's mobile layout, approximated by "
        "`bench/blockkit_preview`); a screen is 844 px.",
        "",
        "| message | screens | px | blocks | before: screens | px | blocks | notification |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, title in TITLES.items():
        row, old = measured[name], (before or {}).get(name)
        then = f"{old['screens']} | {old['px']} | {old['blocks']}" if old else "— | — | —"
        lines.append(
            f"| {title} | {row['screens']} | {row['px']} | {row['blocks']} | {then} "
            f"| {row['notification'].replace('|', '/')} |"
        )
    if before_note:
        lines += ["", before_note]
    return "\n".join(lines)


def run(quick: bool = False) -> SectionResult:
    logs.configure("WARNING")  # the simulator's start-up lines would fill the bench's output
    found = extract(TEN_TEXT).indicators
    if len(found) != TEN_INDICATORS:
        raise RuntimeError(
            f"the 10-indicator paste gives {len(found)} indicators: "
            + ", ".join(f"{i.type} {i.value}" for i in found)
        )
    result = SectionResult()
    messages = asyncio.run(phone_cards.payloads())
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as tmp:
        work = Path(tmp)
        paths = phone_cards.write(messages, work / "now")
        problems = validate(paths)
        if chromium() is None:
            note = f"chromium not on PATH (Debian: {INSTALL})"
            result.figures = [
                Figure(SECTION, "phone measurements", "not available", "", None, note),
                blockkit_figure(messages, problems),
                show_all_figure(messages),
            ]
            result.markdown = markdown(None, None, "")
            return result
        measured = measure_all(paths)
        before: dict[str, dict[str, Any]] | None = None
        before_note = "Before and after: not measured in a quick run."
        if not quick:
            try:
                before_messages = render_before(work)
                before = measure_all(before_messages)
                before_note = said_before(before_messages, before)
            except NotMeasured as exc:
                before_note = f"Before and after: not measured: {exc}"
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            for name, image in README_IMAGES.items():
                shutil.copyfile(paths[name].with_suffix(".png"), DOCS_IMG / image)
    result.figures = [
        *phone_figures(messages, measured),
        blockkit_figure(messages, problems),
        *info_screens(measured, ["ten-mixed-show-all"]),
        show_all_figure(messages),
        *info_screens(measured, ["device-details", "test-connection"]),
        *(compared(measured, before) if before is not None else []),
    ]
    result.details = {
        "ten_indicator_text": TEN_TEXT,
        "before_commit": BEFORE_COMMIT,
        "now": measured,
        "before": before,
        "block_kit": problems,
    }
    result.markdown = markdown(measured, before, before_note)
    return result
