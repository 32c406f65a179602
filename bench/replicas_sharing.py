"""Section 11, scenarios 1 to 3: state the replicas share (see `bench.replicas`): Slack's
retries answered once, buttons answered on any replica, one tenant's budget kept by all."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable

from bench.cluster import RETRY_WAITS, Attempt, Cluster
from bench.common import Figure, SectionResult, rounded, spaced, unknown_ips
from bench.replicas_load import (
    FORM,
    JSON,
    LIMIT,
    REPLICAS,
    SECTION,
    WINDOW,
    Sizes,
    answered_clicks,
    click_show_all,
    finish,
    idle,
    post_cards,
)

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
    lost, twice = await finish(cluster, keys)
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


async def buttons_elsewhere(cluster: Cluster, result: SectionResult, size: Sizes) -> None:
    cards = await post_cards(cluster, size.cards)
    clicks: list[Awaitable[str | None]] = []
    for poster, card in cards:
        for other in range(REPLICAS):
            if other != poster:
                keep_off = [i for i in range(REPLICAS) if i != other]
                clicks.append(click_show_all(cluster, card, keep_off))
    tokens = await asyncio.gather(*clicks)
    await cluster.settle([t for t in tokens if t], 30.0)
    answered, expired = answered_clicks(cluster, tokens)
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
    await idle(cluster)
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
