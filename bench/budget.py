"""Section 4, budget: 500 `/mde` lookups arriving within one (scaled) minute against one
connector, with MDE's budget scaled down tenfold on the simulator and in the bot alike: 100
calls per 6 s (the bot's hour: 1,500 per 360 s; hunting 45 per 6 s).

The arrivals are scaled with the budget: 500 lookups spread evenly over one 6-s window, as 500
within a real minute would meet 100 calls a minute. Each lookup is a distinct internal IP that
no device has (two calls: devices and IP alerts), so no cache helps and the work is 1,000 calls,
ten windows' worth, asked by 50 responders in turn. The simulator latency is 100 ms per call.

Counted: calls over budget (429s the simulator's own limit gave, and the busiest window it
observed), requests without a final answer (lost), and users neither answered promptly nor told
by the progress message that the lookup is queued ("🔎 … queued, about N s",
`bot.render.messages.progress_message`). "Promptly": within Slack's 3 s.
"""

from __future__ import annotations

import asyncio
import math
import re
import statistics
import time
from typing import Any

from bench.common import (
    QUEUED_MARK,
    Figure,
    SectionResult,
    Sent,
    World,
    ms,
    open_world,
    percentile,
    rounded,
    spaced,
    unknown_ips,
)

SECTION = "4 budget"
LIMIT = 100  # calls per window, the simulator and the bot alike
WINDOW = 6.0  # seconds: MDE's minute, scaled by 1/10
HUNTING_LIMIT = 45
LATENCY = 0.100
LOOKUPS = 500
QUICK_LOOKUPS = 100
CALLS_PER_LOOKUP = 2
PROMPT = 3.0  # seconds: answered this fast, a user needs no "queued" note
USERS = 50  # responders the lookups come from (the budget serves users in turns)
_ABOUT = re.compile(r"about (\d+) s")


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    lookups = QUICK_LOOKUPS if quick else LOOKUPS
    settings = {
        "mde_calls_per_minute": LIMIT,
        "mde_hunting_calls_per_minute": HUNTING_LIMIT,
        "mde_rate_window": WINDOW,
    }
    # Not warmed up: no call of a warm-up in either window; the burst signs in itself.
    async with open_world(settings, latency=LATENCY, warm=False) as world:
        sim = world.simulator
        sim.knobs.rate_limit, sim.knobs.rate_window = LIMIT, WINDOW
        sim.knobs.hunting_rate_limit = HUNTING_LIMIT
        ips = unknown_ips()
        texts = [next(ips) for _ in range(lookups)]
        started = time.monotonic()
        sends: list[Sent] = await spaced(
            lookups, WINDOW, lambda i: world.command(texts[i], user=f"U0R{i % USERS:02d}")
        )
        ideal = _ideal_drain(lookups * CALLS_PER_LOOKUP)
        complete = await world.settle([s.key for s in sends], ideal * 3 + 60)
        drained = time.monotonic() - started
        stats = await world.bot.stats()
        result.bot_log = world.bot.log.as_dict()
        users = [_user(world, s) for s in sends]
        calls = dict(sim.calls)
        peak = sim.peak_window_calls
    lost = sum(1 for u in users if u["final"] is None)
    unserved = sum(1 for u in users if u["final"] is not None and not u["ok"])
    told = [u for u in users if u["queued"]]
    over = calls.get("over_budget", 0)
    result.details = {
        "lookups": lookups,
        "window_s": WINDOW,
        "limit": LIMIT,
        "all_answered": complete,
        "calls": calls,
        "peak_window_calls": peak,
        "told_queued": len(told),
        "answered_within_prompt": sum(1 for u in users if u["wait"] is not None and u["prompt"]),
        "ack_p99_s": rounded(percentile([s.ack_seconds for s in sends], 99), 4),
        "bot_after": stats,
    }
    result.add(
        Figure(
            SECTION,
            "MDE calls over budget (the simulator's 429s)",
            over,
            target="0",
            passed=over == 0,
            absolute=f"{calls.get('*', 0)} calls; busiest {WINDOW:g}-s window {peak} of {LIMIT}",
        )
    )
    result.add(
        Figure(
            SECTION,
            "busiest window ÷ budget",
            rounded(peak / LIMIT, 2),
            target="≤ 1",
            passed=peak <= LIMIT,
            absolute=f"{peak} calls in a {WINDOW:g}-s window",
        )
    )
    result.add(
        Figure(
            SECTION,
            "lost requests (no final answer)",
            lost,
            target="0",
            passed=lost == 0,
            absolute=f"{lookups} lookups sent within {WINDOW:g} s",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"users neither answered within {PROMPT:g} s nor told it is queued",
            unserved,
            target="0",
            passed=unserved == 0,
            absolute=f"{len(told)} told 'queued'; "
            f"{result.details['answered_within_prompt']} answered within {PROMPT:g} s",
        )
    )
    result.add(
        Figure(
            SECTION,
            "time to drain ÷ the budget's floor",
            rounded(drained / ideal, 2),
            absolute=f"drained in {drained:.1f} s; floor {ideal:.1f} s "
            f"({lookups * CALLS_PER_LOOKUP} calls at {LIMIT} per {WINDOW:g} s)",
        )
    )
    accuracy = [u["wait"] / u["stated"] for u in told if u["wait"] and u["stated"]]
    if accuracy:
        result.add(
            Figure(
                SECTION,
                "'queued, about N s': actual wait ÷ N (median)",
                rounded(statistics.median(accuracy), 2),
                absolute=(
                    f"worst {max(accuracy):.1f}x; longest wait "
                    f"{max(u['wait'] for u in users if u['wait']):.1f} s"
                ),
            )
        )
    result.details["wait_vs_stated"] = {
        "median": rounded(statistics.median(accuracy), 2) if accuracy else None,
        "p90": rounded(percentile(accuracy, 90), 2) if accuracy else None,
    }
    result.details["ack_p99"] = ms(result.details["ack_p99_s"])
    first = min(s.sent for s in sends)
    result.details["unserved_examples"] = [
        {
            "arrived_s": rounded(s.sent - first, 2),
            "waited_s": rounded(u["wait"], 2),
            "progress": str(world.slack.progress[s.key][0].payload.get("text", ""))
            if world.slack.progress.get(s.key)
            else None,
        }
        for s, u in zip(sends, users, strict=True)
        if u["final"] is not None and not u["ok"]
    ][:8]
    return result


def _ideal_drain(calls: int) -> float:
    """Seconds the budget itself needs: LIMIT calls leave at once, then LIMIT per WINDOW."""
    return max(0, math.ceil(calls / LIMIT) - 1) * WINDOW + 2 * LATENCY


def _user(world: World, sent: Sent) -> dict[str, Any]:
    """What one user saw: the progress note, the answer and how long it took."""
    final = world.final(sent.key)
    notes = world.slack.progress.get(sent.key, [])
    text = str(notes[0].payload.get("text", "")) if notes else ""
    queued = QUEUED_MARK in text
    stated = _ABOUT.search(text)
    wait = final.at - sent.sent if final is not None else None
    prompt = wait is not None and wait <= PROMPT
    return {
        "final": final,
        "queued": queued,
        "stated": float(stated.group(1)) if stated else None,
        "wait": wait,
        "prompt": prompt,
        "ok": prompt or queued,
    }


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
