"""What the scenarios of section 11 (`bench.replicas`) share: MDE's budget scaled down, the
sizes of a full and a quick run, the load of message events, and the counting of replies
(lost: none; twice: more than one) from the stand-in's record of what was posted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.cluster import Cluster, Delivery
from bench.common import is_error, spaced
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


def count_replies(cluster: Cluster, keys: Sequence[str]) -> tuple[int, int]:
    """(lost, twice): requests without a reply, and those with more than one."""
    lost = sum(1 for k in keys if cluster.replies(k) == 0)
    twice = sum(1 for k in keys if cluster.replies(k) > 1)
    return lost, twice


async def idle(cluster: Cluster) -> None:
    """One window without calls, so the next scenario starts with an empty budget; then the
    simulator's counters and peaks start again."""
    await asyncio.sleep(WINDOW + 0.5)
    cluster.simulator.reset_counters()


async def event_load(
    cluster: Cluster, rate: float, seconds: float, ips: Iterator[str]
) -> list[Delivery]:
    """Message events at `rate` a second for `seconds`, each delivered as Slack does."""
    count = max(1, int(rate * seconds))
    texts = [f"seen {next(ips)} in the proxy log" for _ in range(count)]
    deliveries: list[Delivery] = await spaced(
        count, seconds, lambda i: cluster.deliver(texts[i], user=f"U0L{i % 20:02d}")
    )
    return deliveries


async def finish(cluster: Cluster, keys: Sequence[str]) -> tuple[int, int]:
    await cluster.settle(keys, SETTLE)
    await asyncio.sleep(LINGER)
    return count_replies(cluster, keys)


def attempts_by_outcome(deliveries: Sequence[Delivery]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for d in deliveries:
        for a in d.attempts:
            outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    outcomes["retried deliveries"] = sum(1 for d in deliveries if len(d.attempts) > 1)
    return outcomes


async def post_cards(cluster: Cluster, count: int) -> list[tuple[int, dict[str, Any]]]:
    """`count` cards with a "Show all" button, posted by the replicas in turn: (replica, card)."""
    sent = await spaced(count, count / 5, lambda i: cluster.deliver(CARD_TEXT, user=f"U0C{i:02d}"))
    await cluster.settle([d.ts for d in sent], SETTLE)
    cards = []
    for d in sent:
        finals = cluster.slack.finals.get(d.ts)
        if finals and d.first_replica is not None:
            cards.append((d.first_replica, finals[0].payload))
    return cards


async def click_show_all(
    cluster: Cluster, card: dict[str, Any], avoid: Sequence[int]
) -> str | None:
    """Click "Show all" (through a replica not in `avoid`); the reply's token, None when the
    card has no such button or the click was not acked."""
    made = cluster.click_body(card, SHOW_ALL)
    if made is None:
        return None
    token, body = made
    attempt = await cluster.send(body, FORM, avoid=avoid)
    return token if attempt.outcome == "200" else None


def answered_clicks(cluster: Cluster, tokens: Sequence[str | None]) -> tuple[int, int]:
    """(answered, expired) among the clicks' replies."""
    replies = [
        cluster.slack.finals[t][0].payload
        for t in tokens
        if t is not None and cluster.slack.finals.get(t)
    ]
    expired = sum(1 for r in replies if "expired" in str(r.get("text", "")))
    return sum(1 for r in replies if not is_error(r)), expired
