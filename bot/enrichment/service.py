"""Indicators → MDE → OCSF. Knows nothing of Slack.

Every enabled connector is asked concurrently; within a connector, every indicator's lookups
run concurrently too, so a message costs about its longest chain of dependent calls. A failing
connector, or a failing lookup, is reported beside the others' results and never hides them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.enrichment.check import run_check
from bot.enrichment.lookup import ConnectorLookup
from bot.enrichment.results import (
    CheckReport,
    ConnectorReport,
    Problem,
    Report,
)
from bot.errors import UNEXPECTED_HINT, UnknownTenant, new_reference
from bot.indicators import DEFAULT_CAP, Extraction, Indicator, IndicatorType, extract
from bot.logs import get_logger
from bot.mde.client import MdeClient
from bot.mde.limits import REQUESTER, Booking, requested_by

log = get_logger(__name__)

# Extraction is pure CPU; below this size it is cheaper to run it inline than to hop threads.
INLINE_EXTRACTION_CHARS = 4096


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    internal_suffixes: tuple[str, ...] = ()
    cap: int = DEFAULT_CAP


# MDE calls per indicator kind and connector, cold cache, the device's alerts included (the
# figures `make bench` measures; a public IP adds hunting and the devices it names).
CALLS_PER_KIND = {
    IndicatorType.IPV4: 3,
    IndicatorType.IPV6: 3,
    IndicatorType.HOSTNAME: 3,
    IndicatorType.DOMAIN: 5,
    IndicatorType.URL: 5,
    IndicatorType.SHA1: 7,
    IndicatorType.SHA256: 7,
    IndicatorType.MD5: 8,
    IndicatorType.FILENAME: 2,
}


def estimated_calls(indicators: Sequence[Indicator]) -> int:
    return sum(CALLS_PER_KIND.get(i.type, 3) for i in indicators)


@dataclass(frozen=True, slots=True)
class Admission:
    """What of a message is looked up now: its first indicators, as many as MDE's call budget
    can serve within the time the answer has; `deferred` were left out. The admitted calls are
    booked in each connector's budget until the admission is closed (`with admission:` around
    the lookup), so that work admitted at the same moment is not admitted against an empty
    queue."""

    extraction: Extraction
    deferred: int = 0
    wait: float = 0.0  # about how long the admitted lookups will wait for budget
    bookings: tuple[Booking, ...] = ()

    @property
    def refused(self) -> bool:
        return not self.extraction.indicators and bool(self.deferred)

    @contextlib.contextmanager
    def booked(self) -> Iterator[None]:
        """The lookup's calls spend the bookings; what they did not spend is released after."""
        requester = replace(REQUESTER.get(), bookings=self.bookings)
        try:
            with requested_by(requester):
                yield
        finally:
            for booking in self.bookings:
                booking.release()


class EnrichmentService:
    def __init__(
        self,
        clients: Sequence[MdeClient],
        *,
        demo: bool = False,
        extraction: ExtractionOptions | None = None,
        responding: bool = False,
    ) -> None:
        self._clients = list(clients)
        self.demo = demo
        # Response actions are on: reports also carry containment and held custom indicators.
        self.responding = responding
        self._extraction = extraction or ExtractionOptions()

    @property
    def aliases(self) -> list[str]:
        return [c.alias for c in self._clients]

    def clients(self, tenants: Sequence[str] | None = None) -> list[MdeClient]:
        """The connectors to ask: all of them, or those named (`--tenant`)."""
        if not tenants:
            return list(self._clients)
        chosen = [c for c in self._clients if c.alias in tenants]
        unknown = sorted(set(tenants) - {c.alias for c in chosen})
        if unknown:
            raise UnknownTenant(
                f"no tenant called {unknown[0]!r}",
                hint="known tenants: " + ", ".join(self.aliases),
            )
        return chosen

    def queue_delay(
        self, indicators: Sequence[Indicator], tenants: Sequence[str] | None = None
    ) -> float:
        """About how long looking `indicators` up now would wait for call budget (0: no wait)."""
        calls = estimated_calls(indicators)
        return max((c.queue_delay(calls) for c in self.clients(tenants)), default=0.0)

    def admit(
        self, extraction: Extraction, within: float, tenants: Sequence[str] | None = None
    ) -> Admission:
        """The indicators of `extraction` that can be looked up with an estimated wait of at
        most `within` seconds (for the current requester, behind everyone served before it):
        all of them, the first few, or none. One user's flood then trims or refuses that
        user's own work instead of queueing hours of calls."""
        indicators = extraction.indicators
        fits, wait = 0, 0.0
        low, high = 1, len(indicators)
        while low <= high:  # the wait grows with the number looked up: bisect it
            middle = (low + high) // 2
            estimate = self.queue_delay(indicators[:middle], tenants)
            if estimate <= within:
                fits, wait, low = middle, estimate, middle + 1
            else:
                high = middle - 1
        kept = Extraction(indicators[:fits], extraction.dropped)
        calls = estimated_calls(kept.indicators)
        bookings = tuple(c.budget.book(calls) for c in self.clients(tenants)) if calls else ()
        return Admission(kept, len(indicators) - fits, wait, bookings)

    async def check(self, tenants: Sequence[str] | None = None) -> CheckReport:
        """Test connection for the chosen connectors (`mde-bot check`, `/mde check`)."""
        return await run_check(self.clients(tenants), demo=self.demo)

    async def extract(self, text: str) -> Extraction:
        """Indicators in `text`; large pastes are processed off the event loop."""
        options = self._extraction
        if len(text) <= INLINE_EXTRACTION_CHARS:
            return extract(text, internal_suffixes=options.internal_suffixes, cap=options.cap)
        return await asyncio.to_thread(
            extract, text, internal_suffixes=options.internal_suffixes, cap=options.cap
        )

    async def lookup(
        self,
        extraction: Extraction,
        *,
        tenants: Sequence[str] | None = None,
        at: datetime | None = None,
        deferred: int = 0,
    ) -> Report:
        """Every indicator in every chosen connector; `at` asks "which device had this IP then";
        `deferred` indicators were left out for want of call budget (`admit`)."""
        indicators = extraction.indicators
        reports = await asyncio.gather(
            *(
                _isolated(c, lambda lookup: lookup.run(indicators, at=at), self.responding)
                for c in self.clients(tenants)
            )
        )
        return Report(
            indicators,
            tuple(reports),
            dropped=extraction.dropped,
            deferred=deferred,
            demo=self.demo,
            at=now_ms(),
        )

    async def device_report(self, key: str, *, tenants: Sequence[str] | None = None) -> Report:
        """A device (by id or host name) with its alerts: `/mde device`, `/mde alerts` and the
        "Device details" / "Alerts" buttons."""
        reports = await asyncio.gather(
            *(
                _isolated(c, lambda lookup: lookup.device(key), self.responding)
                for c in self.clients(tenants)
            )
        )
        return Report((), tuple(reports), demo=self.demo, at=now_ms())


def now_ms() -> int:
    return int(time.time() * 1000)


async def _isolated(
    client: MdeClient,
    work: Callable[[ConnectorLookup], Awaitable[ConnectorReport]],
    responding: bool = False,
) -> ConnectorReport:
    """One connector's answer; a bug in it becomes a problem with a reference id, logged with
    its traceback, and never hides the other connectors' answers."""
    lookup = ConnectorLookup(client, responding=responding)
    try:
        return await work(lookup)
    except Exception:  # the isolation boundary between connectors, on purpose
        reference = new_reference()
        log.exception("connector_failed", connector=client.alias, reference=reference)
        connector = client.connector
        problem = Problem(
            client.alias, f"unexpected error (reference {reference})", UNEXPECTED_HINT
        )
        return ConnectorReport(
            connector.alias,
            connector.resolved_portal_url,
            connector.tenant_id,
            problems=(problem,),
            searched=False,
        )
