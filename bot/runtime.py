"""Composition: settings → state → session → MDE clients → services → Slack app → web server.

`open_backend` owns the process's state (`bot.state`: shared on Redis when REDIS_URL is set,
chosen once here), its metrics, the one aiohttp session and the MDE clients (and the embedded
simulator when no connector is configured: the one place the product reaches the demo kit,
`bot.demo.backend`, imported only then). `serve_slack` adds the Bolt app, the HTTP server and,
with an app-level token, the Socket Mode connection. Both are async context managers: what
they start, they stop.

Listeners are wired by a `Registrar` that the caller passes in (`handlers.register`): `bot/`
never imports `handlers/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.actions.store import ActionStore
from bot.audit.database import open_engine
from bot.audit.store import AuditStore
from bot.cache import TtlCache
from bot.errors import ConfigError
from bot.logs import get_logger
from bot.mde.auth import TokenProvider
from bot.mde.client import (
    MAX_IN_FLIGHT,
    PACKAGE_URI_WINDOWS,
    Answer,
    MdeClient,
    answer_cost,
    tls_context,
)
from bot.mde.limits import Budget, WaitingCount, Window
from bot.metrics import Metrics
from bot.settings import BotSettings, ConnectorSettings, SlackSettings
from bot.slack.actions import FOLLOWING, keep_following
from bot.slack.app import GuardedSite, Health, build_bolt_app, build_web_app, build_web_client
from bot.slack.handover import keep_resuming
from bot.slack.services import Services
from bot.state.cache import AnswerCache
from bot.state.settings import StateSettings
from bot.state.shared import State, open_state
from bot.state.window import RateWindow

if TYPE_CHECKING:
    from bot.demo.simulator import Simulator

log = get_logger(__name__)

CONNECTION_POOL = 256
SHUTDOWN_GRACE = 20.0  # seconds acknowledged lookups get to finish at shutdown
# Per connector, besides BOT_CACHE_MB: answers are reused within minutes, and 2,048 hold a busy
# incident's; more would only hold memory (RSS after 10,000 lookups: 130.8 MB with 20,000).
MAX_CACHE_ENTRIES = 2048

Registrar = Callable[[AsyncApp, Services], None]


@dataclass
class Backend:
    session: aiohttp.ClientSession
    clients: list[MdeClient]
    demo: bool  # answered by the embedded simulator
    audit: AuditStore  # the audit trail (bot.audit)
    actions: ActionStore  # the action requests, in the same database
    state: State = field(default_factory=lambda: State(None))  # bot.state: Redis or in-process
    metrics: Metrics = field(default_factory=Metrics)


def _client(
    connector: ConnectorSettings,
    ssl_context: ssl.SSLContext,
    session: aiohttp.ClientSession,
    settings: BotSettings,
    waiting: WaitingCount,
    state: State,
    metrics: Metrics,
) -> MdeClient:
    """One connector's client: its cache, its budgets (MDE's minute and hour, and the package
    links' two a minute, scaled by BOT_MDE_RATE_WINDOW for load tests; the minute and hour
    counted in Redis for every replica when the state is shared) and its token provider."""
    minute, hour = settings.mde_rate_window, settings.mde_rate_window * 60
    api = (
        Window(settings.mde_calls_per_minute, minute),
        Window(settings.mde_calls_per_hour, hour),
    )
    hunting = (
        Window(settings.mde_hunting_calls_per_minute, minute),
        Window(settings.mde_calls_per_hour, hour),
    )
    cache: TtlCache[Answer] = TtlCache(
        ttl=settings.cache_ttl,
        max_entries=MAX_CACHE_ENTRIES,
        max_bytes=int(settings.cache_mb * 1024 * 1024),
        cost=answer_cost,
        observe=metrics.cache_lookup,
    )
    return MdeClient(
        connector,
        session,
        TokenProvider(connector),
        ssl_context=ssl_context,
        budget=Budget(
            api,
            total=waiting,
            max_in_flight=MAX_IN_FLIGHT,
            shared=_shared_window(state, f"{connector.alias}:api", api),
        ),
        hunting_budget=Budget(
            hunting,
            total=waiting,
            max_in_flight=MAX_IN_FLIGHT,
            shared=_shared_window(state, f"{connector.alias}:hunting", hunting),
        ),
        package_budget=Budget(
            [w.scaled(settings.mde_rate_window / 60) for w in PACKAGE_URI_WINDOWS]
        ),
        cache=cache,
        timeout=settings.mde_call_timeout,
        metrics=metrics,
        shared_cache=_shared_cache(state, connector.alias, settings),
    )


def _shared_window(state: State, name: str, windows: Sequence[Window]) -> RateWindow | None:
    """The budget's windows counted in Redis for every replica; None for a single instance
    (the budget's own windows decide)."""
    return state.rate_window(name, windows) if state.link is not None else None


def _shared_cache(state: State, alias: str, settings: BotSettings) -> AnswerCache | None:
    """MDE's answers in Redis for every replica (merged in the process first); None for a
    single instance (the connector's own `TtlCache`)."""
    if state.link is None:
        return None
    return state.cache(
        f"mde:{alias}", ttl=settings.cache_ttl, max_bytes=int(settings.cache_mb * 1024 * 1024)
    )


async def build_clients(
    connectors: Sequence[ConnectorSettings],
    session: aiohttp.ClientSession,
    settings: BotSettings,
    state: State | None = None,
    metrics: Metrics | None = None,
) -> list[MdeClient]:
    """A client per enabled connector, sharing one bound on the calls waiting."""
    state = state or State(None)
    metrics = metrics or Metrics()
    waiting = WaitingCount()
    enabled = [c for c in connectors if c.enabled]
    # TLS contexts read CA files: off the loop.
    contexts = await asyncio.to_thread(lambda: [tls_context(c) for c in enabled])
    return [
        _client(c, ctx, session, settings, waiting, state, metrics)
        for c, ctx in zip(enabled, contexts, strict=True)
    ]


@contextlib.asynccontextmanager
async def open_backend(
    connectors: Sequence[ConnectorSettings],
    settings: BotSettings,
    *,
    simulator: Simulator | None = None,
    audit_database: str | None = None,
    state: StateSettings | None = None,
) -> AsyncIterator[Backend]:
    """The MDE side, the database and the state. With no connector configured, the embedded
    simulator answers (demo data): `simulator` if one is given (already started, and left
    running), else one of our own. `audit_database`: where the audit trail and the action
    requests are (a path, or DATABASE_URL's URL); None keeps them in a temporary SQLite file
    that goes with the backend (the demo, tests, the CLI's lookups). `state`: where the
    replicas share state (REDIS_URL); None: a single instance."""
    metrics = Metrics()
    async with contextlib.AsyncExitStack() as stack:
        shared = await stack.enter_async_context(
            open_state(state or StateSettings.model_construct(), on_error=metrics.redis_error)
        )
        if audit_database is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mde-bot-audit-"))
            audit_database = str(Path(folder) / "audit.sqlite3")
        # One engine for the audit trail and the action requests: one database, two table
        # sets, each migrated by its own history.
        engine = open_engine(audit_database)
        stack.push_async_callback(engine.dispose)
        audit = await stack.enter_async_context(await AuditStore.open(engine))
        actions = await ActionStore.open(engine)
        demo = not connectors
        if demo:
            from bot.demo import backend as demo_backend  # the demo kit, only when chosen

            simulator = await demo_backend.started(stack, simulator)
            connectors = demo_backend.simulator_connectors(simulator)
            log.info("demo_backend", simulator=simulator.base_url)
        # One session for MDE and Slack. Its pool must hold every connector's calls in flight,
        # or requests would wait in it after taking a budget slot. `trust_env`: the proxy
        # variables apply to it as they do to msal's sign-in and to slack_sdk.
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTION_POOL), trust_env=True
            )
        )
        clients = await build_clients(connectors, session, settings, shared, metrics)
        for client in clients:
            stack.callback(client.tokens.close)
            stack.push_async_callback(client.close)
        yield Backend(session, clients, demo, audit, actions, shared, metrics)


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
    services: Services


@contextlib.asynccontextmanager
async def _socket_mode(
    app: AsyncApp, slack: SlackSettings
) -> AsyncIterator[AsyncSocketModeHandler | None]:
    """The Socket Mode connection when an app-level token is set (slack_sdk's own session: the
    one exception to one session per process, closed with it)."""
    if slack.app_token is None:
        yield None
        return
    socket = AsyncSocketModeHandler(app, slack.app_token.get_secret_value())
    try:
        await socket.connect_async()  # type: ignore[no-untyped-call]  # no hints upstream
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')})",
            hint="create an app-level token with connections:write, or unset it",
        ) from None
    log.info("socket_mode_connected")
    try:
        yield socket
    finally:
        await socket.close_async()  # type: ignore[no-untyped-call]  # slack_bolt lacks hints


async def _listen(runner: web.AppRunner, host: str, port: int, settings: BotSettings) -> str:
    """Start the HTTP site; the URL Slack (or the stand-in) sends requests to."""
    site = GuardedSite(runner, host, port, max_connections=settings.http_max_connections)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror})", hint="set PORT to a free port"
        ) from None
    bound_host, bound_port = runner.addresses[0][:2]
    shown = "127.0.0.1" if bound_host in {"0.0.0.0", "::"} else bound_host  # noqa: S104
    return f"http://{shown}:{bound_port}/slack/events"


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
    connection when an app-level token is set (then /healthz reflects the socket). On exit: no
    new requests, then the accepted work drains (SHUTDOWN_GRACE), then what is left is
    cancelled."""
    services = Services.build(backend, settings, slack_api_url=slack.api_url)
    app = build_bolt_app(slack, build_web_client(slack, backend.session), services.replies)
    register(app, services)
    socket: AsyncSocketModeHandler | None = None

    async def health() -> Health:
        serving = not backend.session.closed and (
            socket is None or bool(await socket.client.is_connected())
        )
        redis = "not used" if backend.state.link is None else "down"
        if backend.state.link is not None and await backend.state.healthy():
            redis = "up"
        database = "up" if await backend.actions.reachable() else "down"
        return Health(serving, {"redis": redis, "database": database})

    # The keep-alive timeout also bounds how long a connection may take to send a request's
    # headers (aiohttp closes a connection that is idle or still reading headers then).
    runner = web.AppRunner(
        build_web_app(app, health, slack.signing_secret.get_secret_value(), backend.metrics),
        access_log=None,
        keepalive_timeout=settings.http_header_timeout,
    )
    await runner.setup()
    # Submitted actions nobody follows (left by a replica that stopped): followed from here.
    sweeper = asyncio.create_task(
        keep_following(services.actions, services.inflight.spawn), name="follow-sweep"
    )
    # Acknowledged work a replica that died left unanswered: finished from here.
    resumer = asyncio.create_task(
        keep_resuming(services.pending, services.resumers, app.client, services.inflight.spawn),
        name="resume-sweep",
    )
    try:
        async with _socket_mode(app, slack) as socket:
            url = await _listen(runner, host, settings.port if port is None else port, settings)
            log.info("listening", url=url, connectors=[c.alias for c in backend.clients])
            yield SlackRuntime(app, url, services)
    finally:
        sweeper.cancel()
        resumer.cancel()
        await asyncio.gather(sweeper, resumer, return_exceptions=True)
        await runner.cleanup()  # no new requests from here on
        # Following an action is taken over by another replica (or by this one when it is
        # back): stopped at once, its lease given back, rather than holding the shutdown.
        if cancelled := await services.inflight.drain(SHUTDOWN_GRACE, resumable=FOLLOWING):
            log.warning("shutdown_cancelled_work", tasks=cancelled, grace_seconds=SHUTDOWN_GRACE)
