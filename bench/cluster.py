"""Several replicas for section 11 (`bench.replicas`): real `mde-bot serve` processes behind
the round-robin balancer (`bench.balancer`, a process of its own), one real redis-server and
one real PostgreSQL (`tests.servers`), the MDE simulator and the Slack stand-in in this process.

    this process                                  children
    Simulator (HTTPS)  <------ MDE calls -------  mde-bot serve  x N (ports fixed: a replica
    TimedStandIn       <------ posts, Web API --    restarted comes back on its own port)
    Slack's side       -- signed HTTP -->  balancer  --> round robin over the N
                                                    redis-server, PostgreSQL (audit)

Each replica is configured as an operator would: environment variables only (SLACK_*, MDE_*,
BOT_*, PORT, REDIS_URL, BOT_REPLICAS, DATABASE_URL), in an empty working directory (no .env).
`Replica.kill()` is `kill -9`; `Replica.restart()` is SIGTERM (the bot drains what it accepted,
up to 20 s), then a new process on the same port, healthy before it returns.

`Cluster.deliver()` sends a message event as Slack does: signed, a 3-s wait for the ack, and on
a timeout or an error the same event again (`X-Slack-Retry-Num`) after Slack's waits, scaled
(`RETRY_WAITS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.balancer import AVOID, REPLICA
from bench.child import ROOT, BotLog
from bench.common import BASE_SETTINGS, CHANNEL, USER, TimedStandIn
from bot.demo.backend import connector_config
from bot.demo.simulator import Simulator, data
from bot.demo.standin import BOT_USER_ID, TEAM_ID
from tests.servers import PostgresServer, RedisServer, free_port

SLACK_ACK_TIMEOUT = 3.0  # seconds Slack waits for the HTTP answer
# Slack retries a failed delivery three times: at once (about 1 s), after 1 min, after 5 min.
# Here: 1 s, then the minute and the five minutes divided by SCALE.
RETRY_SCALE = 30
RETRY_WAITS = (1.0, 60.0 / RETRY_SCALE, 300.0 / RETRY_SCALE)
START_TIMEOUT = 60.0  # seconds for a replica to answer /healthz
STOP_TIMEOUT = 40.0  # a replica drains for up to 20 s (bot.runtime.SHUTDOWN_GRACE)
# The developer's own settings never reach a replica: it gets only what the bench sets.
# Log lines kept whole, in order: how each replica opened its state, and Redis's edges.
EDGES = frozenset({"state_opened", "redis_down", "redis_back"})
SCRUBBED = ("SLACK_", "MDE_", "BOT_", "PORT", "REDIS_", "DATABASE_URL", "AUDIT_DATABASE")


def _env(settings: Mapping[str, Any]) -> dict[str, str]:
    """BOT_* variables for bot settings (lists comma-separated), as an operator writes them."""
    env = {}
    for name, value in settings.items():
        text = ",".join(value) if isinstance(value, list | tuple) else str(value)
        env[f"BOT_{name.upper()}"] = text.lower() if isinstance(value, bool) else text
    return env


@dataclass
class Replica:
    """One `mde-bot serve` process on a fixed port."""

    index: int
    port: int
    env: dict[str, str]
    folder: Path
    log: BotLog = field(default_factory=BotLog)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    health: dict[str, Any] = field(default_factory=dict)  # /healthz at start-up
    edges: list[dict[str, Any]] = field(default_factory=list)  # EDGES lines, as logged
    _drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        command = shutil.which("mde-bot", path=str(Path(sys.executable).parent)) or "mde-bot"
        self.process = await asyncio.create_subprocess_exec(
            command,
            "serve",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.folder,
            env=self.env,
        )
        self.starts += 1
        self._drain = asyncio.create_task(self._read_log(self.process))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                await asyncio.sleep(0.2)
                raise RuntimeError(f"replica {self.index} exited: {self.log.samples}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/healthz", timeout=_timeout(1.0)) as r:
                    if r.status == 200:
                        self.health = await r.json(content_type=None)
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"replica {self.index} not healthy within {START_TIMEOUT:g} s")

    async def _read_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.add(line)
            with contextlib.suppress(ValueError, AttributeError):
                entry = json.loads(line)
                if entry.get("event") in EDGES:
                    drop = ("level", "logger")
                    self.edges.append({k: v for k, v in entry.items() if k not in drop})

    def kill(self) -> None:
        """`kill -9`: no drain, no goodbye."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops a pod: the bot stops listening, drains, exits."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            code = await process.wait()
        if self._drain is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain, 5.0)
        self.process = None
        return code

    async def restart(self, session: aiohttp.ClientSession) -> None:
        await self.stop()
        await self.start(session)


def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds)


@dataclass
class Attempt:
    at: float  # monotonic, when it left
    replica: int | None  # who answered (X-Bench-Replica), None if nobody did
    outcome: str  # "200", "502", "timeout", or the client error's name
    seconds: float = 0.0  # until the answer was read (Slack's view of the ack)


@dataclass
class Delivery:
    """One message event as Slack delivered it, attempt by attempt."""

    ts: str  # the message's ts: its thread's key in the stand-in
    event_id: str
    body: str = field(repr=False, default="")
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return any(a.outcome == "200" for a in self.attempts)

    @property
    def first_replica(self) -> int | None:
        return next((a.replica for a in self.attempts if a.replica is not None), None)


@dataclass
class Cluster:
    simulator: Simulator
    slack: TimedStandIn
    redis: RedisServer | None
    replicas: list[Replica]
    balancer_url: str
    session: aiohttp.ClientSession
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ Slack's side

    def _envelope(self, text: str, user: str) -> tuple[str, dict[str, Any]]:
        ts = f"{int(time.time())}.{next(self._serial):06d}"
        event_id = f"Ev{secrets.token_hex(5).upper()}"
        return ts, {
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
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }

    async def send(
        self,
        body: str,
        content_type: str,
        *,
        retry: tuple[int, str] | None = None,
        avoid: Sequence[int] = (),
        to: str | None = None,
        wait: float = SLACK_ACK_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
    ) -> Attempt:
        """One signed POST through the balancer (or `to` a replica's URL, on `session` if
        given: its connections are its own)."""
        headers = {"Content-Type": content_type, **self.slack.sign(body)}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry[0]), "X-Slack-Retry-Reason": retry[1]}
        if avoid:
            headers[AVOID] = ",".join(str(i) for i in avoid)
        url = f"{to or self.balancer_url}/slack/events"
        started = time.monotonic()
        try:
            async with (session or self.session).post(
                url, data=body.encode(), headers=headers, timeout=_timeout(wait)
            ) as answer:
                await answer.read()
                replica = answer.headers.get(REPLICA)
                took = time.monotonic() - started
                return Attempt(started, int(replica) if replica else None, str(answer.status), took)
        except TimeoutError:
            return Attempt(started, None, "timeout", time.monotonic() - started)
        except aiohttp.ClientError as exc:
            return Attempt(started, None, type(exc).__name__, time.monotonic() - started)

    async def deliver(self, text: str, *, user: str = USER) -> Delivery:
        """A message event, delivered as Slack does: retried on a timeout or an error."""
        ts, envelope = self._envelope(text, user)
        body = json.dumps(envelope)
        delivery = Delivery(ts, envelope["event_id"], body)
        retry: tuple[int, str] | None = None
        for number in range(len(RETRY_WAITS) + 1):
            attempt = await self.send(body, "application/json", retry=retry)
            delivery.attempts.append(attempt)
            if attempt.outcome == "200" or number == len(RETRY_WAITS):
                break
            reason = "http_timeout" if attempt.outcome == "timeout" else "http_error"
            retry = (number + 1, reason)
            await asyncio.sleep(RETRY_WAITS[number])
        return delivery

    def event_body(self, text: str, *, user: str = USER) -> tuple[str, str, str]:
        """(ts, event_id, body) of a new message event, for a sender that places it itself."""
        ts, envelope = self._envelope(text, user)
        return ts, envelope["event_id"], json.dumps(envelope)

    def command_body(self, text: str, *, user: str = USER) -> tuple[str, str]:
        """(response_url token, body) of `/mde text`."""
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
        return token, urlencode(form)

    def click_body(self, card: Mapping[str, Any], action_id: str) -> tuple[str, str] | None:
        """(response_url token, body) of a click on `card`'s button `action_id`; None if the
        card has no such button."""
        element = next(
            (
                e
                for b in card.get("blocks") or []
                if b.get("type") == "actions"
                for e in b.get("elements", [])
                if e.get("action_id") == action_id
            ),
            None,
        )
        if element is None:
            return None
        token = secrets.token_hex(8)
        payload = self.slack.click_payload(
            element,
            message_ts=f"{int(time.time())}.{next(self._serial):06d}",
            response_url=f"{self.slack.base_url}/response/{token}",
            message={"thread_ts": card.get("thread_ts"), **card},
        )
        return token, urlencode({"payload": json.dumps(payload)})

    # ------------------------------------------------------------------ what was posted

    def replies(self, key: str) -> int:
        """Final messages posted for a request (a thread's posts, or a response_url's)."""
        return len(self.slack.finals.get(key, []))

    async def settle(self, keys: Sequence[str], within: float) -> bool:
        remaining = set(keys)

        def done() -> bool:
            remaining.difference_update([k for k in remaining if self.slack.answered(k)])
            return not remaining

        try:
            await self.slack.wait_for(done, within)
        except TimeoutError:
            return False
        return True

    async def balancer_stats(self) -> dict[str, int]:
        async with self.session.get(f"{self.balancer_url}/_balancer") as r:
            stats: dict[str, int] = await r.json()
            return stats

    async def redis_keys(self) -> dict[str, int]:
        """Keys in Redis by kind (`mde-bot:KIND:…`): proof that the replicas share there."""
        if self.redis is None:
            return {}

        def census(url: str) -> dict[str, int]:
            kinds: dict[str, int] = {}
            with redis.Redis.from_url(url) as client:
                for key in client.scan_iter(count=1000):
                    parts = key.decode(errors="replace").split(":")
                    kind = ":".join(parts[1:3]) if len(parts) > 2 else parts[-1]
                    kinds[kind] = kinds.get(kind, 0) + 1
            return kinds

        return await asyncio.to_thread(census, self.redis.url)

    async def metrics(self, *names: str) -> dict[str, float]:
        """The replicas' /metrics, summed over the replicas: `name{labels}` → value, for the
        samples whose name starts with one of `names` (counters count since each process
        started)."""
        totals: dict[str, float] = {}
        for replica in self.replicas:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(f"{replica.url}/metrics", timeout=_timeout(5)) as r:
                    text = await r.text()
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name.startswith(names) and not sample.name.endswith("_created"):
                            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                            key = f"{sample.name}{{{labels}}}" if labels else sample.name
                            totals[key] = totals.get(key, 0.0) + sample.value
        return totals

    async def redis_exists(self, *keys: str) -> list[bool]:
        if self.redis is None:
            return [False for _ in keys]

        def exists(url: str) -> list[bool]:
            with redis.Redis.from_url(url) as client:
                return [bool(client.exists(k)) for k in keys]

        return await asyncio.to_thread(exists, self.redis.url)

    async def health_floor(self, count: int) -> list[float]:
        """Seconds for `count` GET /healthz at once through the balancer: no Slack, no
        signature, the floor that the harness, the balancer and aiohttp put under an ack."""

        async def one() -> float:
            started = time.monotonic()
            async with self.session.get(f"{self.balancer_url}/healthz") as r:
                await r.read()
            return time.monotonic() - started

        return list(await asyncio.gather(*(one() for _ in range(count))))

    def logs(self) -> dict[str, Any]:
        return {f"replica {r.index}": r.log.as_dict() for r in self.replicas}

    def log_events(self, name: str) -> int:
        return sum(r.log.events.get(name, 0) for r in self.replicas)

    def edges(self) -> list[dict[str, Any]]:
        """Every replica's EDGES lines, by time."""
        lines = [{"replica": r.index, **e} for r in self.replicas for e in r.edges]
        return sorted(lines, key=lambda e: str(e.get("timestamp", "")))


@dataclass
class Servers:
    """One redis-server and one PostgreSQL for the whole section."""

    redis: RedisServer
    postgres: PostgresServer

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls) -> AsyncIterator[Servers]:
        redis = RedisServer()
        postgres = PostgresServer()
        try:
            await asyncio.gather(asyncio.to_thread(redis.start), asyncio.to_thread(postgres.start))
            yield cls(redis, postgres)
        finally:
            await asyncio.gather(asyncio.to_thread(redis.close), asyncio.to_thread(postgres.close))


@contextlib.asynccontextmanager
async def open_cluster(
    servers: Servers,
    replicas: int,
    settings: Mapping[str, Any],
    *,
    latency: float = 0.0,
    rate_limit: int = 10**9,
    rate_window: float = 60.0,
    hunting_limit: int = 10**9,
) -> AsyncIterator[Cluster]:
    """`replicas` bots sharing state on `servers` (a fresh Redis keyspace and a fresh
    database), behind a balancer, against a simulator with `rate_limit` per `rate_window`."""
    await asyncio.to_thread(servers.redis.flush)
    database = await asyncio.to_thread(servers.postgres.create_database)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.to_thread, servers.postgres.drop_database, database)
        simulator = await stack.enter_async_context(Simulator(tenants=[data.contoso()]))
        simulator.knobs.latency = latency
        simulator.knobs.rate_limit, simulator.knobs.rate_window = rate_limit, rate_window
        simulator.knobs.hunting_rate_limit = hunting_limit
        slack = TimedStandIn(signing_secret=secrets.token_hex(16))
        await slack.start()
        stack.push_async_callback(slack.stop)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        )
        connector = connector_config(simulator, simulator.tenant("contoso"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
        env |= {f"MDE_{k.upper()}": v for k, v in connector.items()}
        env |= _env({**BASE_SETTINGS, **settings})
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-bench-0000000000-local",
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "REDIS_URL": servers.redis.url,
            "BOT_REPLICAS": str(replicas),
            "DATABASE_URL": database,
        }
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mde-bot-bench-")))
        bots = []
        for index in range(replicas):
            (folder / str(index)).mkdir()
            port = free_port()
            bots.append(Replica(index, port, {**env, "PORT": str(port)}, folder / str(index)))
        for bot in bots:
            stack.push_async_callback(bot.stop)
        # All at once, as a deployment starts them: the audit schema's migration must cope.
        await asyncio.gather(*(bot.start(session) for bot in bots))
        balancer = await _balancer([b.port for b in bots])
        stack.push_async_callback(_stop_process, balancer)
        assert balancer.stdout is not None
        url = (await asyncio.wait_for(balancer.stdout.readline(), START_TIMEOUT)).decode().strip()
        yield Cluster(simulator, slack, servers.redis, bots, url, session)


async def _balancer(ports: Sequence[int]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.balancer",
        str(free_port()),
        *(str(p) for p in ports),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10.0)
        except TimeoutError:
            process.kill()
            await process.wait()
