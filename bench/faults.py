"""Section 5, faults: lookups while MDE, Entra or Slack misbehave. One fresh bot per scenario.

Load: `/mde` commands and pasted messages, alternating, each with its own indicator from the
seeded tenant (device IPs and host names), so that no cache hides the fault; evenly spaced;
simulator latency 50 ms. The bot replies to every message, found or not
(`post_when_nothing_found`), so silence always means a lost request.

    5xx            10 % of MDE calls answer 500
    timeouts       5 % of MDE calls hang; call timeout and hang scaled by 1/10 (2 s, 3 s)
    429 storm      every MDE call answers 429 for 10 s (from 2 s in), Retry-After counting down
    token down     Entra's token endpoint answers 503 for 30 s, before the bot has a token
    Slack 429      Slack answers 429 to the next chat.postMessage calls: as many as there are
                   messages (the bot retries 3 times), then four times as many

Per request: answered (a final answer reached the stand-in: a response_url post that is not
the progress note, or the threaded chat.postMessage), answered with an error message (its text
starts with ⚠️), lost (no final answer by the deadline; the bot is then stopped, which drains
its work), answered twice (more than one final answer).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    Figure,
    SectionResult,
    Sent,
    World,
    is_error,
    open_world,
    seeded_pool,
    spaced,
)

SECTION = "5 faults"
LATENCY = 0.050
DEADLINE = 90.0  # seconds after the last request for every answer


@dataclass(frozen=True)
class Scenario:
    name: str
    requests: int
    over: float  # seconds the requests are spread over
    prepare: Callable[[World], None]  # right before the first request
    settings: dict[str, Any] = field(default_factory=dict)
    warm: bool = True  # False: the bot has no token yet when the load starts
    messages_only: bool = False  # Slack's 429s are on chat.postMessage, not response_url


def _errors(world: World) -> None:
    world.simulator.knobs.error_rate = 0.10


def _timeouts(world: World) -> None:
    world.simulator.knobs.timeout_rate = 0.05
    world.simulator.knobs.hang_seconds = 3.0


def _storm(seconds: float, after: float) -> Callable[[World], None]:
    def prepare(world: World) -> None:
        asyncio.get_running_loop().call_later(after, world.simulator.storm_429, seconds)

    return prepare


def _token_down(seconds: float) -> Callable[[World], None]:
    def prepare(world: World) -> None:
        world.simulator.token_endpoint_down_for(seconds)

    return prepare


def _slack_429(count: int) -> Callable[[World], None]:
    def prepare(world: World) -> None:
        world.slack.rate_limit_next["chat.postMessage"] = count

    return prepare


def scenarios(quick: bool) -> list[Scenario]:
    if quick:
        return [
            Scenario("MDE 5xx on 10 % of calls", 20, 2.0, _errors),
            Scenario("MDE timeouts on 5 % of calls", 20, 2.0, _timeouts, {"mde_call_timeout": 2.0}),
            Scenario("MDE 429 storm (2 s)", 20, 2.0, _storm(2.0, after=0.5)),
            Scenario("token endpoint down (2 s)", 10, 3.0, _token_down(2.0), warm=False),
            Scenario("Slack 429, 1 per reply", 10, 1.0, _slack_429(10), messages_only=True),
            Scenario("Slack 429, 4 per reply", 5, 1.0, _slack_429(20), messages_only=True),
        ]
    return [
        Scenario("MDE 5xx on 10 % of calls", 100, 10.0, _errors),
        Scenario("MDE timeouts on 5 % of calls", 100, 10.0, _timeouts, {"mde_call_timeout": 2.0}),
        Scenario("MDE 429 storm (10 s)", 100, 15.0, _storm(10.0, after=2.0)),
        Scenario("token endpoint down (30 s)", 80, 40.0, _token_down(30.0), warm=False),
        Scenario("Slack 429, 1 per reply", 50, 5.0, _slack_429(50), messages_only=True),
        Scenario("Slack 429, 4 per reply", 20, 2.0, _slack_429(80), messages_only=True),
    ]


def _indicators() -> Iterator[str]:
    pool = seeded_pool()
    return itertools.cycle([*pool.ips, *pool.hosts])


async def _run(scenario: Scenario, indicators: Iterator[str]) -> dict[str, Any]:
    settings = {"post_when_nothing_found": True, **scenario.settings}
    async with open_world(settings, latency=LATENCY, wide=True, warm=scenario.warm) as world:
        texts = [next(indicators) for _ in range(scenario.requests)]

        async def send(i: int) -> Sent:
            if scenario.messages_only or i % 2:
                return await world.message(f"anyone seen {texts[i]} before?")
            return await world.command(texts[i])

        scenario.prepare(world)
        sends: list[Sent] = await spaced(scenario.requests, scenario.over, send)
        await world.settle([s.key for s in sends], DEADLINE)
        slack, bot = world.slack, world.bot
    # Out of the block: the bot has stopped, and drained what it had accepted.
    finals = [slack.finals.get(s.key, []) for s in sends]
    answered = sum(1 for f in finals if f)
    return {
        "requests": scenario.requests,
        "acked": sum(1 for s in sends if s.status == 200),
        "answered": answered,
        "with_error": sum(1 for f in finals if f and is_error(f[0].payload)),
        "with_problem_note": sum(1 for f in finals if f and _problem_note(f[0].payload)),
        "lost": scenario.requests - answered,
        "twice": sum(1 for f in finals if len(f) > 1),
        "slack_429s": dict(slack.throttled),
        "mde_calls": dict(world.simulator.calls),
        "token_requests": world.simulator.token_requests,
        "bot_log": bot.log.as_dict(),
    }


def _problem_note(payload: dict[str, Any]) -> bool:
    """A card that is not an error as a whole but carries a ⚠️ problem section."""
    if is_error(payload):
        return False
    return any("⚠️" in str(block.get("text", "")) for block in payload.get("blocks") or [])


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    indicators = _indicators()
    for scenario in scenarios(quick):
        outcome = await _run(scenario, indicators)
        result.details[scenario.name] = outcome
        counts = (
            f"{outcome['answered']} of {outcome['requests']} answered, "
            f"{outcome['with_error']} with an error message, "
            f"{outcome['with_problem_note']} with a problem note"
        )
        result.add(
            Figure(
                SECTION,
                f"{scenario.name}: lost",
                outcome["lost"],
                target="0",
                passed=outcome["lost"] == 0,
                absolute=counts,
            )
        )
        result.add(
            Figure(
                SECTION,
                f"{scenario.name}: answered twice",
                outcome["twice"],
                target="0",
                passed=outcome["twice"] == 0,
            )
        )
    result.markdown = _table(result.details)
    result.bot_log = {name: d["bot_log"]["lines_by_level"] for name, d in result.details.items()}
    return result


def _table(details: dict[str, dict[str, Any]]) -> str:
    lines = [
        "Faults, per scenario (counts of requests):",
        "",
        "| scenario | sent | answered | with an error message | with a problem note | lost "
        "| answered twice |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, d in details.items():
        lines.append(
            f"| {name} | {d['requests']} | {d['answered']} | {d['with_error']} "
            f"| {d['with_problem_note']} | {d['lost']} | {d['twice']} |"
        )
    return "\n".join(lines)


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
