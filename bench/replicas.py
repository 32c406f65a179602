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
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import aiohttp

from bench.cluster import Attempt, Cluster, Servers, open_cluster
from bench.common import Figure, SectionResult, ms, percentile, rounded, unknown_ips
from bench.replicas_failover import kill_mid_burst, redis_away, rolling_restart
from bench.replicas_load import (
    FORM,
    FULL,
    HUNTING_LIMIT,
    LATENCY,
    LIMIT,
    METRICS,
    QUICK,
    REPLICAS,
    SCALED,
    SECTION,
    SETTLE,
    WIDE,
    WINDOW,
    Sizes,
)
from bench.replicas_sharing import budget_burst, buttons_elsewhere, retries_elsewhere

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
