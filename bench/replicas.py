"""Section 11, replicas: three `mde-bot serve` processes behind a round-robin balancer, sharing
one real Redis (REDIS_URL, BOT_REPLICAS=3) and one real PostgreSQL (DATABASE_URL), against the
MDE simulator and the Slack stand-in, all on loopback (`bench.cluster`, `bench.balancer`).

MDE's budget is scaled down tenfold on the simulator and in the bots alike, as in section 4:
100 calls per 6 s (the bots' hour is set out of the way, 15,000 per 6 min: the simulator
enforces the minute only). Every lookup is a distinct internal IP that no device has (two MDE
calls, 100 ms each) and the bots post "nothing found" too, so every message gets one reply.

1. Retries elsewhere: each message event is delivered once, then, as if Slack had not seen the
   ack, retried twice (`X-Slack-Retry-Num` 1 and 2, 1 s and 2 s later), each retry sent to a
   replica that has not had it yet. Counted: messages answered more than once (target 0).
2. Buttons elsewhere: cards with a "Show all" button, each posted by one replica, each clicked
   once through each of the two others. Answered ÷ clicked (target 1); "this card has expired"
   is not an answer.
3. One tenant's budget: 1,000 calls' worth of `/mde` lookups (500) within one 6-s window, from
   50 users. The busiest 6-s window the simulator saw ÷ 100 (target ≤ 1), its 429s (target 0),
   lookups never answered (target 0).
4. `kill -9` mid-burst: message events at 5 a second for 20 s (MDE answering in 1.5 s, so
   work is in flight), delivered as Slack delivers them (a 3-s ack timeout; three retries,
   1 s, 2 s and 10 s apart: Slack's 1 s, 1 min and 5 min, the minutes divided by 30). Halfway,
   one replica gets SIGKILL; 3 s later it is started again (as a supervisor would). Lost (no
   reply once the retries are over) and answered twice: target 0 each. For each lost one the
   details say whether Redis still holds its dedupe key and whether a late retry to another
   replica is answered (Slack sends none after an ack).
5. Rolling restart under load: cards posted first; then, under the same load, each replica in
   turn gets SIGTERM (it stops listening, drains, exits) and is started again on its port,
   healthy before the next. Lost and twice (target 0), and the cards' buttons clicked after
   the restart: answered ÷ clicked (target 1).
6. Redis away: message events at 10 a second (20 calls a second: 1.2 times the budget) for 5 s,
   then Redis is stopped for 30 s and started again (empty), and the load goes on 10 s more.
   Lost and twice (target 0), the busiest window ÷ budget (≤ 1), MDE's 429s (0).
7. Acks: `/mde` commands at once (wide budget, 100 ms per MDE call, as section 1): the ack
   p99 at 600 in flight across 3 replicas ÷ the p99 at 200 in flight on 1 replica, both
   through the balancer; beside it, the same sent straight to the replicas (200 each), since
   the balancer here is a Python process on the same CPUs. Times are Slack's view: from the
   POST leaving to its answer read.

`--quick` runs each with fewer requests and a 6-s Redis outage. The machine runs all of it
(three replicas, the balancer, Redis, PostgreSQL, the simulator, the stand-in and the load
generator), so the ack times are those of a shared machine (its CPUs are in the results).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.cluster import (
    RETRY_SCALE,
    RETRY_WAITS,
    Attempt,
    Cluster,
    Delivery,
    Servers,
    open_cluster,
)
from bench.common import (
    Figure,
    SectionResult,
    is_error,
    ms,
    percentile,
    rounded,
    spaced,
    unknown_ips,
)
from bot.demo.simulator import data

SECTION = "11 replicas"
REPLICAS = 3
LIMIT, WINDOW = 100, 6.0  # MDE's 100 calls a minute, scaled by 1/10
HUNTING_LIMIT = 45
LATENCY = 0.100
SCALED: dict[str, Any] = {
    "mde_calls_per_minute": LIMIT,
    "mde_hunting_calls_per_minute": HUNTING_LIMIT,
    "mde_calls_per_hour": 15_000,
    "mde_rate_window": WINDOW,
    "post_when_nothing_found": True,
    "log_level": "INFO",  # for state_opened and redis_back (redis_down is a warning)
}
WIDE: dict[str, Any] = {
    "mde_calls_per_minute": 1_000_000,
    "mde_calls_per_hour": 10_000_000,
    "mde_hunting_calls_per_minute": 1_000_000,
}
SHOW_ALL = "mde_show_all"
METRICS = (  # what the replicas' /metrics say after each scenario (in the details)
    "mde_bot_duplicate_deliveries",
    "mde_bot_replies",
    "mde_bot_mde_throttled",
    "mde_bot_state_errors",
    "mde_bot_mde_calls",
)
CARD_TEXT = f"anyone on {data.SHARED_IP}?"  # a card with a "Show all" button
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Sizes:
    retried: int  # events retried elsewhere
    cards: int  # cards clicked through the other replicas
    burst: int  # lookups in the budget burst
    kill_seconds: float
    restart_cards: int
    outage_seconds: float
    ack_rounds: int


FULL = Sizes(120, 30, 500, 20.0, 20, 30.0, 3)
QUICK = Sizes(24, 6, 100, 8.0, 6, 6.0, 1)
KILL_RATE, KILL_LATENCY = 5.0, 1.5  # events a second; seconds per MDE call meanwhile
RESTART_RATE = 5.0
OUTAGE_RATE, OUTAGE_BEFORE, OUTAGE_AFTER = 10.0, 5.0, 10.0
RESTART_DELAY = 3.0  # seconds before the killed replica is started again
SETTLE = 45.0  # seconds for every reply to arrive after the load
LINGER = 3.0  # seconds more, for a second reply to turn up


def _count(cluster: Cluster, keys: Sequence[str]) -> tuple[int, int]:
    """(lost, twice): requests without a reply, and those with more than one."""
    lost = sum(1 for k in keys if cluster.replies(k) == 0)
    twice = sum(1 for k in keys if cluster.replies(k) > 1)
    return lost, twice


async def _idle(cluster: Cluster) -> None:
    """One window without calls, so the next scenario starts with an empty budget; then the
    simulator's counters and peaks start again."""
    await asyncio.sleep(WINDOW + 0.5)
    cluster.simulator.reset_counters()


async def _load(
    cluster: Cluster, rate: float, seconds: float, ips: Iterator[str]
) -> list[Delivery]:
    """Message events at `rate` a second for `seconds`, each delivered as Slack does."""
    count = max(1, int(rate * seconds))
    texts = [f"seen {next(ips)} in the proxy log" for _ in range(count)]
    deliveries: list[Delivery] = await spaced(
        count, seconds, lambda i: cluster.deliver(texts[i], user=f"U0L{i % 20:02d}")
    )
    return deliveries


async def _finish(cluster: Cluster, keys: Sequence[str]) -> tuple[int, int]:
    await cluster.settle(keys, SETTLE)
    await asyncio.sleep(LINGER)
    return _count(cluster, keys)


def _attempts(deliveries: Sequence[Delivery]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for d in deliveries:
        for a in d.attempts:
            outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    outcomes["retried deliveries"] = sum(1 for d in deliveries if len(d.attempts) > 1)
    return outcomes


# --------------------------------------------------------------------------- 1 retries


async def retries_elsewhere(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    ips = unknown_ips(100_000)

    async def one(i: int) -> tuple[str, list[Attempt]]:
        ts, _, body = cluster.event_body(f"seen {next(ips)} on the firewall", user=f"U0R{i:03d}")
        attempts = [await cluster.send(body, JSON)]
        for number in (1, 2):  # Slack's first two retries, to the replicas not yet tried
            await asyncio.sleep(RETRY_WAITS[number - 1])
            tried = [a.replica for a in attempts if a.replica is not None]
            attempts.append(
                await cluster.send(body, JSON, retry=(number, "http_timeout"), avoid=tried)
            )
        return ts, attempts

    sent = await spaced(size.retried, size.retried / 8, one)
    keys = [ts for ts, _ in sent]
    lost, twice = await _finish(cluster, keys)
    elsewhere = sum(
        1 for _, attempts in sent if len({a.replica for a in attempts} - {None}) == len(attempts)
    )
    extra = sum(max(0, cluster.replies(k) - 1) for k in keys)
    dropped = sum((await cluster.metrics("mde_bot_duplicate_deliveries_total")).values())
    result.details["retries"] = {
        "events": len(keys),
        "every_attempt_on_another_replica": elsewhere,
        "acks": sum(1 for _, a in sent for x in a if x.outcome == "200"),
        "answered_twice": twice,
        "extra_replies": extra,
        "unanswered": lost,
        "duplicates_dropped_by_the_replicas": dropped,
    }
    result.add(
        Figure(
            SECTION,
            "Slack's retries on other replicas: messages answered more than once",
            twice,
            "0",
            twice == 0,
            f"{len(keys)} events, 3 deliveries each (first, retry 1 after 1 s, retry 2 after 2 s "
            f"more), {elsewhere} with all three on different replicas; {extra} extra replies; "
            f"{lost} unanswered; the replicas' /metrics count {dropped:.0f} duplicate "
            "deliveries dropped",
        )
    )


# --------------------------------------------------------------------------- 2 buttons


async def _cards(cluster: Cluster, count: int) -> list[tuple[int, dict[str, Any]]]:
    """`count` cards with a "Show all" button, posted by the replicas in turn: (replica, card)."""
    sent = await spaced(count, count / 5, lambda i: cluster.deliver(CARD_TEXT, user=f"U0C{i:02d}"))
    await cluster.settle([d.ts for d in sent], SETTLE)
    cards = []
    for d in sent:
        finals = cluster.slack.finals.get(d.ts)
        if finals and d.first_replica is not None:
            cards.append((d.first_replica, finals[0].payload))
    return cards


async def _click(cluster: Cluster, card: dict[str, Any], avoid: Sequence[int]) -> str | None:
    """Click "Show all" (through a replica not in `avoid`); the reply's token, None when the
    card has no such button or the click was not acked."""
    made = cluster.click_body(card, SHOW_ALL)
    if made is None:
        return None
    token, body = made
    attempt = await cluster.send(body, FORM, avoid=avoid)
    return token if attempt.outcome == "200" else None


def _answered(cluster: Cluster, tokens: Sequence[str | None]) -> tuple[int, int]:
    """(answered, expired) among the clicks' replies."""
    replies = [
        cluster.slack.finals[t][0].payload
        for t in tokens
        if t is not None and cluster.slack.finals.get(t)
    ]
    expired = sum(1 for r in replies if "expired" in str(r.get("text", "")))
    return sum(1 for r in replies if not is_error(r)), expired


async def buttons_elsewhere(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    cards = await _cards(cluster, size.cards)
    clicks: list[Awaitable[str | None]] = []
    for poster, card in cards:
        for other in range(REPLICAS):
            if other != poster:
                keep_off = [i for i in range(REPLICAS) if i != other]
                clicks.append(_click(cluster, card, keep_off))
    tokens = await asyncio.gather(*clicks)
    await cluster.settle([t for t in tokens if t], 30.0)
    answered, expired = _answered(cluster, tokens)
    clicked = len(tokens)
    result.details["buttons"] = {
        "cards": len(cards),
        "clicked": clicked,
        "answered": answered,
        "expired": expired,
    }
    result.add(
        Figure(
            SECTION,
            "buttons clicked through another replica than the card's: answered ÷ clicked",
            rounded(answered / clicked, 3) if clicked else "no card",
            "1.0",
            bool(clicked) and answered == clicked,
            f"{len(cards)} cards, each through the 2 other replicas = {clicked} clicks; "
            f"{expired} 'this card has expired'",
        )
    )


# --------------------------------------------------------------------------- 3 budget


async def budget_burst(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    await _idle(cluster)
    sim = cluster.simulator
    ips = unknown_ips(200_000)
    bodies = [cluster.command_body(next(ips), user=f"U0B{i % 50:02d}") for i in range(size.burst)]
    started = time.monotonic()
    acks = await spaced(size.burst, WINDOW, lambda i: cluster.send(bodies[i][1], FORM))
    keys = [token for token, _ in bodies]
    floor = max(0, math.ceil(size.burst * 2 / LIMIT) - 1) * WINDOW
    await cluster.settle(keys, floor * 3 + 60)
    drained = time.monotonic() - started
    lost = sum(1 for k in keys if cluster.replies(k) == 0)
    calls, peak = dict(sim.calls), sim.peak_window_calls
    over = calls.get("over_budget", 0)
    result.details["budget"] = {
        "lookups": size.burst,
        "calls": calls,
        "peak_window_calls": peak,
        "acks_not_200": sum(1 for a in acks if a.outcome != "200"),
        "unanswered": lost,
        "drained_s": rounded(drained, 1),
    }
    result.add(
        Figure(
            SECTION,
            "3 replicas, one tenant: busiest window ÷ budget",
            rounded(peak / LIMIT, 2),
            "≤ 1",
            peak <= LIMIT,
            f"{peak} calls in a {WINDOW:g}-s window; {size.burst} lookups "
            f"({size.burst * 2} calls) sent within {WINDOW:g} s",
        )
    )
    result.add(
        Figure(
            SECTION,
            "3 replicas, one tenant: MDE 429s",
            over,
            "0",
            over == 0,
            f"{calls.get('*', 0)} MDE calls; drained in {drained:.1f} s (the budget's floor "
            f"{floor:.0f} s); {lost} lookups unanswered",
        )
    )


# --------------------------------------------------------------------------- 4 kill -9


async def kill_mid_burst(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    await _idle(cluster)
    sim, victim = cluster.simulator, cluster.replicas[1]
    sim.knobs.latency = KILL_LATENCY
    ips = unknown_ips(300_000)
    load = asyncio.create_task(_load(cluster, KILL_RATE, size.kill_seconds, ips))
    await asyncio.sleep(size.kill_seconds / 2)
    victim.kill()
    killed_at = time.monotonic()
    await asyncio.sleep(RESTART_DELAY)
    sim.knobs.latency = LATENCY
    await victim.start(cluster.session)
    back_at = time.monotonic()
    deliveries = await load
    keys = [d.ts for d in deliveries]
    lost, twice = await _finish(cluster, keys)
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
        "attempts": _attempts(deliveries),
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
            f"{_attempts(deliveries).get('retried deliveries', 0)} deliveries retried",
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
    await _idle(cluster)
    cards = await _cards(cluster, size.restart_cards)
    ips = unknown_ips(400_000)
    stop = asyncio.Event()

    async def loaded() -> list[Delivery]:
        batches = []
        while not stop.is_set():
            batches += await _load(cluster, RESTART_RATE, 2.0, ips)
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
    lost, twice = await _finish(cluster, keys)
    tokens = await asyncio.gather(*(_click(cluster, card, []) for _, card in cards))
    await cluster.settle([t for t in tokens if t], 30.0)
    answered, expired = _answered(cluster, tokens)
    result.details["rolling"] = {
        "events": len(keys),
        "attempts": _attempts(deliveries),
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
    await _idle(cluster)
    sim, redis = cluster.simulator, cluster.redis
    ips = unknown_ips(500_000)
    seconds = OUTAGE_BEFORE + size.outage_seconds + OUTAGE_AFTER
    load = asyncio.create_task(_load(cluster, OUTAGE_RATE, seconds, ips))
    await asyncio.sleep(OUTAGE_BEFORE)
    await asyncio.to_thread(redis.stop)
    stopped = time.monotonic()
    await asyncio.sleep(size.outage_seconds)
    await asyncio.to_thread(redis.start)
    away = time.monotonic() - stopped
    deliveries = await load
    keys = [d.ts for d in deliveries]
    lost, twice = await _finish(cluster, keys)
    calls, peak = dict(sim.calls), sim.peak_window_calls
    over = calls.get("over_budget", 0)
    result.details["redis_away"] = {
        "events": len(keys),
        "attempts": _attempts(deliveries),
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


# --------------------------------------------------------------------------- 7 acks


async def _ack_round(
    cluster: Cluster, level: int, ips: Iterator[str], direct: aiohttp.ClientSession | None
) -> list[Attempt]:
    """`level` commands at once, through the balancer or, on the `direct` session, spread
    evenly over the replicas themselves; settled (every one answered) before it returns."""
    bodies = [cluster.command_body(next(ips)) for _ in range(level)]
    count = len(cluster.replicas)
    acks = await asyncio.gather(
        *(
            cluster.send(
                b,
                FORM,
                wait=30.0,
                to=cluster.replicas[i % count].url if direct else None,
                session=direct,
            )
            for i, (_, b) in enumerate(bodies)
        )
    )
    await cluster.settle([t for t, _ in bodies], SETTLE)
    return list(acks)


def _p(samples: Sequence[float], q: float) -> float:
    return rounded(percentile(samples, q), 5) if samples else float("nan")


async def _ack_p99(servers: Servers, replicas: int, level: int, rounds: int) -> dict[str, Any]:
    async with open_cluster(servers, replicas, WIDE, latency=LATENCY) as cluster:
        ips = unknown_ips(600_000)
        samples: dict[str, list[float]] = {"balancer": [], "direct": []}
        statuses: dict[str, int] = {}
        floor: list[float] = []
        # Straight to the replicas first, on a session closed afterwards: idle keep-alive
        # connections count against a replica's cap (BOT_HTTP_MAX_CONNECTIONS, 256), so the
        # direct ones must be gone before the balancer opens its own pool.
        for route in ("direct", "balancer"):
            direct = (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
                if route == "direct"
                else None
            )
            try:
                for round_ in range(rounds + 1):  # the first opens the connections: not counted
                    acks = await _ack_round(cluster, level, ips, direct)
                    for a in acks:
                        key = f"{route} {a.outcome}"
                        statuses[key] = statuses.get(key, 0) + 1
                    if round_:
                        samples[route] += [a.seconds for a in acks if a.outcome == "200"]
            finally:
                if direct is not None:
                    await direct.close()
            await asyncio.sleep(0.5)  # the replicas see the direct connections close
        for _ in range(rounds):
            floor += await cluster.health_floor(level)
        return {
            "replicas": replicas,
            "in_flight": level,
            "samples": len(samples["balancer"]),
            "p50_s": _p(samples["balancer"], 50),
            "p99_s": _p(samples["balancer"], 99),
            "direct_p50_s": _p(samples["direct"], 50),
            "direct_p99_s": _p(samples["direct"], 99),
            "statuses": statuses,
            "healthz_p99_s": _p(floor, 99),
        }


async def acks(servers: Servers, result: SectionResult, size: Sizes) -> None:
    one = await _ack_p99(servers, 1, 200, size.ack_rounds)
    three = await _ack_p99(servers, REPLICAS, 600, size.ack_rounds)
    result.details["acks"] = {"1 replica": one, "3 replicas": three}
    result.add(
        Figure(
            SECTION,
            "ack p99: 600 in flight on 3 replicas ÷ 200 in flight on 1",
            rounded(three["p99_s"] / one["p99_s"], 2),
            absolute=f"p99 {ms(three['p99_s'])} vs {ms(one['p99_s'])}; p50 "
            f"{ms(three['p50_s'])} vs {ms(one['p50_s'])}; both through the balancer, whose "
            f"floor (GET /healthz, same concurrency) is p99 {ms(three['healthz_p99_s'])} vs "
            f"{ms(one['healthz_p99_s'])}; {three['samples']} and {one['samples']} acks",
        )
    )
    result.add(
        Figure(
            SECTION,
            "ack p99 without the balancer (sent straight to the replicas, evenly): 600 on 3 ÷ "
            "200 on 1",
            rounded(three["direct_p99_s"] / one["direct_p99_s"], 2),
            absolute=f"p99 {ms(three['direct_p99_s'])} vs {ms(one['direct_p99_s'])}; p50 "
            f"{ms(three['direct_p50_s'])} vs {ms(one['direct_p50_s'])}",
        )
    )


# --------------------------------------------------------------------------- the section

Scenario = Callable[[Cluster, SectionResult, Sizes], Awaitable[None]]
SCENARIOS: tuple[Scenario, ...] = (
    retries_elsewhere,
    buttons_elsewhere,
    budget_burst,
    kill_mid_burst,
    rolling_restart,
    redis_away,
)


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    size = QUICK if quick else FULL
    async with Servers.started() as servers:
        async with open_cluster(
            servers,
            REPLICAS,
            SCALED,
            latency=LATENCY,
            rate_limit=LIMIT,
            rate_window=WINDOW,
            hunting_limit=HUNTING_LIMIT,
        ) as cluster:
            result.details["health_at_start"] = [r.health for r in cluster.replicas]
            for scenario in SCENARIOS:
                began = time.monotonic()
                try:
                    await scenario(cluster, result, size)
                # One scenario's failure is reported and the others still run.
                except Exception as exc:  # noqa: BLE001
                    result.add(
                        Figure(
                            SECTION,
                            f"{scenario.__name__} ran",
                            "failed",
                            "ran",
                            False,
                            f"{type(exc).__name__}: {str(exc)[:160]}",
                        )
                    )
                result.details.setdefault("seconds", {})[scenario.__name__] = rounded(
                    time.monotonic() - began, 1
                )
                if scenario is buttons_elsewhere:
                    result.details["redis_keys_by_kind"] = await cluster.redis_keys()
                # Counters since each replica's start (the kill and the restarts start anew).
                result.details.setdefault("metrics_after", {})[
                    scenario.__name__
                ] = await cluster.metrics(*METRICS)
            result.details["balancer"] = await cluster.balancer_stats()
            result.details["state_edges"] = cluster.edges()
            result.bot_log = cluster.logs()
        await acks(servers, result, size)
    return result


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
