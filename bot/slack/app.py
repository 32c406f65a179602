"""Build the Bolt `AsyncApp` and the aiohttp web application that serves it.

Listeners are not defined here: `handlers.register` wires them onto the app this module builds.
This module owns the one error handler that decides what users see.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UNEXPECTED_HINT, BotError, ReplyError, new_reference
from bot.logs import get_logger
from bot.metrics import Metrics, metrics_handler
from bot.render import Message, error_message
from bot.retry import slack_retry_handlers
from bot.settings import SlackSettings
from bot.slack.payloads import request_kind
from bot.slack.replies import Replies, slack_error

log = get_logger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


@dataclass(frozen=True, slots=True)
class Health:
    """What /healthz says. `serving`: the bot can answer Slack (its session is open, its
    Socket Mode connection up); 503 otherwise. `parts`: each shared service ("redis",
    "database") as "up", "down" or "not used". A part that is down leaves the bot answering,
    degraded (Redis: each replica on its own state; the database: approvals wait, audit
    records of lookups are lost and logged): still 200, since every replica shares them and
    taking all of them out of the balancer would help nobody."""

    serving: bool
    parts: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, object]:
        down = sorted(name for name, said in self.parts.items() if said == "down")
        body: dict[str, object] = {"ok": self.serving, **self.parts}
        if down:
            body["degraded"] = f"{' and '.join(down)} down: answering, degraded"
        return body


HealthCheck = Callable[[], Awaitable[Health]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Set on a request's Bolt context once Bolt's own signature check has passed (or the request came
# over the authenticated Socket Mode connection): the error handler acts only on such requests.
VERIFIED = "mde_request_verified"


def build_web_client(slack: SlackSettings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The Slack Web API client: our one session, the one retry policy (`bot.retry`:
    never a request whose delivery is unknown)."""
    return AsyncWebClient(
        token=slack.bot_token.get_secret_value(),
        base_url=slack.api_url,
        session=session,
        retry_handlers=slack_retry_handlers(),
    )


async def mark_verified(context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]) -> None:
    """Bolt runs this right after its own signature check (`before_authorize`)."""
    context[VERIFIED] = True
    await next_()


def build_bolt_app(slack: SlackSettings, client: AsyncWebClient, replies: Replies) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value(),
        logger=logging.getLogger("slack_bolt"),
        # Request verification stays on (the default): never turn it off. `verify_signature`
        # below checks the same before Bolt sees a request; this is the second line.
        before_authorize=mark_verified,
    )

    async def on_error(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if not context.get(VERIFIED):
            # Bolt failed before (or while) verifying the request: its body is anybody's words.
            # Never act on it, never reply to what it names, never log it.
            log.warning("unverified_request_failed", error=type(error).__name__)
            return
        await handle_error(error, body, replies, client)

    app.error(on_error)
    return app


NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def user_facing(error: Exception) -> tuple[Message, str | None]:
    """What the user sees for `error`, and the reference id logged with unexpected ones."""
    if isinstance(error, BotError):
        return error_message(error.message, error.hint), None
    if isinstance(error, SlackApiError) and slack_error(error) == "ratelimited":
        return (
            error_message(
                "Slack is rate-limiting the bot right now, so the answer could not be posted.",
                "Try again in a minute.",
            ),
            None,
        )
    if isinstance(error, SlackApiError) and slack_error(error) in NOT_IN_CHANNEL:
        return (
            error_message(
                "I can't post in this channel.", "Invite me with /invite @mde and try again."
            ),
            None,
        )
    reference = new_reference()
    message = error_message(
        f"Something went wrong on our side (reference {reference}).", UNEXPECTED_HINT
    )
    return message, reference


async def handle_error(
    error: Exception, body: Mapping[str, Any], replies: Replies, client: AsyncWebClient
) -> None:
    """The one error handler: known errors become a short actionable message; anything else gets
    a reference id that is also in the logs. No exception text or trace ever reaches Slack."""
    message, reference = user_facing(error)
    if reference is not None:
        log.error("unhandled_error", reference=reference, exc_info=error)
    else:
        log.info("user_error", error=type(error).__name__, message=getattr(error, "message", ""))
    if isinstance(error, ReplyError):
        return  # the response URL itself failed: an error note would fail the same way
    try:
        if body.get("response_url"):
            await replies.respond(body, message)
            return
        event = body.get("event")
        if isinstance(event, Mapping) and event.get("channel") and event.get("ts"):
            await replies.post(
                client,
                channel=str(event["channel"]),
                thread_ts=str(event.get("thread_ts") or event["ts"]),
                message=message,
            )
    except (SlackApiError, ReplyError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("error_reply_failed", error=type(exc).__name__, reference=reference)


# Exactly what Slack sends: ASCII digits (seconds since the epoch), and `v0=` with a hex digest.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
BODY_TIMEOUT = 10.0  # seconds to receive a request's body once its headers are in


def _header(request: web.Request, name: str, shape: re.Pattern[str]) -> str | None:
    """The header's one value if it has exactly Slack's shape; None when it is missing,
    repeated, or anything else (a non-ASCII digit, a 4,000-digit number, a sign, spaces)."""
    values = request.headers.getall(name, [])
    if len(values) != 1 or not shape.fullmatch(values[0]):
        return None
    return str(values[0])


def verify_signature(signing_secret: str) -> Middleware:
    """Refuse (401) every request to /slack/events that is not signed with our secret, before
    Bolt sees it. Bolt checks again; this check is stricter about the headers' shape, so a
    malformed value can never make Bolt's check fail with an exception (and a 500) instead of a
    refusal. A refused request is logged by its reason alone: never its body or headers."""
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def verify(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != EVENTS_PATH:
            return await handler(request)
        timestamp = _header(request, TIMESTAMP_HEADER, _TIMESTAMP)
        signature = _header(request, SIGNATURE_HEADER, _SIGNATURE)
        if timestamp is None or signature is None:
            return _refused("missing, repeated or malformed signature headers")
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                body = await request.read()  # kept by aiohttp: Bolt reads the same bytes
        except TimeoutError:
            log.info("request_refused", reason="body too slow")
            return web.json_response({"error": "request timeout"}, status=408)
        if not verifier.is_valid(body, timestamp, signature):
            return _refused("bad or stale signature")
        return await handler(request)

    return verify


def _refused(reason: str) -> web.Response:
    log.info("request_refused", reason=reason)
    return web.json_response({"error": "invalid request"}, status=401)


def _kind_of(content_type: str, body: bytes) -> str:
    """A verified request's kind (`bot.slack.payloads.request_kind`) from its raw body: a
    command's or an interactivity payload's form, or an event's JSON."""
    try:
        if content_type == "application/json":
            payload = json.loads(body)
        else:
            form = parse_qs(body.decode(), max_num_fields=64)
            payload = (
                json.loads(form["payload"][0])
                if "payload" in form
                else {k: v[0] for k, v in form.items()}
            )
    except (ValueError, KeyError, UnicodeDecodeError):
        return "other"
    return request_kind(payload) if isinstance(payload, dict) else "other"


def count_acks(metrics: Metrics) -> Middleware:
    """Count every verified request to /slack/events by kind, and time its ack (Bolt's HTTP
    answer) from its arrival. Runs inside `verify_signature`: refused requests are not
    parsed, counted or timed."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != EVENTS_PATH:
            return await handler(request)
        started = time.monotonic()
        response = await handler(request)
        kind = _kind_of(request.content_type, await request.read())
        metrics.acks.labels(kind=kind).inc()
        metrics.ack_seconds.labels(kind=kind).observe(time.monotonic() - started)
        return response

    return count


def build_web_app(
    app: AsyncApp, health: HealthCheck, signing_secret: str, metrics: Metrics | None = None
) -> web.Application:
    """Bolt's own aiohttp app on /slack/events, plus /healthz and /metrics (no Slack I/O, no
    signature: a load balancer's health check and Prometheus's scrape)."""
    metrics = metrics or Metrics()
    web_app = app.web_app(path=EVENTS_PATH)
    web_app.middlewares.append(verify_signature(signing_secret))
    web_app.middlewares.append(count_acks(metrics))

    async def healthz(_: web.Request) -> web.Response:
        said = await health()
        return web.json_response(said.json(), status=200 if said.serving else 503)

    web_app.router.add_get(HEALTH_PATH, healthz)
    web_app.router.add_get(METRICS_PATH, metrics_handler(metrics.registry))
    return web_app


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once, its file descriptor freed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, counted from the moment it is accepted until it
    is lost (aiohttp's own count starts later: a burst of connections would all get in)."""

    def __init__(self, inner: asyncio.Protocol, site: GuardedSite) -> None:
        self._inner = inner
        self._site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._site.connections -= 1
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.BaseSite):
    """A TCP site that holds at most `max_connections` connections at once: beyond them a
    new connection is closed as soon as it is accepted, so a crowd of slow clients cannot use
    up the process's file descriptors. (The runner's keep-alive timeout closes a connection
    whose request headers do not arrive in time; `verify_signature` bounds the body.)"""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int
    ) -> None:
        super().__init__(runner)
        self._bind = (host, port)
        self._max_connections = max_connections
        self.connections = 0

    @property
    def name(self) -> str:
        host, port = self._bind
        return f"http://{host}:{port}"

    def _protocol(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None  # the runner is set up before its sites start
        if self.connections >= self._max_connections:
            return _Refused()
        self.connections += 1
        return _Counted(server(), self)

    async def start(self) -> None:
        await super().start()
        host, port = self._bind
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol, host, port, backlog=self._backlog
        )
