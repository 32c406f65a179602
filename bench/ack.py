"""Section 1, ack: how long Slack waits for the HTTP answer to `/mde`, at 1, 50 and 200
commands in flight at once.

Each command looks up a distinct internal IP (two MDE calls, simulator latency 100 ms), so the
lookups of a round run behind its acks as they would in production. Rounds are settled (every
command answered) before the next. The first round at each concurrency opens the connections
and is not counted. Times are Slack's view: from right before the signed POST leaves the load
generator to the end of the bot's HTTP answer. Beside each p99: the same round of GET /healthz
(same server, no Slack work), the floor the load generator and aiohttp put under any ack.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import (
    Figure,
    SectionResult,
    World,
    ms,
    open_world,
    percentile,
    rounded,
    unknown_ips,
)

SECTION = "1 ack"
SLACK_LIMIT = 3.0  # seconds Slack waits for an ack
TARGET_P99 = 0.100  # seconds, at 200 in flight
LATENCY = 0.100
LEVELS = (1, 50, 200)
ROUNDS = {1: 100, 50: 4, 200: 3}  # measured rounds (the warm-up round comes on top)
QUICK_ROUNDS = {1: 10, 50: 1, 200: 1}
SETTLE = 60.0


async def _round(world: World, concurrency: int, ips: Any) -> list[float]:
    sends = await asyncio.gather(*(world.command(next(ips)) for _ in range(concurrency)))
    if any(s.status != 200 for s in sends):
        raise RuntimeError(f"the bot answered {sorted({s.status for s in sends})}")
    if not await world.settle([s.key for s in sends], SETTLE):
        raise RuntimeError(f"{concurrency} commands not all answered within {SETTLE:g} s")
    return [s.ack_seconds for s in sends]


async def _health(world: World, concurrency: int) -> list[float]:
    return list(await asyncio.gather(*(world.health() for _ in range(concurrency))))


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    rounds = QUICK_ROUNDS if quick else ROUNDS
    ips = unknown_ips()
    async with open_world(latency=LATENCY, wide=True) as world:
        for level in LEVELS:
            warm = 1 if level > 1 or quick else 5
            for _ in range(warm):
                await _round(world, level, ips)
            samples: list[float] = []
            for _ in range(rounds[level]):
                samples += await _round(world, level, ips)
            floor = [t for _ in range(rounds[level]) for t in await _health(world, level)]
            p50, p99 = percentile(samples, 50), percentile(samples, 99)
            result.details[str(level)] = {
                "samples": len(samples),
                "p50_s": rounded(p50, 5),
                "p99_s": rounded(p99, 5),
                "max_s": rounded(max(samples), 5),
                "healthz_p99_s": rounded(percentile(floor, 99), 5),
            }
            at_target = level == max(LEVELS)
            result.add(
                Figure(
                    SECTION,
                    f"ack p50 at {level} in flight, ÷ Slack's 3 s",
                    rounded(p50 / SLACK_LIMIT, 4),
                    absolute=f"p50 {ms(p50)} ({len(samples)} acks)",
                )
            )
            result.add(
                Figure(
                    SECTION,
                    f"ack p99 at {level} in flight, ÷ Slack's 3 s",
                    rounded(p99 / SLACK_LIMIT, 4),
                    target=f"< {TARGET_P99 / SLACK_LIMIT:.4f} (p99 < 100 ms)" if at_target else "",
                    passed=(p99 < TARGET_P99) if at_target else None,
                    absolute=f"p99 {ms(p99)}, max {ms(max(samples))}; the harness's floor "
                    f"(GET /healthz, same concurrency): p99 {ms(percentile(floor, 99))}",
                )
            )
        result.bot_log = world.bot.log.as_dict()
    return result


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
