"""Composition: settings → session → MDE clients → service → Slack app → web server.

`Backend` owns the process's one aiohttp session and the MDE clients (and the embedded simulator
when no connector is configured). `SlackRuntime` adds the Bolt app and the HTTP server. Both are
async context managers: what they start, they stop.

Listeners are wired by a `Registrar` that the caller passes in (`handlers.register`): `bot/`
never imports `handlers/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access, Seen, Throttle
from bot.app import GuardedSite, build_bolt_app, build_web_app, build_web_client, handle_error
from bot.cache import TtlCache
from bot.errors import ConfigError, InputError
from bot.inflight import InFlight
from bot.logs import get_logger
from bot.mde.auth import TokenProvider
from bot.mde.client import MAX_IN_FLIGHT, Answer, MdeClient, answer_cost, tls_context
from bot.mde.limits import Budget, Priority, Requester, WaitingCount, Window, requested_by
from bot.replies import SLACK_RESPONSE_HOSTS, Replies
from bot.results import Report
from bot.service import EnrichmentService, ExtractionOptions
from bot.settings import BotSettings, ConnectorSettings, SlackSettings
from bot.simulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator, data
from bot.slack_payloads import Audience, acting_user

log = get_logger(__name__)

ACK_HEADSTART = 0.02  # seconds a listener's work waits after its ack (see Services.work)
CONNECTION_POOL = 256
SHUTDOWN_GRACE = 20.0  # seconds acknowledged lookups get to finish at shutdown


REPORT_TTL = 3600.0  # seconds a posted card's buttons can still expand it
# How long an answer can still be delivered: a slash command's response URL lives 30 minutes
# (and an enrichment later than that is stale news). MDE calls still waiting for budget then
# are not sent.
ANSWER_LIFETIME = 1800.0
# Work whose estimated wait for MDE's call budget is longer than this many of MDE's rate
# windows (20 minutes) is trimmed or refused up front: the estimate can be off (by up to 1.9x
# in `make bench`), the answer's lifetime cannot.
ADMISSION_WINDOWS = 20
# Auto-enrichment refused for want of call budget says so at most once per channel this often.
BUSY_NOTE_EVERY = 600.0
# Per connector, besides BOT_CACHE_MB: answers are reused within minutes, and 2,048 hold a busy
# incident's; more would only hold memory (RSS after 10,000 lookups: 130.8 MB with 20,000).
MAX_CACHE_ENTRIES = 2048
# OCSF files: one per card and device (a second click points at the first), and at most this
# many per user in this many seconds.
UPLOADS_PER_USER = (5, 600.0)


@dataclass(frozen=True, slots=True)
class PostedReport:
    """A report behind a posted card, and who can see that card."""

    report: Report
    audience: Audience


@dataclass(frozen=True, slots=True)
class Services:
    """What listeners need, handed to the registrar. Built once per process."""

    enrichment: EnrichmentService
    settings: BotSettings
    access: Access
    replies: Replies
    seen: Seen = field(default_factory=Seen)
    uploads: Seen = field(default_factory=lambda: Seen(ttl=REPORT_TTL, max_entries=5000))
    busy_notes: Throttle = field(default_factory=lambda: Throttle(1, BUSY_NOTE_EVERY))
    upload_quota: Throttle = field(default_factory=lambda: Throttle(*UPLOADS_PER_USER))
    inflight: InFlight = field(default_factory=InFlight)
    # Posted reports, by the opaque id their buttons carry.
    reports: TtlCache[PostedReport] = field(
        default_factory=lambda: TtlCache(ttl=REPORT_TTL, max_entries=500)
    )

    @contextlib.asynccontextmanager
    async def work(
        self,
        body: Mapping[str, Any],
        client: AsyncWebClient,
        *,
        after_ack: bool = True,
        priority: Priority = Priority.COMMAND,
    ) -> AsyncIterator[None]:
        """Around a listener's work after its ack: tracked for a graceful shutdown, its MDE
        calls counted for the user it acts for (at `priority`, until the answer's lifetime
        ends), and any error handed to the app's one error handler here (Bolt loses the ack of
        a listener that fails within milliseconds of acking, so errors must not escape it)."""
        deadline = time.monotonic() + ANSWER_LIFETIME
        requester = Requester(acting_user(body) or "", priority, deadline)
        async with self.inflight.track():
            try:
                # Let the ack leave first: Bolt sends a listener's ack when its 10 ms poll sees
                # it, and work started at once would queue in front of it when many requests
                # arrive together (events are acked by Bolt before the listener even starts).
                if after_ack:
                    await asyncio.sleep(ACK_HEADSTART)
                with requested_by(requester):
                    yield
            # Not swallowed: every error goes to the one error handler, which logs unknown ones
            # with their traceback and a reference id.
            except Exception as error:  # noqa: BLE001
                await handle_error(error, body, self.replies, client)

    @property
    def admission_horizon(self) -> float:
        """The longest estimated wait for call budget that work is admitted with (seconds)."""
        return ADMISSION_WINDOWS * self.settings.mde_rate_window

    def remember(self, report: Report, audience: Audience) -> str:
        """Keep a report posted to `audience` for its buttons; returns the opaque id they
        carry. Only a click from that audience gets it back (`recall`)."""
        report_id = secrets.token_hex(8)
        self.reports.put(report_id, PostedReport(report, audience))
        return report_id

    def recall(self, report_id: str, *, channel: str | None, user: str | None) -> Report:
        """The report a card's button names, for a click by `user` in `channel`."""
        posted = self.reports.get(report_id)
        if posted is None:
            raise InputError("this card has expired", hint="paste the indicators again")
        if not posted.audience.admits(channel, user):
            raise InputError("this card was not posted here", hint="run the lookup again")
        return posted.report

    @classmethod
    def build(
        cls, backend: Backend, settings: BotSettings, *, slack_api_url: str | None = None
    ) -> Services:
        """`slack_api_url`: where the Web API lives; a stand-in's host may then receive
        response_url posts too (Slack's own host always may)."""
        options = ExtractionOptions(tuple(settings.internal_domains), settings.max_indicators)
        enrichment = EnrichmentService(backend.clients, demo=backend.demo, extraction=options)
        hosts = set(SLACK_RESPONSE_HOSTS)
        if slack_api_url and (host := urlsplit(slack_api_url).hostname) != "slack.com" and host:
            hosts.add(host)
        replies = Replies(backend.session, hosts=frozenset(hosts))
        return cls(enrichment, settings, Access(settings), replies)


Registrar = Callable[[AsyncApp, Services], None]


def connector_config(simulator: Simulator, tenant: data.Tenant) -> dict[str, str]:
    """The settings an operator would write for one simulated tenant (plain, JSON-ready)."""
    return {
        "alias": tenant.name,
        "tenant_id": tenant.tenant_id,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "api_url": simulator.api_url,
        "authority": simulator.authority(tenant.tenant_id),
        "ca_bundle": str(simulator.ca_path),
    }


def simulator_connectors(simulator: Simulator) -> list[ConnectorSettings]:
    """One connector per licensed simulated tenant: the demo's backend."""
    return [
        ConnectorSettings.model_validate(connector_config(simulator, tenant))
        for tenant in simulator.tenants.values()
        if tenant.licensed
    ]


@dataclass
class Backend:
    session: aiohttp.ClientSession
    clients: list[MdeClient]
    demo: bool
    simulator: Simulator | None = None


async def build_clients(
    connectors: Sequence[ConnectorSettings],
    session: aiohttp.ClientSession,
    settings: BotSettings,
) -> list[MdeClient]:
    clients = []
    waiting = WaitingCount()  # one bound on the calls waiting, across every connector
    for connector in connectors:
        if not connector.enabled:
            continue
        ssl_context = await asyncio.to_thread(tls_context, connector)
        minute, hour = settings.mde_rate_window, settings.mde_rate_window * 60
        cache: TtlCache[Answer] = TtlCache(
            ttl=settings.cache_ttl,
            max_entries=MAX_CACHE_ENTRIES,
            max_bytes=int(settings.cache_mb * 1024 * 1024),
            cost=answer_cost,
        )
        api = (
            Window(settings.mde_calls_per_minute, minute),
            Window(settings.mde_calls_per_hour, hour),
        )
        hunting = (
            Window(settings.mde_hunting_calls_per_minute, minute),
            Window(settings.mde_calls_per_hour, hour),
        )
        clients.append(
            MdeClient(
                connector,
                session,
                TokenProvider(connector),
                ssl_context=ssl_context,
                budget=Budget(api, total=waiting, max_in_flight=MAX_IN_FLIGHT),
                hunting_budget=Budget(hunting, total=waiting, max_in_flight=MAX_IN_FLIGHT),
                cache=cache,
                timeout=settings.mde_call_timeout,
            )
        )
    return clients


@contextlib.asynccontextmanager
async def open_backend(
    connectors: Sequence[ConnectorSettings],
    settings: BotSettings,
    *,
    simulator: Simulator | None = None,
) -> AsyncIterator[Backend]:
    """The MDE side. With no connector configured, the embedded simulator answers (demo data):
    `simulator` if one is given (already started, and left running), else one of our own."""
    async with contextlib.AsyncExitStack() as stack:
        demo = not connectors
        if demo:
            if simulator is None:
                simulator = await stack.enter_async_context(Simulator())
            connectors = simulator_connectors(simulator)
            log.info("demo_backend", simulator=simulator.base_url)
        # One session for MDE and Slack. Its pool must hold every connector's calls in flight,
        # or requests would wait in it after taking a budget slot. `trust_env`: the proxy
        # variables apply to it as they do to msal's sign-in and to slack_sdk.
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTION_POOL), trust_env=True
            )
        )
        clients = await build_clients(connectors, session, settings)
        for client in clients:
            stack.callback(client.tokens.close)
            stack.push_async_callback(client.close)
        yield Backend(session, clients, demo, simulator if demo else None)


def tune_gc() -> None:
    """For a long-running server, once its start-up is done: the objects alive now (modules,
    settings, seeded data) leave the collector's view for good, and young collections run every
    50,000 allocations instead of 700. A burst of 200 commands allocates heavily; with the
    defaults, collections in the middle of it pushed the ack p99 from about 50 ms to 130 ms
    (make bench, section 1). Cycles are still collected; reference counting frees the rest."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


@dataclass
class SlackRuntime:
    app: AsyncApp
    url: str  # where Slack (or the stand-in) sends requests: .../slack/events


@contextlib.asynccontextmanager
async def serve_slack(
    backend: Backend,
    slack: SlackSettings,
    settings: BotSettings,
    register: Registrar,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - a web process listens on every interface
    port: int | None = None,
) -> AsyncIterator[SlackRuntime]:
    """The Bolt app behind an aiohttp server on `port` (0: chosen by the OS), plus a Socket Mode
    connection when an app-level token is set (then /healthz reflects the socket)."""
    client = build_web_client(slack, backend.session)
    services = Services.build(backend, settings, slack_api_url=slack.api_url)
    app = build_bolt_app(slack, client, services.replies)
    register(app, services)
    # Socket Mode opens a websocket with a session of slack_sdk's own: the one exception to one
    # session per process, and closed with the handler.
    socket: AsyncSocketModeHandler | None = None

    async def healthy() -> bool:
        if backend.session.closed:
            return False
        return socket is None or bool(await socket.client.is_connected())

    # The keep-alive timeout also bounds how long a connection may take to send a request's
    # headers (aiohttp closes a connection that is idle or still reading headers then).
    runner = web.AppRunner(
        build_web_app(app, healthy, slack.signing_secret.get_secret_value()),
        access_log=None,
        keepalive_timeout=settings.http_header_timeout,
    )
    await runner.setup()
    try:
        if slack.app_token is not None:
            socket = AsyncSocketModeHandler(app, slack.app_token.get_secret_value())
            try:
                await socket.connect_async()  # type: ignore[no-untyped-call]  # no hints upstream
            except SlackApiError as exc:
                raise ConfigError(
                    f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')})",
                    hint="create an app-level token with connections:write, or unset it",
                ) from None
            log.info("socket_mode_connected")
        listen_port = settings.port if port is None else port
        site = GuardedSite(runner, host, listen_port, max_connections=settings.http_max_connections)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{listen_port} ({exc.strerror})",
                hint="set PORT to a free port",
            ) from None
        bound_host, bound_port = runner.addresses[0][:2]
        shown = "127.0.0.1" if bound_host in {"0.0.0.0", "::"} else bound_host  # noqa: S104
        url = f"http://{shown}:{bound_port}/slack/events"
        log.info("listening", url=url, connectors=[c.alias for c in backend.clients])
        yield SlackRuntime(app, url)
    finally:
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]  # slack_bolt lacks hints
        await runner.cleanup()  # no new requests from here on
        if cancelled := await services.inflight.drain(SHUTDOWN_GRACE):
            log.warning("shutdown_cancelled_work", tasks=cancelled, grace_seconds=SHUTDOWN_GRACE)
