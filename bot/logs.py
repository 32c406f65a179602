"""structlog, configured once per process.

Console output when stderr is a terminal, JSON lines otherwise. The standard library's loggers
(Bolt, slack_sdk, aiohttp) are routed through the same processors, so the redaction below covers
them too. Bolt and slack_sdk log request bodies at DEBUG; they are held at INFO or above, and
Bolt's signature check (which logs a refused request's whole body at INFO) at WARNING.

Log lines cannot be forged: control characters in any value (CR, LF, ANSI escapes) are written
as escapes (`\n`, `\x1b`), so text from a request or from MDE can never start a line of its own
or recolour the console. Tracebacks are ours and keep their lines.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

import structlog

_SECRET_KEY = re.compile(r"token|secret|password|authorization|credential|signature", re.I)
_SECRET_VALUE = re.compile(
    r"xox[abpre]-[A-Za-z0-9-]+"  # Slack tokens
    r"|xapp-[A-Za-z0-9-]+"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWTs
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
    # response URLs answer as the user who asked: also percent-encoded, as in a form body
    r"|https?(?::|%3[Aa])(?:/|%2[Ff]){2}hooks\.slack\.com\S*"
)
# C0 and C1 control characters but tab: what could end a log line or steer a terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
REDACTED = "[redacted]"


def _control(match: re.Match[str]) -> str:
    return ascii(match.group())[1:-1]  # "\n", "\x1b", "\x85"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _secret_key(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and key != "event" and bool(_SECRET_KEY.search(key))


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secret-looking keys and token-shaped substrings in every log event, nested values
    included, and escape control characters in the message."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if _secret_key(key) else _scrub(value)
    # The other values are quoted by both renderers (JSON, and the console's repr); the message
    # of a standard-library record is printed as it is.
    if isinstance(event := event_dict.get("event"), str):
        event_dict["event"] = _CONTROL.sub(_control, event)
    return event_dict


def redact_traceback(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask secrets in a rendered traceback (it exists only after `format_exc_info`); its line
    breaks are our own and stay."""
    if isinstance(text := event_dict.get("exception"), str):
        event_dict["exception"] = _SECRET_VALUE.sub(REDACTED, text)
    return event_dict


# Bolt reads SLACK_BOT_TOKEN itself and warns that it ignores it in favour of the client we
# build (from that same token): a warning at every start that asks nothing of anyone.
_BOLT_CLIENT_NOTICE = "As you gave `client` as well, `token` will be unused."


def _drop_known_noise(record: logging.LogRecord) -> bool:
    return not (record.name.startswith("slack_bolt") and record.getMessage() == _BOLT_CLIENT_NOTICE)


def configure(
    level: str = "INFO",
    fmt: Literal["auto", "console", "json"] = "auto",
    stream: TextIO | None = None,
    *,
    cache: bool = True,
) -> None:
    """Set up structlog and the standard library's root logger (to `stream`, stderr by
    default). Safe to call again. `cache=False` keeps loggers re-reading the configuration
    (tests that configure logging must not freeze it for the tests after them)."""
    stream = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=cache,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_traceback,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(_drop_known_noise)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request and payload bodies are logged at DEBUG by these; never let them through.
    floor = max(logging.INFO, logging.getLevelNamesMapping()[level])
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(floor)
    # Bolt's signature check logs a refused request's whole body at INFO: refusals are logged,
    # by reason only, in front of Bolt (bot.slack.app.verify_signature).
    for chatty in ("msal", "urllib3", "slack_bolt.RequestVerification"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, floor))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


# ---------------------------------------------------------------------- one line per request


@dataclass
class RequestContext:
    """What one Slack request's work found out on its way, for its log line: the tenants it
    asked and how it ended (set by whoever knows)."""

    tenants: set[str] = field(default_factory=set)
    outcome: str = "answered"


_REQUEST: ContextVar[RequestContext | None] = ContextVar("mde_request", default=None)


@contextlib.contextmanager
def request_context(**fields: Any) -> Iterator[RequestContext]:
    """Bind `fields` (request id, user, channel, what was asked) to every log line inside the
    block, tasks it starts included, and collect what the work notes (`note_tenant`,
    `note_outcome`) for the request's one summary line."""
    context = RequestContext()
    token = _REQUEST.set(context)
    try:
        with structlog.contextvars.bound_contextvars(**fields):
            yield context
    finally:
        _REQUEST.reset(token)


def note_tenant(alias: str) -> None:
    """The current request asked tenant `alias` (nothing outside a request)."""
    if (context := _REQUEST.get()) is not None:
        context.tenants.add(alias)


def note_outcome(outcome: str) -> None:
    """How the current request ended, when its work knows better than "answered"."""
    if (context := _REQUEST.get()) is not None:
        context.outcome = outcome
