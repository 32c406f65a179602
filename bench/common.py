"""The benchmarks' harness: the MDE simulator, the Slack stand-in and the load generator in this
process; the bot in a child process; everything on loopback, over real HTTP.

Why a child process: the ack benchmark fires 200 signed requests at once and times Slack's view
of the answer. In one process, the load generator, the simulator's TLS and the stand-in would
share the bot's event loop and its CPU, and their work would be counted as the bot's. In a child,
the bot has its own interpreter, loop and core, as in production, and its RSS (section 7) is the
bot's alone, without the simulator's seeded tenant or the load generator.

    parent (this process)                         child (`python -m bench.child`)
    Simulator (HTTPS)  <----- MDE calls --------  open_backend + serve_slack + handlers
    TimedStandIn       <----- posts, Web API ---  (logs: JSON at WARNING on stderr, counted)
    load generator     ------ signed requests --> /slack/events
                       ------ control (stdin) --> stats, cold caches, stop

The parent steers the simulator's knobs and the stand-in directly; the child answers a few
control lines (JSON on stdin → JSON on stdout) so that caches can be emptied between runs and
cache sizes and RSS read from inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.child import BotProcess
from bot.demo.backend import connector_config
from bot.demo.simulator import Simulator, data
from bot.demo.standin import BOT_USER_ID, TEAM_ID, Post, SlackStandIn
from bot.indicators import extract

CHANNEL = "C0INCIDENT"
USER = "U0RESPONDER"
PROGRESS_PREFIX = "🔎 Looking up"  # bot.render.messages.progress_message
WARNING_PREFIX = "⚠️"  # bot.render.kit.WARNING: how the bot's error messages start
QUEUED_MARK = "queued, about"  # the progress message's words when the budget is used up

# The simulator's limits and the bot's, set out of the way for the sections that measure
# something other than the budget (section 4 measures the budget).
WIDE_BUDGET: dict[str, Any] = {
    "mde_calls_per_minute": 1_000_000,
    "mde_calls_per_hour": 10_000_000,
    "mde_hunting_calls_per_minute": 1_000_000,
}
# What every benchmarked bot runs with, besides each section's own settings: quiet logs (JSON,
# counted by the parent) and the seeded tenant's DNS suffix, as an operator would configure it
# (`ws-fin-042.corp.contoso.com` is then a host name, not an internet domain).
BASE_SETTINGS: dict[str, Any] = {
    "log_level": "WARNING",
    "log_format": "json",
    "internal_domains": ["corp.contoso.com"],
}


# =============================================================================== figures


@dataclass
class Figure:
    """One line of the results table: a ratio or a count, its target, and whether it met it.

    `passed` is None for figures reported without a target. `absolute` carries the absolute
    times and sizes behind a ratio, labelled, for the reader (never a target themselves)."""

    section: str
    name: str
    value: float | int | str
    target: str = ""
    passed: bool | None = None
    absolute: str = ""

    @property
    def status(self) -> str:
        return "INFO" if self.passed is None else "PASS" if self.passed else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "value": self.value,
            "target": self.target,
            "status": self.status,
            "absolute": self.absolute,
        }


@dataclass
class SectionResult:
    """What a section returns: its figures, raw details for the JSON, extra markdown."""

    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""  # an extra table or note under the main table
    bot_log: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rounded(value: float, digits: int = 2) -> float:
    return float(f"{value:.{digits}f}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# =============================================================================== indicators


@dataclass(frozen=True)
class Pool:
    """Indicators of the seeded contoso tenant (`bot.demo.simulator.data`), by kind."""

    ips: tuple[str, ...]
    hosts: tuple[str, ...]  # short names: `ws-fin-002`
    fqdns: tuple[str, ...]  # `ws-fin-002.corp.contoso.com`
    sha256s: tuple[str, ...]
    sha1s: tuple[str, ...]
    md5s: tuple[str, ...]
    domains: tuple[str, ...]
    file_names: tuple[str, ...]


def seeded_pool() -> Pool:
    """Only names the extractor finds in a sentence: it leaves short names without a digit
    (`mac-gzhang`) alone, as it would an ordinary hyphenated word."""
    tenant = next(t for t in data.seeded_tenants() if t.name == "contoso")
    machines = [m for m in tenant.machines if m.get("computerDnsName")]
    ips = _unique(str(m["lastIpAddress"]) for m in machines if m.get("lastIpAddress"))
    fqdns = _unique(
        str(m["computerDnsName"]).lower() for m in machines if "." in m["computerDnsName"]
    )
    hosts = _unique(
        name for m in machines if _extracts(name := str(m["computerDnsName"]).split(".")[0].lower())
    )
    evidence = [e for a in tenant.alerts for e in a.get("evidence") or []]
    domains = _unique(
        str(e["url"]).split("//")[-1].split("/")[0].lower()
        for e in evidence
        if e.get("url") and "//" in str(e["url"])
    )
    names = _unique(str(e["fileName"]) for e in evidence if e.get("fileName"))
    files = tenant.files
    return Pool(
        ips=ips,
        hosts=hosts,
        fqdns=fqdns,
        sha256s=_unique(str(f["sha256"]) for f in files if f.get("sha256")),
        sha1s=_unique(str(f["sha1"]) for f in files if f.get("sha1")),
        md5s=_unique(str(f["md5"]) for f in files if f.get("md5")),
        domains=tuple(d for d in domains if not d.replace(".", "").isdigit()),
        file_names=names,
    )


def _extracts(value: str) -> bool:
    found = extract(f"seen on {value} today", internal_suffixes=BASE_SETTINGS["internal_domains"])
    return [i.value for i in found.indicators] == [value]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def unknown_ips(start: int = 0) -> Iterator[str]:
    """Distinct internal IPs that no seeded device has (10.100.0.0/14 is in no address plan)."""
    for n in itertools.count(start):
        yield f"10.{100 + n // 65_000}.{n // 250 % 260}.{n % 250 + 1}"


# =============================================================================== the stand-in


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # time.monotonic() in this process when the post reached the stand-in
    payload: dict[str, Any]


def is_progress(payload: Mapping[str, Any]) -> bool:
    return str(payload.get("text", "")).startswith(PROGRESS_PREFIX)


def is_error(payload: Mapping[str, Any]) -> bool:
    return str(payload.get("text", "")).startswith(WARNING_PREFIX)


@dataclass
class TimedStandIn(SlackStandIn):
    """The Slack stand-in, also timing every post and filing it under the request it answers:
    the response_url token of a command, or the `thread_ts` of a message's threaded reply."""

    finals: dict[str, list[Arrival]] = field(default_factory=dict)
    progress: dict[str, list[Arrival]] = field(default_factory=dict)
    throttled: Counter[str] = field(default_factory=Counter)

    def _record(self, post: Post) -> None:
        now = time.monotonic()
        if post.via == "response_url":
            into = self.progress if is_progress(post.payload) else self.finals
            into.setdefault(post.method, []).append(Arrival(now, post.payload))
        elif post.via == "api" and post.method == "chat.postMessage":
            key = str(post.payload.get("thread_ts", ""))
            self.finals.setdefault(key, []).append(Arrival(now, post.payload))
        elif post.via == "api-429":
            self.throttled[post.method] += 1
        super()._record(post)

    def answered(self, key: str) -> bool:
        return key in self.finals


# =============================================================================== the bot process


@dataclass(frozen=True, slots=True)
class Sent:
    """One request the load generator sent, and Slack's view of the bot's HTTP answer."""

    key: str  # response_url token (commands) or message ts (events)
    kind: str  # "command" or "message"
    sent: float  # monotonic, right before the request left
    acked: float  # monotonic, when the whole answer was read
    status: int

    @property
    def ack_seconds(self) -> float:
        return self.acked - self.sent


@dataclass
class World:
    """Simulator, stand-in and bot, started for one section (or one scenario)."""

    simulator: Simulator
    slack: TimedStandIn
    bot: BotProcess
    session: aiohttp.ClientSession
    settings: dict[str, Any]
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ requests, as Slack sends

    async def _post(self, body: str, content_type: str) -> tuple[float, float, int]:
        headers = {"Content-Type": content_type, **self.slack.sign(body)}
        payload = body.encode()
        started = time.monotonic()
        async with self.session.post(self.bot.url, data=payload, headers=headers) as response:
            await response.read()
        return started, time.monotonic(), response.status

    async def command(self, text: str, *, user: str = USER) -> Sent:
        """`/mde text`, form-encoded and signed like Slack's; the key is its response_url token."""
        token = secrets.token_hex(8)
        form = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "incident",
            "channel_id": CHANNEL,
            "channel_name": "incident",
            "user_id": user,
            "user_name": "responder",
            "command": "/mde",
            "text": text,
            "api_app_id": "A0MDEBOT01",
            "response_url": f"{self.slack.base_url}/response/{token}",
            "trigger_id": f"{int(time.time())}.trigger",
        }
        started, acked, status = await self._post(
            urlencode(form), "application/x-www-form-urlencoded"
        )
        return Sent(token, "command", started, acked, status)

    async def message(self, text: str, *, user: str = USER) -> Sent:
        """A new message in the channel, as the Events API delivers it; the key is its ts."""
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        envelope = {
            "token": "legacy-verification-token-unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0MDEBOT01",
            "event": {
                "type": "message",
                "channel": CHANNEL,
                "user": user,
                "text": text,
                "ts": ts,
                "channel_type": "channel",
            },
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        started, acked, status = await self._post(json.dumps(envelope), "application/json")
        return Sent(ts, "message", started, acked, status)

    async def health(self) -> float:
        """Seconds for GET /healthz: the same server, no Slack, no signature: the floor that
        the load generator and aiohttp alone put under every ack."""
        started = time.monotonic()
        async with self.session.get(self.bot.url.replace("/slack/events", "/healthz")) as r:
            await r.read()
        return time.monotonic() - started

    # ------------------------------------------------------------------ waiting for answers

    async def settle(self, keys: Iterable[str], within: float) -> bool:
        """Until every request in `keys` has a final answer; False if `within` ran out."""
        remaining = set(keys)

        def done() -> bool:
            remaining.difference_update([k for k in remaining if self.slack.answered(k)])
            return not remaining

        try:
            await self.slack.wait_for(done, within)
        except TimeoutError:
            return False
        return True

    async def quiet(self, within: float) -> bool:
        """Until the bot has no work in flight (everything it accepted is answered or given
        up); False if `within` ran out."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (await self.bot.stats())["inflight"] == 0:
                return True
            await asyncio.sleep(0.5)
        return False

    def final(self, key: str) -> Arrival | None:
        answers = self.slack.finals.get(key)
        return answers[0] if answers else None

    async def warm_up(self) -> None:
        """One lookup end to end: Bolt's auth.test, msal's sign-in and the TLS pool are ready,
        and nothing of it stays in the MDE caches or the simulator's counters."""
        sent = await self.command(data.DEMO_IP)
        if not await self.settle([sent.key], 30.0):
            raise RuntimeError(f"the bot did not answer the warm-up lookup; {self.bot.log.samples}")
        await self.bot.cold()
        self.simulator.reset_counters()


@contextlib.asynccontextmanager
async def open_world(
    settings: Mapping[str, Any] | None = None,
    *,
    latency: float = 0.0,
    wide: bool = False,
    warm: bool = True,
    tenant: data.Tenant | None = None,
) -> AsyncIterator[World]:
    """A simulator with the contoso tenant (one connector), the stand-in, and the bot between.

    `latency`: seconds the simulator adds to every MDE call. `wide`: budgets out of the way on
    both sides. `warm`: run one lookup first (sign-in, Bolt's auth.test), then empty the caches.
    """
    bot_settings = {**BASE_SETTINGS, **(WIDE_BUDGET if wide else {}), **(settings or {})}
    async with contextlib.AsyncExitStack() as stack:
        simulator = await stack.enter_async_context(Simulator(tenants=[tenant or data.contoso()]))
        simulator.knobs.latency = latency
        if wide:
            simulator.knobs.rate_limit = 10**9
            simulator.knobs.hunting_rate_limit = 10**9
        slack = TimedStandIn(signing_secret=secrets.token_hex(16))
        await slack.start()
        stack.push_async_callback(slack.stop)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        )
        tenant = simulator.tenant("contoso")
        bot = await BotProcess.start(
            {
                "settings": bot_settings,
                "connectors": [connector_config(simulator, tenant)],
                "slack": {"api_url": slack.api_url, "signing_secret": slack.signing_secret},
            }
        )
        stack.push_async_callback(bot.stop)
        world = World(simulator, slack, bot, session, bot_settings)
        if warm:
            await world.warm_up()
        yield world


async def spaced(count: int, over: float, send: Callable[[int], Any]) -> list[Any]:
    """Call `send(i)` for i in range(count), evenly spaced over `over` seconds, concurrently;
    the results in order."""
    start = time.monotonic()

    async def at(i: int) -> Any:
        delay = start + (over * i / count if count else 0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return await send(i)

    return list(await asyncio.gather(*(at(i) for i in range(count))))


# =============================================================================== the child
