"""What tests and benchmarks steer on a `Simulator`: app registrations, forced faults, the knobs
(latency, fault rates, rate limits, the token endpoint), and the sliding windows that enforce and
observe the rate limits."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

ALL_READ_ROLES = (
    "Machine.Read.All",
    "Alert.Read.All",
    "File.Read.All",
    "Ip.Read.All",
    "Url.Read.All",
    "User.Read.All",
    "AdvancedQuery.Read.All",
)

WindowKey = tuple[str, str]  # (app id, tenant id)


@dataclass
class AppRegistration:
    """An Entra app in a tenant: its secret and the MDE roles an admin consented to.

    `roles=()` gives tokens with no `roles` claim at all, as Entra does. A client that sends
    another secret gets AADSTS7000215; `secret_expired` gives AADSTS7000222 for the right one.
    """

    client_id: str
    secret: str
    tenant_id: str
    roles: tuple[str, ...] = ALL_READ_ROLES
    secret_expired: bool = False


@dataclass
class Fault:
    """One forced answer to an API call: `status` (with `Retry-After` if given, and MDE's error
    `code`, derived from the status when empty), after hanging `hang` seconds first.

    `retry_after` as a number is sent as whole seconds; as a string, verbatim (what a proxy
    might send: `inf`, an HTTP date, garbage). `oversize` > 0 answers 200 with a JSON body of
    about that many bytes instead (a runaway answer)."""

    status: int = 500
    retry_after: float | str | None = None
    hang: float = 0.0
    code: str = ""
    oversize: int = 0


@dataclass
class Knobs:
    latency: float = 0.0  # seconds added to every API call
    route_latency: dict[str, float] = field(default_factory=dict)  # more, per endpoint name
    error_rate: float = 0.0  # share of API calls answered `error_status`
    error_status: int = 500
    timeout_rate: float = 0.0  # share of API calls that hang for `hang_seconds`, then 500
    hang_seconds: float = 30.0
    token_endpoint_down: bool = False  # the token endpoint answers 503 (AADSTS90033)
    token_down_until: float = 0.0  # … or until this `time.monotonic()` instant
    storm_until: float = 0.0  # every API call answers 429 until this monotonic instant
    rate_limit: int = 100  # API calls per `rate_window`, per app and tenant (MDE: 100/min)
    rate_window: float = 60.0
    hunting_rate_limit: int = 45  # advanced hunting calls per `rate_window` (MDE: 45/min)
    page_size: int = 10_000  # rows per page without $top (MDE: 10,000)
    forced: deque[Fault] = field(default_factory=deque)  # consumed one per API call


class SlidingWindows:
    """Call instants per (app, tenant) within the last `window` seconds.

    `admit` enforces a limit (only admitted calls count); `observe` counts every call and keeps
    `peak`, the most calls ever seen inside one window (a benchmark asserts it stays within the
    budget).
    """

    def __init__(self) -> None:
        self._calls: dict[WindowKey, deque[float]] = {}
        self.peak = 0

    def _trimmed(self, key: WindowKey, now: float, window: float) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        return calls

    def admit(self, key: WindowKey, now: float, limit: int, window: float) -> int | None:
        """None if the call fits (and counts it), else the whole seconds until one will."""
        calls = self._trimmed(key, now, window)
        if len(calls) >= limit:
            oldest = calls[0] if calls else now
            return max(1, math.ceil(oldest + window - now))
        calls.append(now)
        return None

    def observe(self, key: WindowKey, now: float, window: float) -> None:
        calls = self._trimmed(key, now, window)
        calls.append(now)
        self.peak = max(self.peak, len(calls))

    def clear(self) -> None:
        self._calls.clear()
        self.peak = 0
