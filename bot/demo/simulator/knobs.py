"""What tests and benchmarks steer on a `Simulator`: app registrations, forced faults, the knobs
(latency, fault rates, rate limits, the token endpoint, how machine actions run), the clock a
test can hold, and the sliding windows that enforce and observe the rate limits."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

ALL_READ_ROLES = (
    "Machine.Read.All",
    "Alert.Read.All",
    "File.Read.All",
    "Ip.Read.All",
    "Url.Read.All",
    "User.Read.All",
    "AdvancedQuery.Read.All",
    "Ti.Read.All",
)
# The roles the response actions need (docs/mde-api.md §6).
ALL_ACTION_ROLES = (
    "Machine.Isolate",
    "Machine.Scan",
    "Machine.CollectForensics",
    "Machine.RestrictExecution",
    "Machine.StopAndQuarantine",
    "Machine.ReadWrite.All",
    "Alert.ReadWrite.All",
    "Ti.ReadWrite.All",
)
# The simulator's built-in app registration (the demo's connector) reads and acts.
DEMO_ROLES = ALL_READ_ROLES + ALL_ACTION_ROLES

Clock = Callable[[], datetime]  # the simulator's "now" (aware, UTC)
Outcome = Literal["Succeeded", "Failed", "TimeOut"]

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
    about that many bytes instead (a runaway answer).

    `endpoint` (a name of `REQUIRED_ROLES`) keeps the fault for the next call of that endpoint;
    other calls pass it by. `applied=True` lets the call take effect first (an action is
    created, an alert updated) and answers the fault after: accepted but unconfirmed."""

    status: int = 500
    retry_after: float | str | None = None
    hang: float = 0.0
    code: str = ""
    oversize: int = 0
    endpoint: str = ""
    applied: bool = False


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
    # Per endpoint name, more (calls, seconds) windows on top of `rate_limit`, counted on the
    # simulator's clock (MDE: getPackageUri 2 a minute and 120 an hour).
    endpoint_limits: dict[str, tuple[tuple[int, float], ...]] = field(
        default_factory=lambda: {"package_uri": ((2, 60.0), (120, 3600.0))}
    )
    # Machine actions, in seconds of the simulator's clock (0: at once): Pending until the device
    # picks the action up, InProgress while it runs; a device that never picks it up (not Active)
    # leaves it Pending until `action_timeout`, then TimeOut.
    action_pickup: float = 2.0
    action_run: float = 3.0
    action_timeout: float = 30.0
    # Forced outcomes, by machine id or by action type (`Isolate`, `RunAntiVirusScan`, …).
    action_outcomes: dict[str, Outcome] = field(default_factory=dict)
    package_url_lifetime: float = 60.0  # seconds a getPackageUri download link works
    # Wrap the getPackageUri value in double quotes, as Microsoft's documented example does.
    quote_package_uri: bool = False


class ManualClock:
    """A clock that moves only when told: `Simulator(clock=ManualClock())`, then `advance(5)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)  # stands still from here

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def system_clock() -> datetime:
    return datetime.now(UTC)


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

    def wait(self, key: WindowKey, now: float, limit: int, window: float) -> int | None:
        """None if one more call fits, else the whole seconds until one will (counts nothing)."""
        calls = self._trimmed(key, now, window)
        if len(calls) >= limit:
            oldest = calls[0] if calls else now
            return max(1, math.ceil(oldest + window - now))
        return None

    def admit(self, key: WindowKey, now: float, limit: int, window: float) -> int | None:
        """None if the call fits (and counts it), else the whole seconds until one will."""
        wait = self.wait(key, now, limit, window)
        if wait is None:
            self._calls[key].append(now)
        return wait

    def observe(self, key: WindowKey, now: float, window: float) -> None:
        calls = self._trimmed(key, now, window)
        calls.append(now)
        self.peak = max(self.peak, len(calls))

    def clear(self) -> None:
        self._calls.clear()
        self.peak = 0
