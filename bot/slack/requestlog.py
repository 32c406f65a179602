"""The one summary line each Slack request's work logs (event `request`), and the reply it
counts (`mde_bot_replies_total`).

    with request_line(body, metrics) as line:
        try:
            ...   # every line logged inside carries request_id, kind, user, channel, asked
        except Exception as error:
            line.failed(error)   # the outcome it reads as; a database error counted

The line says who asked (user, channel), what (`kind` and `asked`: the command, the event's
type, the button's action id: names only, never text or indicator values), which tenants
were asked, the outcome (answered, nothing_found, refused, failed, expired) and how long the
work took. Work notes what it knows on the way (`bot.logs.note_tenant`, `note_outcome`).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.audit.database import DatabaseUnavailable
from bot.errors import Expired, InputError, MdeBusy
from bot.logs import RequestContext, get_logger, request_context
from bot.metrics import Metrics
from bot.slack.payloads import acting_user, request_channel, request_kind, request_name

log = get_logger("bot.request")


def outcome_of(error: BaseException) -> str:
    """How a request that failed with `error` ended, for the `outcome` label."""
    if isinstance(error, Expired):
        return "expired"
    if isinstance(error, InputError | MdeBusy):
        return "refused"  # the bot said no: input, access, or a full call budget
    return "failed"  # MDE or Slack could not do it, or a bug


@dataclass(frozen=True, slots=True)
class Line:
    """The request being logged."""

    context: RequestContext
    metrics: Metrics

    def failed(self, error: BaseException) -> None:
        self.context.outcome = outcome_of(error)
        if isinstance(error, DatabaseUnavailable):
            self.metrics.database_error()


@contextlib.contextmanager
def request_line(body: Mapping[str, Any], metrics: Metrics) -> Iterator[Line]:
    """Bind the request's context to every line logged inside; log its summary line and
    count its reply when the block ends."""
    started = time.monotonic()
    fields = {
        "request_id": secrets.token_hex(6),
        "kind": request_kind(body),
        "user": acting_user(body),
        "channel": request_channel(body),
        "asked": request_name(body),
    }
    with request_context(**fields) as context:
        try:
            yield Line(context, metrics)
        finally:
            metrics.replies.labels(outcome=context.outcome).inc()
            log.info(
                "request",
                outcome=context.outcome,
                tenants=sorted(context.tenants),
                duration=round(time.monotonic() - started, 3),
            )
