"""structlog, configured once per process.

Console output when stderr is a terminal, JSON lines otherwise. The standard library's loggers
(Bolt, slack_sdk, aiohttp) are routed through the same processors, so the redaction below covers
them too. Bolt and slack_sdk log request bodies at DEBUG; they are held at INFO or above.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

_SECRET_KEY = re.compile(r"token|secret|password|authorization|credential|signature", re.I)
_SECRET_VALUE = re.compile(
    r"xox[abpre]-[A-Za-z0-9-]+"  # Slack tokens
    r"|xapp-[A-Za-z0-9-]+"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWTs
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
)
REDACTED = "[redacted]"


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secret-looking keys and token-shaped substrings in every log event."""
    for key, value in list(event_dict.items()):
        if _SECRET_KEY.search(key) and key != "event":
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = _SECRET_VALUE.sub(REDACTED, value)
    return event_dict


def configure(level: str = "INFO", fmt: Literal["auto", "console", "json"] = "auto") -> None:
    """Set up structlog and the standard library's root logger. Safe to call again."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
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
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request and payload bodies are logged at DEBUG by these; never let them through.
    floor = max(logging.INFO, logging.getLevelNamesMapping()[level])
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(floor)
    for chatty in ("msal", "urllib3"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, floor))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
