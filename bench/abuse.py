"""Section 8, abuse: what an attacker and a bad day do to the bot (the hardening issue), each
scenario against a fresh bot process, the simulator and the Slack stand-in on loopback.

1. Forged timestamps: 50 requests of each malformed kind (4,301 digits, a superscript digit,
   two timestamp headers of which the first is genuine), each naming a channel and a
   response_url. Counted: side effects (anything posted to Slack, any MDE call): target 0.
2. One user's flood against a second user's `/mde`: MDE's budget scaled tenfold down (100
   calls per 6 s, as in section 4; 100 ms a call). User A pastes 10 messages of 50 random
   SHA-1s; then user B asks `/mde <the demo IP>`. B's time to its answer ÷ B's time on the
   same bot when idle.
3. A flood of 3,000 events (5 random SHA-1s each, from 30 users), as fast as the load
   generator sends them, same scaled budget. Counted: events acknowledged, the most calls
   ever waiting for budget ÷ the queue's cap, the bot's RSS growth ÷ its RSS before, notes
   posted for refused work, and how long the bot takes to drain what it admitted.
4. Slow clients: 400 connections trickling request headers a byte at a time, header
   timeout 2 s, connection cap 256. Counted: connections closed on arrival (over the cap),
   connections still open 1 s after the timeout (target 0).
5. Hostile MDE data: the devices of a shared IP with the longest names, 30 long tags and
   1,000-character alert titles (each within Slack's limit for one block). The largest
   message posted (card, "Show all", `/mde alerts`) ÷ Slack's limits: text ÷ 13,000
   characters, JSON ÷ 40 KB, blocks ÷ 50; messages Slack refused: target 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from multidict import CIMultiDict

from bench.common import (
    CHANNEL,
    TEAM_ID,
    Figure,
    SectionResult,
    Sent,
    World,
    ms,
    open_world,
    rounded,
)
from bot.demo.simulator import data
from bot.demo.standin import TOTAL_BLOCK_TEXT
from bot.render.kit import text_size

SECTION = "8 abuse"
LIMIT, WINDOW, LATENCY = 100, 6.0, 0.100
SCALED = {"mde_calls_per_minute": LIMIT, "mde_rate_window": WINDOW}
QUEUE_CAP = 2000  # bot.mde.limits.MAX_WAITING
SLACK_TEXT, SLACK_BYTES, SLACK_BLOCKS = TOTAL_BLOCK_TEXT, 40_000, 50
SENDERS = 100  # requests the load generator has open at once (Slack's own are fewer)

_serial = itertools.count(1)


def sha1s(count: int) -> list[str]:
    return [hashlib.sha1(f"abuse-{next(_serial)}".encode()).hexdigest() for _ in range(count)]  # noqa: S324 - test data


# --------------------------------------------------------------------------- 1 forged


async def forged(result: SectionResult, per_kind: int) -> None:
    async with open_world(wide=True) as world:
        slack, sim = world.slack, world.simulator
        before = len(slack.posts)
        sim.reset_counters()
        statuses: list[int] = []
        kinds = {
            "4,301 digits": lambda now: [("X-Slack-Request-Timestamp", "1" * 4301)],
            "superscript": lambda now: [("X-Slack-Request-Timestamp", now[:-1] + "²")],
            "two headers": lambda now: [
                ("X-Slack-Request-Timestamp", now),
                ("X-Slack-Request-Timestamp", "9" * 500),
            ],
        }
        for timestamps in kinds.values():
            for _ in range(per_kind):
                body = json.dumps(_event(world, f"seen {data.DEMO_IP}"))
                now = str(int(time.time()))
                headers = [
                    ("Content-Type", "application/json"),
                    *timestamps(now),
                    ("X-Slack-Signature", slack.sign(body, int(now))["X-Slack-Signature"]),
                ]
                statuses.append(await _post_raw(world, body, headers))
        await asyncio.sleep(1.0)  # anything they set off would have arrived by now
        effects = len(slack.posts) - before + sim.calls["*"]
    result.add(
        Figure(
            SECTION,
            "forged-timestamp requests: side effects (posts + MDE calls)",
            effects,
            "0",
            effects == 0,
            f"{len(statuses)} requests ({per_kind} of each of {len(kinds)} kinds); "
            f"answered 401: {statuses.count(401)}",
        )
    )


def _event(world: World, text: str, *, user: str = "U0ATTACKER") -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event": {
            "type": "message",
            "channel": CHANNEL,
            "user": user,
            "text": text,
            "ts": f"{int(time.time())}.{next(_serial):06d}",
        },
        "response_url": f"{world.slack.base_url}/response/{secrets.token_hex(8)}",
    }


async def _post_raw(world: World, body: str, headers: list[tuple[str, str]]) -> int:
    async with world.session.post(
        world.bot.url, data=body.encode(), headers=CIMultiDict(headers)
    ) as response:
        await response.read()
        return response.status


# --------------------------------------------------------------------------- 2 a flood


async def _answer_time(world: World, text: str, user: str) -> float:
    sent = await world.command(text, user=user)
    if not await world.settle([sent.key], 600):
        raise RuntimeError("the command was not answered")
    final = world.final(sent.key)
    assert final is not None
    return final.at - sent.sent


async def flood_against_a_command(result: SectionResult, pastes: int) -> None:
    async with open_world(SCALED, latency=LATENCY) as world:
        sim = world.simulator
        sim.knobs.rate_limit, sim.knobs.rate_window = LIMIT, WINDOW
        idle = await _answer_time(world, data.DEMO_IP, "U0SECOND")
        await world.bot.cold()
        await asyncio.sleep(WINDOW + 1)  # the windows empty again
        flood = [await world.message(" ".join(sha1s(50)), user="U0FLOOD") for _ in range(pastes)]
        await asyncio.sleep(1.0)  # the flood's calls are queued
        busy = await _answer_time(world, data.DEMO_IP, "U0SECOND")
        drained = await world.quiet(600)
        calls_429 = sim.calls["429"]
        replies = [_text(world, s.key) for s in flood]
        notes = sum(1 for r in replies if "Not looked up:" in r)
        trimmed = sum(1 for r in replies if "more not looked up" in r)
    ratio = busy / idle if idle else float("inf")
    result.add(
        Figure(
            SECTION,
            f"second user's /mde during a one-user flood ({pastes} pastes x 50 SHA-1s): "
            "wait ÷ idle",
            rounded(ratio, 2),
            "≤ 2",
            ratio <= 2,
            f"busy {ms(busy)}, idle {ms(idle)}; the flood's {pastes} pastes: {trimmed} trimmed, "
            f"{notes} 'not looked up' note for the channel (a refused paste gets no other)"
            f"{'' if drained else ' (NOT drained in 600 s)'}; MDE 429s {calls_429}",
        )
    )


def _text(world: World, key: str) -> str:
    final = world.final(key)
    return json.dumps(final.payload, ensure_ascii=False) if final else ""


# --------------------------------------------------------------------------- 3 3,000 events


async def event_flood(result: SectionResult, events: int) -> None:
    async with open_world(SCALED, latency=LATENCY) as world:
        sim = world.simulator
        sim.knobs.rate_limit, sim.knobs.rate_window = LIMIT, WINDOW
        before = await world.bot.stats()
        peak_waiting = 0
        peak_rss = before["rss_kb"]
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak_waiting, peak_rss
            while not stop.is_set():
                stats = await world.bot.stats()
                waiting = sum(c["budget_waiting"] for c in stats["clients"])
                peak_waiting = max(peak_waiting, waiting)
                peak_rss = max(peak_rss, stats["rss_kb"])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        senders = asyncio.Semaphore(SENDERS)

        async def send(n: int) -> Sent:
            async with senders:
                return await world.message(" ".join(sha1s(5)), user=f"U0USER{n % 30:02d}")

        sent = await asyncio.gather(*(send(n) for n in range(events)))
        sending = time.monotonic() - started
        acked = sum(1 for s in sent if 200 <= s.status < 300)
        settled = await world.quiet(900)
        drain = time.monotonic() - started
        stop.set()
        await sampler
        after = await world.bot.stats()
        notes = sum(
            1 for p in world.slack.calls("chat.postMessage") if "Not looked up" in p["text"]
        )
        answered = len(world.slack.calls("chat.postMessage")) - notes
    growth = (peak_rss - before["rss_kb"]) / before["rss_kb"]
    result.add(
        Figure(
            SECTION,
            f"{events:,}-event flood: events acknowledged",
            acked,
            f"{events}",
            acked == events,
            f"sent in {sending:.1f} s",
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{events:,}-event flood: most calls waiting for budget ÷ the queue's cap",
            rounded(peak_waiting / QUEUE_CAP, 3),
            "≤ 1",
            peak_waiting <= QUEUE_CAP,
            f"{peak_waiting} calls at most (cap {QUEUE_CAP}); {answered} replies, {notes} "
            f"'not looked up' notes; all work done in {drain:.0f} s"
            + ("" if settled else " (NOT settled within 900 s)"),
        )
    )
    result.add(
        Figure(
            SECTION,
            f"{events:,}-event flood: RSS growth ÷ RSS before",
            rounded(growth, 3),
            "≤ 0.5",
            growth <= 0.5,
            f"{before['rss_kb'] / 1024:.1f} MB before, {peak_rss / 1024:.1f} MB at most, "
            f"{after['rss_kb'] / 1024:.1f} MB after",
        )
    )


# --------------------------------------------------------------------------- 4 slow clients


async def slow_clients(result: SectionResult, count: int) -> None:
    timeout, cap = 2.0, 256
    settings = {"http_header_timeout": timeout, "http_max_connections": cap}
    async with open_world(settings, wide=True) as world:
        host, port = world.bot.url.split("//")[1].split("/")[0].split(":")
        opened = [await asyncio.open_connection(host, int(port)) for _ in range(count)]
        await asyncio.sleep(0.3)
        for reader, _ in opened:
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1024), 0.001)
        refused = sum(1 for reader, _ in opened if reader.at_eof())
        started = time.monotonic()
        while time.monotonic() - started < timeout + 1.0:
            for _, writer in opened:
                if not writer.is_closing():
                    with contextlib.suppress(ConnectionError):
                        writer.write(b"X")
            await asyncio.sleep(0.1)
            for reader, _ in opened:
                with contextlib.suppress(TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read(1024), 0.001)
        held = sum(1 for reader, _ in opened if not reader.at_eof())
        for _, writer in opened:
            writer.close()
        health = await world.health()
    result.add(
        Figure(
            SECTION,
            f"slow clients ({count} trickling headers): connections held 1 s after the "
            f"{timeout:g}-s header timeout",
            held,
            "0",
            held == 0,
            f"{refused} closed on arrival (cap {cap}); /healthz afterwards {ms(health)}",
        )
    )


# --------------------------------------------------------------------------- 5 hostile data


def hostile_tenant() -> data.Tenant:
    tenant = data.contoso()
    long = "A" * 250
    shared = {m["id"] for m in tenant.machines if m.get("lastIpAddress") == data.SHARED_IP}
    tenant.machines = [
        {
            **m,
            "computerDnsName": f"{long[:60]}-{i}." + ".".join([long[:60]] * 3),
            "machineTags": [f"{long}{n}" for n in range(30)],
            "osPlatform": long,
        }
        if m["id"] in shared
        else m
        for i, m in enumerate(tenant.machines)
    ]
    tenant.alerts = [
        {**a, "title": long * 4, "category": long, "threatName": long}
        if a.get("machineId") in shared
        else a
        for a in tenant.alerts
    ]
    return tenant


async def hostile_data(result: SectionResult) -> None:
    async with open_world(wide=True, tenant=hostile_tenant()) as world:
        slack = world.slack
        paste = await world.message(f"seen {data.SHARED_IP} and {data.DEMO_SHA256}")
        await world.settle([paste.key], 60)
        card = world.final(paste.key)
        assert card is not None
        expanded = await _click_show_all(world, card.payload)
        command = await world.command(f"alerts {data.SHARED_IP_HOSTS[0]}")
        await world.settle([command.key], 60)
        refused = [p for p in slack.posts if p.via.endswith("refused")]
        messages = [card.payload, *expanded]
        if (final := world.final(command.key)) is not None:
            messages.append(final.payload)
    sizes = [
        (
            text_size(m.get("blocks") or []),
            len(json.dumps(m.get("blocks") or [], ensure_ascii=False)),
            len(m.get("blocks") or []),
        )
        for m in messages
    ]
    text, size, blocks = (max(column) for column in zip(*sizes, strict=True))
    worst = max(text / SLACK_TEXT, size / SLACK_BYTES, blocks / SLACK_BLOCKS)
    result.add(
        Figure(
            SECTION,
            "hostile MDE data: largest message ÷ Slack's limits (text, JSON, blocks)",
            rounded(worst, 2),
            "≤ 1",
            worst <= 1,
            f"{len(messages)} messages; at most {text:,} characters of text (÷ {SLACK_TEXT:,}), "
            f"{size:,} bytes (÷ {SLACK_BYTES:,}), {blocks} blocks (÷ {SLACK_BLOCKS})",
        )
    )
    result.add(
        Figure(
            SECTION,
            "hostile MDE data: messages Slack refused",
            len(refused),
            "0",
            not refused,
        )
    )


async def _click_show_all(world: World, card: dict[str, Any]) -> list[dict[str, Any]]:
    element = next(
        (
            e
            for b in card.get("blocks") or []
            if b.get("type") == "actions"
            for e in b["elements"]
            if e.get("action_id") == "mde_show_all"
        ),
        None,
    )
    if element is None:
        return []
    token = secrets.token_hex(8)
    payload = world.slack.click_payload(
        element,
        message_ts=f"{int(time.time())}.{next(_serial):06d}",
        response_url=f"{world.slack.base_url}/response/{token}",
        message={"thread_ts": card.get("thread_ts"), **card},
    )
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **world.slack.sign(body)}
    async with world.session.post(world.bot.url, data=body.encode(), headers=headers) as r:
        await r.read()
    await world.settle([token], 60)
    final = world.final(token)
    return [final.payload] if final else []


# --------------------------------------------------------------------------- the section


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    await forged(result, 10 if quick else 50)
    await flood_against_a_command(result, 3 if quick else 10)
    await event_flood(result, 300 if quick else 3000)
    await slow_clients(result, 100 if quick else 400)
    await hostile_data(result)
    return result


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
