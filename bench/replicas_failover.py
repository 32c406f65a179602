"""Section 11, scenarios 4 to 6: replicas and Redis going away under load (see
`bench.replicas`): `kill -9`, a rolling restart, Redis stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.cluster import RETRY_SCALE, Cluster, Delivery
from bench.common import Figure, SectionResult, rounded, unknown_ips
from bench.replicas_load import (
    JSON,
    KILL_LATENCY,
    KILL_RATE,
    LATENCY,
    LIMIT,
    OUTAGE_AFTER,
    OUTAGE_BEFORE,
    OUTAGE_RATE,
    RESTART_DELAY,
    RESTART_RATE,
    SECTION,
    WINDOW,
    Sizes,
    answered_clicks,
    attempts_by_outcome,
    click_show_all,
    event_load,
    finish,
    idle,
    post_cards,
)

# --------------------------------------------------------------------------- 4 kill -9


async def kill_mid_burst(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    await idle(cluster)
    sim, victim = cluster.simulator, cluster.replicas[1]
    sim.knobs.latency = KILL_LATENCY
    ips = unknown_ips(300_000)
    load = asyncio.create_task(event_load(cluster, KILL_RATE, size.kill_seconds, ips))
    await asyncio.sleep(size.kill_seconds / 2)
    victim.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(RESTART_DELAY)
    sim.knobs.latency = LATENCY
    await victim.start(cluster.session)
    back_at = time.monotonic()
    deliveries = await load
    keys = [d.ts for d in deliveries]
    lost, twice = await finish(cluster, keys)
    # Acked by the victim before it died, and not answered by then: work it had in hand.
    in_hand = [
        d
        for d in deliveries
        if any(a.replica == 1 and a.outcome == "200" and a.at < killed_at for a in d.attempts)
        and not any(p.at < killed_at for p in cluster.slack.finals.get(d.ts, []))
    ]
    lost_in_hand = sum(1 for d in in_hand if cluster.replies(d.ts) == 0)
    unanswered = [d for d in deliveries if cluster.replies(d.ts) == 0]
    result.details["kill"] = {
        "events": len(keys),
        "attempts": attempts_by_outcome(deliveries),
        "acked_by_the_killed_replica_unanswered_at_the_kill": len(in_hand),
        "of_which_lost": lost_in_hand,
        "lost": await _autopsy(cluster, unanswered),
        "restarted_after_s": rounded(back_at - killed_at, 2),
    }
    absolute = (
        f"{len(keys)} events at {KILL_RATE:g}/s, MDE {KILL_LATENCY:g} s a call; replica 1 "
        f"killed at {size.kill_seconds / 2:g} s with {len(in_hand)} acked and unanswered; "
        f"Slack's retries 1 s, 1 min, 5 min ÷ {RETRY_SCALE}"
    )
    result.add(Figure(SECTION, "kill -9 mid-burst: lost", lost, "0", lost == 0, absolute))
    result.add(
        Figure(
            SECTION,
            "kill -9 mid-burst: answered twice",
            twice,
            "0",
            twice == 0,
            f"{attempts_by_outcome(deliveries).get('retried deliveries', 0)} deliveries retried",
        )
    )


async def _autopsy(cluster: Cluster, lost: Sequence[Delivery]) -> list[dict[str, Any]]:
    """What is left of each lost delivery: its attempts, whether Redis still holds its dedupe
    key (`bot.slack.payloads.delivery_keys`), and whether a late retry of it (sent to replica
    0, which never had it) would be answered: Slack itself sends none after an ack."""
    keys = [f"mde-bot:seen:deliveries:event:{d.event_id}" for d in lost]
    held = await cluster.redis_exists(*keys)
    late = [
        (await cluster.send(d.body, JSON, retry=(1, "http_timeout"), avoid=[1, 2])) for d in lost
    ]
    await cluster.settle([d.ts for d in lost], 10.0)
    return [
        {
            "ts": d.ts,
            "event_id": d.event_id,
            "attempts": [vars(a) for a in d.attempts],
            "dedupe_key_in_redis": kept,
            "late_retry_to_replica_0": attempt.outcome,
            "late_retry_answered": cluster.replies(d.ts) > 0,
        }
        for d, kept, attempt in zip(lost, held, late, strict=True)
    ]


# --------------------------------------------------------------------------- 5 rolling


async def rolling_restart(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    await idle(cluster)
    cards = await post_cards(cluster, size.restart_cards)
    ips = unknown_ips(400_000)
    stop = asyncio.Event()

    async def loaded() -> list[Delivery]:
        batches = []
        while not stop.is_set():
            batches += await event_load(cluster, RESTART_RATE, 2.0, ips)
        return batches

    load = asyncio.create_task(loaded())
    took = []
    for replica in cluster.replicas:
        began = time.monotonic()
        await replica.restart(cluster.session)
        took.append(time.monotonic() - began)
    await asyncio.sleep(2.0)
    stop.set()
    deliveries = await load
    keys = [d.ts for d in deliveries]
    lost, twice = await finish(cluster, keys)
    tokens = await asyncio.gather(*(click_show_all(cluster, card, []) for _, card in cards))
    await cluster.settle([t for t in tokens if t], 30.0)
    answered, expired = answered_clicks(cluster, tokens)
    result.details["rolling"] = {
        "events": len(keys),
        "attempts": attempts_by_outcome(deliveries),
        "restart_s": [rounded(t, 2) for t in took],
        "cards": len(cards),
        "answered": answered,
        "expired": expired,
    }
    absolute = (
        f"{len(keys)} events at {RESTART_RATE:g}/s while the 3 replicas restarted one by "
        f"one (SIGTERM, drain, start, healthy: {', '.join(f'{t:.1f}' for t in took)} s)"
    )
    result.add(Figure(SECTION, "rolling restart: lost", lost, "0", lost == 0, absolute))
    result.add(Figure(SECTION, "rolling restart: answered twice", twice, "0", twice == 0))
    clicked = len(tokens)
    result.add(
        Figure(
            SECTION,
            "rolling restart: buttons from before, answered ÷ clicked",
            rounded(answered / clicked, 3) if clicked else "no card",
            "1.0",
            bool(clicked) and answered == clicked,
            f"{clicked} cards posted before the restart; {expired} 'this card has expired'",
        )
    )


# --------------------------------------------------------------------------- 6 Redis away


async def redis_away(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    assert cluster.redis is not None
    await idle(cluster)
    sim, redis = cluster.simulator, cluster.redis
    ips = unknown_ips(500_000)
    seconds = OUTAGE_BEFORE + size.outage_seconds + OUTAGE_AFTER
    load = asyncio.create_task(event_load(cluster, OUTAGE_RATE, seconds, ips))
    await asyncio.sleep(OUTAGE_BEFORE)
    await asyncio.to_thread(redis.stop)
    stopped = time.monotonic()
    await asyncio.sleep(size.outage_seconds)
    await asyncio.to_thread(redis.start)
    away = time.monotonic() - stopped
    deliveries = await load
    keys = [d.ts for d in deliveries]
    lost, twice = await finish(cluster, keys)
    calls, peak = dict(sim.calls), sim.peak_window_calls
    over = calls.get("over_budget", 0)
    result.details["redis_away"] = {
        "events": len(keys),
        "attempts": attempts_by_outcome(deliveries),
        "redis_away_s": rounded(away, 1),
        "calls": calls,
        "peak_window_calls": peak,
        "log_redis_down": cluster.log_events("redis_down"),
        "log_redis_back": cluster.log_events("redis_back"),
    }
    absolute = (
        f"{len(keys)} events at {OUTAGE_RATE:g}/s ({OUTAGE_RATE * 2:g} calls/s, "
        f"{OUTAGE_RATE * 2 * WINDOW / LIMIT:.1f} times the budget); Redis stopped {away:.1f} s"
    )
    result.add(Figure(SECTION, "Redis away: lost", lost, "0", lost == 0, absolute))
    result.add(
        Figure(
            SECTION,
            "Redis away: answered twice",
            twice,
            "0",
            twice == 0,
            f"redis_down logged {result.details['redis_away']['log_redis_down']} times, redis_back "
            f"{result.details['redis_away']['log_redis_back']} (all replicas)",
        )
    )
    result.add(
        Figure(
            SECTION,
            "Redis away: busiest window ÷ budget",
            rounded(peak / LIMIT, 2),
            "≤ 1",
            peak <= LIMIT,
            f"{peak} calls in a {WINDOW:g}-s window; {over} MDE 429s; "
            f"{calls.get('*', 0)} MDE calls",
        )
    )
    result.add(Figure(SECTION, "Redis away: MDE 429s", over, "0", over == 0))
