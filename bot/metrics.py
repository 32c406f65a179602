"""The bot's metrics, served at /metrics in Prometheus's text format (prometheus-client).

Every metric lives in a registry the app owns (`Metrics().registry`), never in the library's
global one: two apps in one process (the tests) never add to each other's counts, and nothing
is registered at import. Names start with `mde_bot_`; counters end in `_total`. Labels take a
few known values only, never a user, a channel, an indicator or an id (docs/replicas.md has
the table):

    kind      command, event, action, shortcut, view, options
    outcome   answered, nothing_found, refused, failed, expired
    family    `endpoint_family(path)`: machines, alerts, files, ips, domains, urls, users,
              hunting, machineactions, indicators, token, other
    status    `status_label(code)`: 200, 400, 401, 403, 404, 429, 5xx, …, error (no answer)
    budget    api, hunting
    result    hit, miss
    action    an ActionKind value (isolate, scan, …); stage: a Stage value
    backend   redis, database

`metrics_handler(registry)` is the aiohttp handler for /metrics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

NAMESPACE = "mde_bot"
# Slack allows 3 s for an ack; most should take milliseconds.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# Waits for MDE's call budget: none, seconds, or up to the admission horizon (20 minutes).
WAIT_BUCKETS = (0.0, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
FAMILIES = frozenset(
    {
        "machines",
        "alerts",
        "files",
        "ips",
        "domains",
        "urls",
        "users",
        "machineactions",
        "indicators",
    }
)

Handler = Callable[[web.Request], Awaitable[web.Response]]


def endpoint_family(path: str) -> str:
    """The family of an MDE API path, for the `family` label: its first segment under /api
    (`/api/machines/{id}/alerts` → machines), `hunting` for advanced queries, `token` for
    Entra's token endpoint, `other` for anything else (never the path itself)."""
    segments = [s for s in path.split("?")[0].split("/") if s]
    if "token" in segments[-1:]:
        return "token"
    if segments[:1] == ["api"]:
        segments = segments[1:]
    first = segments[0].lower() if segments else ""
    if first in {"advancedqueries", "advancedhunting"}:
        return "hunting"
    return first if first in FAMILIES else "other"


def status_label(code: int | None) -> str:
    """An HTTP status for the `status` label: the code itself below 500, `5xx` above (one
    series, whatever MDE's outage answers), `error` when no answer came."""
    if code is None:
        return "error"
    return "5xx" if code >= 500 else str(code)


class Metrics:
    """Every metric of one process, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.acks = Counter(
            "acks",
            "Slack requests acknowledged, by kind",
            ["kind"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "ack_seconds",
            "Seconds from a request's arrival to its ack, by kind",
            ["kind"],
            buckets=ACK_BUCKETS,
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.replies = Counter(
            "replies",
            "Answers given, by outcome",
            ["outcome"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.mde_calls = Counter(
            "mde_calls",
            "Calls to MDE, by endpoint family and status",
            ["family", "status"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.mde_throttled = Counter(
            "mde_throttled",
            "429 answers from MDE, by endpoint family",
            ["family"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.budget_queue = Gauge(
            "budget_queue",
            "MDE calls waiting for the call budget now, by budget",
            ["budget"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.budget_wait_seconds = Histogram(
            "budget_wait_seconds",
            "Seconds an MDE call waited for the call budget, by budget",
            ["budget"],
            buckets=WAIT_BUCKETS,
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "cache_lookups",
            "MDE answer cache lookups, by result (hit, miss)",
            ["result"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.duplicates = Counter(
            "duplicate_deliveries",
            "Slack deliveries dropped as already handled, by kind",
            ["kind"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.actions = Counter(
            "actions",
            "Response action requests reaching a stage, by action",
            ["action", "stage"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.state_errors = Counter(
            "state_errors",
            "Failed calls to the shared state, by backend (redis, database)",
            ["backend"],
            namespace=NAMESPACE,
            registry=self.registry,
        )

    def mde_call(self, path: str, status: int | None) -> None:
        """One call to MDE (`status` None: no answer came), and its 429 if it was one."""
        family = endpoint_family(path)
        self.mde_calls.labels(family=family, status=status_label(status)).inc()
        if status == 429:
            self.mde_throttled.labels(family=family).inc()

    def cache_lookup(self, hit: bool) -> None:
        """One MDE answer cache lookup (`bot.cache.TtlCache`'s `observe`)."""
        self.cache_lookups.labels(result="hit" if hit else "miss").inc()

    def redis_error(self) -> None:
        """One failed call to Redis (`bot.state.link.RedisLink`'s `on_error`)."""
        self.state_errors.labels(backend="redis").inc()

    def database_error(self) -> None:
        """One failed call to the database."""
        self.state_errors.labels(backend="database").inc()

    def text(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


def metrics_handler(registry: CollectorRegistry) -> Handler:
    """An aiohttp handler that renders `registry` in Prometheus's text format (0.0.4, which
    every Prometheus reads)."""

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    return metrics
