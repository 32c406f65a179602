"""Section 7, memory: the bot process's RSS (VmRSS in /proc/self/status, read inside the bot
after a gc) after start-up, and after 10,000 lookups of distinct indicators, so that every
bounded structure fills to its limit on the way:

    MDE answer cache   2,048 entries and BOT_CACHE_MB (64) per connector   bot.cache.TtlCache
    posted reports     500 (the cards' buttons)                           Services.reports
    seen messages      20,000 keys (2 per message: event id, channel+ts)  bot.slack.access.Seen

The lookups are pasted messages, 100 at a time: each a distinct internal IP no device has (two
MDE calls); every fourth also names a seeded host, so that cards carry devices and alerts. The
bot answers every one (`post_when_nothing_found`). RSS is sampled every 1,000 lookups.

Figures: the RSS after start-up and after 10,000 lookups; whether any structure ever held more
than its limit; the growth beside what the structures hold (their objects' deep size, each object
counted once: RSS adds the allocator's overhead to that); and whether the RSS levels off once
every structure is full: 6,000 more lookups, the slope measured over the last 4,000. Growth
there would be memory that no limit bounds.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from bench.common import (
    Figure,
    SectionResult,
    World,
    open_world,
    rounded,
    seeded_pool,
    unknown_ips,
)

SECTION = "7 memory"
LOOKUPS = 10_000
QUICK_LOOKUPS = 1_000
# Then more lookups with every structure at its limit (`seen` reaches it at 10,000): the RSS
# must level off. The first 2,000 of them are left out of the slope (the full `seen` dict
# settles: evictions, one resize of its table).
PLATEAU = (2_000, 4_000)
QUICK_PLATEAU = (0, 500)
PLATEAU_TARGET = 0.02  # RSS growth over the plateau, as a share of RSS
BATCH = 100
SAMPLE_EVERY = 1_000
SETTLE = 60.0
MB = 1024  # kB per MB (VmRSS is in kB)


async def _batch(world: World, texts: list[str]) -> None:
    sends = await asyncio.gather(*(world.message(t) for t in texts))
    if not await world.settle([s.key for s in sends], SETTLE):
        raise RuntimeError(f"{len(texts)} messages not all answered within {SETTLE:g} s")


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    lookups = QUICK_LOOKUPS if quick else LOOKUPS
    settle_in, plateau = QUICK_PLATEAU if quick else PLATEAU
    total = lookups + settle_in + plateau
    ips = unknown_ips(start=500_000)
    hosts = itertools.cycle(seeded_pool().hosts)
    samples: list[dict[str, Any]] = []
    final: dict[str, Any] = {}
    async with open_world({"post_when_nothing_found": True}, wide=True) as world:
        startup_kb = int(world.bot.ready["rss_kb"])
        warm = await world.bot.stats(deep=True)
        samples.append({"lookups": 0, "rss_kb": warm["rss_kb"], **_entries(warm)})
        done = 0
        while done < total:
            texts = []
            for i in range(done, min(done + BATCH, total)):
                text = f"odd traffic from {next(ips)}"
                texts.append(text + (f" to {next(hosts)}" if i % 4 == 0 else ""))
            await _batch(world, texts)
            done += len(texts)
            if done % SAMPLE_EVERY == 0 or done in (lookups, lookups + settle_in, total):
                stats = await world.bot.stats(deep=True)
                samples.append({"lookups": done, "rss_kb": stats["rss_kb"], **_entries(stats)})
                if done == lookups:
                    final = stats
        result.bot_log = world.bot.log.as_dict()
    by_count = {s["lookups"]: s for s in samples}
    bounded = final["bounded"]
    bound_kb = sum(_at_limit(b) for b in bounded.values()) / 1024
    held_kb = sum(b.get("bytes", 0) for b in bounded.values()) / 1024
    end_kb = by_count[lookups]["rss_kb"]
    growth_kb = end_kb - samples[0]["rss_kb"]
    over_limit = [n for n, b in bounded.items() if max(s[n] for s in samples) > b["limit"]]
    plateau_start = by_count[lookups + settle_in]
    plateau_kb = samples[-1]["rss_kb"] - plateau_start["rss_kb"]
    all_full = all(plateau_start[name] >= b["limit"] for name, b in bounded.items())
    result.details = {
        "lookups": lookups,
        "plateau_lookups": [lookups + settle_in, total],
        "rss_startup_kb": startup_kb,
        "samples": samples,
        "bounded_at_end": bounded,
        "held_kb": round(held_kb),
        "bound_at_limits_kb": round(bound_kb),
    }
    result.add(
        Figure(
            SECTION,
            "RSS after start-up (MB)",
            rounded(startup_kb / MB, 1),
            absolute=f"{samples[0]['rss_kb'] / MB:.1f} MB after one warm-up lookup",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"RSS after {lookups:,} lookups (MB)",
            rounded(end_kb / MB, 1),
            absolute=f"grew {growth_kb / MB:.1f} MB since the warm-up lookup",
        )
    )
    result.add(
        Figure(
            SECTION,
            "bounded structures over their limit",
            len(over_limit),
            target="0",
            passed=not over_limit,
            absolute="; ".join(f"{n} {b['entries']}/{b['limit']}" for n, b in bounded.items()),
        )
    )
    result.add(
        Figure(
            SECTION,
            f"RSS growth over {lookups:,} lookups ÷ what the bounded structures hold",
            rounded(growth_kb / held_kb, 2) if held_kb else "n/a",
            absolute=(
                f"growth {growth_kb / MB:.1f} MB; they hold {held_kb / MB:.1f} MB "
                f"({bound_kb / MB:.1f} MB at their limits); the rest: allocator overhead and "
                "other state, which levels off (next line)"
            ),
        )
    )
    result.add(
        Figure(
            SECTION,
            f"RSS growth over {plateau:,} more lookups"
            + (", every structure at its limit," if all_full else "")
            + " ÷ RSS",
            rounded(plateau_kb / plateau_start["rss_kb"], 3),
            target=f"≤ {PLATEAU_TARGET}" if all_full else "(not all at their limits: quick run)",
            passed=plateau_kb / plateau_start["rss_kb"] <= PLATEAU_TARGET if all_full else None,
            absolute=(
                f"{plateau_kb / MB:+.1f} MB from {plateau_start['lookups']:,} to {total:,} lookups"
            ),
        )
    )
    result.markdown = _table(samples)
    return result


def _entries(stats: dict[str, Any]) -> dict[str, int]:
    bounded = stats["bounded"]
    held = sum(b.get("bytes", 0) for b in bounded.values())
    return {"held_kb": held // 1024, **{name: b["entries"] for name, b in bounded.items()}}


def _at_limit(bounded: dict[str, Any]) -> float:
    """Bytes the structure would hold at its limit, at its current bytes per entry."""
    entries = bounded["entries"]
    return bounded.get("bytes", 0) / entries * bounded["limit"] if entries else 0.0


def _table(samples: list[dict[str, Any]]) -> str:
    lines = [
        "Bot RSS and its bounded structures, every 1,000 lookups:",
        "",
        "| lookups | RSS (MB) | held by the bounded structures (MB) | MDE cache | reports "
        "| seen keys |",
        "|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {s['lookups']:,} | {s['rss_kb'] / MB:.1f} | {s['held_kb'] / MB:.1f} "
        f"| {s['mde_cache']} | {s['reports']} | {s['seen']} |"
        for s in samples
    )
    return "\n".join(lines)


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
