"""MDE's call limits as the simulator enforces and observes them, per app and tenant.

- Every API call is observed (`peak`: the most calls seen inside one `rate_window`, 429s too),
  apart for advanced hunting.
- A call beyond `rate_limit` (`hunting_rate_limit` for hunting) per `rate_window` is refused
  429 TooManyRequests with Retry-After, counted on the monotonic clock.
- An endpoint may have windows of its own (`Knobs.endpoint_limits`: getPackageUri's 2 a minute
  and 120 an hour), counted on the simulator's clock, so that a test holding the clock moves
  them too. A call counts in all of them, or, refused, in none.
"""

from __future__ import annotations

import time
from collections import Counter

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.api import Endpoint
from bot.demo.simulator.knobs import Clock, Knobs, SlidingWindows, WindowKey


class Quotas:
    def __init__(self, knobs: Knobs, clock: Clock, calls: Counter[str]) -> None:
        self.knobs = knobs
        self.clock = clock
        self.calls = calls  # the simulator's counters: 429s and over_budget go there
        self._limits = {False: SlidingWindows(), True: SlidingWindows()}  # by `hunting`
        self._observed = {False: SlidingWindows(), True: SlidingWindows()}
        self._own: dict[tuple[str, int], SlidingWindows] = {}

    def observe(self, endpoint: Endpoint, key: WindowKey) -> None:
        self._observed[endpoint.hunting].observe(key, time.monotonic(), self.knobs.rate_window)

    def peak(self, *, hunting: bool) -> int:
        return self._observed[hunting].peak

    def clear_observed(self) -> None:
        for windows in self._observed.values():
            windows.clear()

    def refuse(self, endpoint: Endpoint, key: WindowKey) -> web.Response | None:
        """429 when the call is over a limit, else None (and the call counts)."""
        return self._general(endpoint, key) or self._own_limits(endpoint, key)

    def _general(self, endpoint: Endpoint, key: WindowKey) -> web.Response | None:
        limit = self.knobs.hunting_rate_limit if endpoint.hunting else self.knobs.rate_limit
        window = self.knobs.rate_window
        wait = self._limits[endpoint.hunting].admit(key, time.monotonic(), limit, window)
        if wait is None:
            return None
        quota = "advanced hunting calls" if endpoint.hunting else "calls"
        return self._over(quota, limit, window, wait)

    def _own_limits(self, endpoint: Endpoint, key: WindowKey) -> web.Response | None:
        limits = self.knobs.endpoint_limits.get(endpoint.name, ())
        now = self.clock().timestamp()
        windows = [
            (self._own.setdefault((endpoint.name, i), SlidingWindows()), n, seconds)
            for i, (n, seconds) in enumerate(limits)
        ]
        refused = [
            (wait, n, seconds)
            for counter, n, seconds in windows
            if (wait := counter.wait(key, now, n, seconds)) is not None
        ]
        if refused:
            wait, n, seconds = max(refused)
            return self._over("calls", n, seconds, wait)
        for counter, n, seconds in windows:
            counter.admit(key, now, n, seconds)
        return None

    def _over(self, quota: str, limit: int, window: float, wait: int) -> web.Response:
        self.calls["429"] += 1
        self.calls["over_budget"] += 1
        return api.error(
            429,
            "TooManyRequests",
            f"API calls quota exceeded! Maximum allowed {quota}: {limit} per {window:g} seconds.",
            **{"Retry-After": str(wait)},
        )
