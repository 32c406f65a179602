"""Indicators → MDE → OCSF. Knows nothing of Slack.

Every enabled connector is asked concurrently; a connector that fails is reported beside the
others' results and never hides them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.errors import MdeError
from bot.indicators import DEFAULT_CAP, Extraction, Indicator, IndicatorType, extract
from bot.logs import get_logger
from bot.mde import lookups
from bot.mde.client import MdeClient
from bot.mde.normalize import device_from_machine, finding_from_alert
from bot.results import ConnectorReport, DeviceResult, Problem, Report

log = get_logger(__name__)

# Extraction is pure CPU; below this size it is cheaper to run it inline than to hop threads.
INLINE_EXTRACTION_CHARS = 4096


@dataclass(frozen=True, slots=True)
class ExtractionOptions:
    internal_suffixes: tuple[str, ...] = ()
    cap: int = DEFAULT_CAP


class EnrichmentService:
    def __init__(
        self,
        clients: Sequence[MdeClient],
        *,
        demo: bool = False,
        extraction: ExtractionOptions | None = None,
    ) -> None:
        self._clients = list(clients)
        self.demo = demo
        self._extraction = extraction or ExtractionOptions()

    @property
    def aliases(self) -> list[str]:
        return [c.alias for c in self._clients]

    async def extract(self, text: str) -> Extraction:
        """Indicators in `text`; large pastes are processed off the event loop."""
        options = self._extraction
        if len(text) <= INLINE_EXTRACTION_CHARS:
            return extract(text, internal_suffixes=options.internal_suffixes, cap=options.cap)
        return await asyncio.to_thread(
            extract, text, internal_suffixes=options.internal_suffixes, cap=options.cap
        )

    async def lookup(self, extraction: Extraction) -> Report:
        indicators = extraction.indicators
        reports = await asyncio.gather(*(self._ask(c, indicators) for c in self._clients))
        return Report(
            indicators=indicators,
            connectors=tuple(reports),
            dropped=extraction.dropped,
            demo=self.demo,
        )

    async def _ask(self, client: MdeClient, indicators: Sequence[Indicator]) -> ConnectorReport:
        connector = client.connector
        base = ConnectorReport(
            alias=client.alias,
            portal_url=connector.resolved_portal_url,
            tenant_id=connector.tenant_id,
        )
        try:
            devices = await self._devices(client, indicators)
        except MdeError as exc:
            problem = Problem(client.alias, exc.message, exc.hint)
            return ConnectorReport(base.alias, base.portal_url, base.tenant_id, problem=problem)
        except Exception:  # one connector's bug must not hide the others' answers
            reference = uuid.uuid4().hex[:8]
            log.exception("connector_failed", connector=client.alias, reference=reference)
            problem = Problem(client.alias, f"unexpected error (reference {reference})")
            return ConnectorReport(base.alias, base.portal_url, base.tenant_id, problem=problem)
        return ConnectorReport(base.alias, base.portal_url, base.tenant_id, devices=devices)

    async def _devices(
        self, client: MdeClient, indicators: Iterable[Indicator]
    ) -> tuple[DeviceResult, ...]:
        ips = [i for i in indicators if i.type in {IndicatorType.IPV4, IndicatorType.IPV6}]
        by_ip = await lookups.devices_by_ip(client, [i.value for i in ips])
        results = []
        portal = client.connector.resolved_portal_url
        for indicator in ips:
            for machine in by_ip.get(indicator.value, []):
                alerts = await lookups.device_alerts(client, machine.id)
                results.append(
                    DeviceResult(
                        device=device_from_machine(machine),
                        findings=tuple(finding_from_alert(a, portal_url=portal) for a in alerts),
                        matched=(indicator,),
                    )
                )
        return tuple(results)
