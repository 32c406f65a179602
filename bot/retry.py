"""The one retry policy, for everything the bot sends: MDE calls (`bot.mde.client`) and Slack
posts (`bot.slack.replies`, and the Web API client built in `bot.slack.app`).

    a request that failed before an answer   bounded backoff with full jitter (`backoff`)
    an answer of 429 with Retry-After        wait that long (`retry_after`, clamped), then retry;
                                             a longer wait than `max_retry_after` is reported
                                             instead (MDE) or waited at most that long (Slack)
    5xx from MDE                             backoff, as a failure before an answer

What differs between the two is only what may be retried safely. An MDE lookup is a GET (or a
read-only hunting query): a timeout or a dropped connection is retried. A Slack post is not
idempotent: only a request that never left (the connection could not be made) is retried, never
one whose delivery is unknown, so no answer is ever posted twice (`slack_retry_handlers`).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Retry-After as a service (or a proxy in front of it) sends it: seconds, or an HTTP date.
# Missing or unreadable: a few seconds. Never longer than MDE's own rate window: a larger value
# (86400, `inf`) waits a minute, after which the next call asks again.
DEFAULT_RETRY_AFTER: Final = 5.0
MAX_RETRY_AFTER: Final = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with full jitter; Retry-After is honoured, never shortened."""

    attempts: int = 4  # total tries, the first included
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0  # longer waits are reported, not slept through

    def backoff(self, attempt: int) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None when the tries are spent."""
        if attempt >= self.attempts:
            return None
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))  # noqa: S311

    def after_throttle(self, attempt: int, retry_after: float) -> float | None:
        """Seconds to wait after a 429 before try `attempt + 1` (Retry-After and a little
        jitter, so that waiting callers do not return all at once), or None: report it."""
        if attempt >= self.attempts or retry_after > self.max_retry_after:
            return None
        return retry_after + random.uniform(0, min(1.0, self.base))  # noqa: S311


POLICY: Final = RetryPolicy()


def retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float:
    """Seconds to wait after a 429: `Retry-After` as seconds or as an HTTP date, clamped to
    [0, MAX_RETRY_AFTER]; DEFAULT_RETRY_AFTER when it is missing or unreadable (`nan`,
    garbage). `inf` and `86400` wait MAX_RETRY_AFTER."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# ---------------------------------------------------------------------- the policy, for slack_sdk


class _Intervals(RetryIntervalCalculator):
    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return self._policy.backoff(current_attempt + 1) or 0.0


class _NeverLeft(AsyncConnectionErrorRetryHandler):
    """Retries a Slack request that never left: the connection could not be made."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(
            max_retry_count=policy.attempts - 1,
            interval_calculator=_Intervals(policy),
            error_types=[aiohttp.ClientConnectorError],
        )


class _Throttled(AsyncRateLimitErrorRetryHandler):
    """Retries a Slack 429 after its Retry-After (at most the policy's `max_retry_after`)."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(max_retry_count=policy.attempts - 1)
        self._policy = policy

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to a retried request")
        state.next_attempt_requested = True
        headers = {k: (v[0] if isinstance(v, list) else v) for k, v in response.headers.items()}
        await asyncio.sleep(min(retry_after(headers), self._policy.max_retry_after))
        state.increment_current_attempt()


def slack_retry_handlers(policy: RetryPolicy = POLICY) -> list[AsyncRetryHandler]:
    """The policy as slack_sdk retry handlers: a request that never left, and a 429."""
    return [_NeverLeft(policy), _Throttled(policy)]
