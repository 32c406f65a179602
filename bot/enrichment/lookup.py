"""One connector's answer to one question, gathered concurrently.

The plan of a message: its IPs (URLs on an IP included) and host names go into one batched
device query each, every other indicator into its own lookup; all run at once in one task
group, and each device found has its alerts fetched as soon as it turns up, so a message costs
about its longest chain of dependent calls. Expected failures (MDE's, bad input) become problems
on the report beside what was found; the results are normalised to OCSF at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel

from bot.english import be, plural
from bot.enrichment.results import (
    ConnectorReport,
    DeviceResult,
    FileResult,
    FindingResult,
    HeldIndicator,
    Note,
    Problem,
)
from bot.errors import BotError, InputError, MdeError
from bot.indicators import HASH_TYPES, Indicator, IndicatorType
from bot.mde import actions, lookups, query
from bot.mde.client import MdeClient
from bot.mde.custom import can_hold, indicator_value
from bot.mde.models import Alert, CustomIndicator, FileInfo, Machine
from bot.mde.normalize import device_from_machine, finding_from_alert
from bot.mde.records import Readability, Rows

# Devices whose alerts are fetched and shown per connector; more are counted, not fetched.
MAX_DEVICES = 10
INLINE_NORMALISE_ALERTS = 100  # more alerts are normalised to OCSF off the event loop
HUNTING_ROLE = "AdvancedQuery.Read.All"
IP_TYPES = frozenset({IndicatorType.IPV4, IndicatorType.IPV6})
CONTAINMENT_TYPES = tuple(t for on, off, _ in actions.CONTAINMENT for t in (on, off))
Step = Callable[[], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)


class ConnectorLookup:
    """The answers of one connector for one message, gathered concurrently."""

    def __init__(self, client: MdeClient, *, responding: bool = False) -> None:
        self.client = client
        # Response actions are on: also read the shown devices' containment and the custom
        # indicators MDE holds for the pasted values (a call each per connector).
        self.responding = responding
        self.containment: dict[str, tuple[str, ...]] = {}
        self.held: list[HeldIndicator] = []
        self.machines: dict[str, Machine] = {}
        self.machine_hits: dict[str, list[Indicator]] = {}
        self.loose: set[str] = set()
        self.alerts: dict[str, Alert] = {}
        self.alert_hits: dict[str, list[Indicator]] = {}
        self.files: dict[str, FileResult] = {}
        self.notes: list[Note] = []
        self.problems: list[Problem] = []
        self.answered = 0  # lookups that succeeded: none, and problems, means not searched
        self.readability = Readability()  # records MDE sent that could not be read (in full)
        self.can_hunt = False
        # The alerts of the first MAX_DEVICES devices, fetched as soon as each is found: a
        # device found by an IP does not wait for a hash's longer chain of calls.
        self.device_alerts: dict[str, list[Alert]] = {}
        self._group: asyncio.TaskGroup | None = None

    # ------------------------------------------------------------------ entry points

    async def run(self, indicators: Sequence[Indicator], *, at: datetime | None) -> ConnectorReport:
        try:
            roles = (await self.client.tokens.claims()).roles
        except MdeError as exc:
            return self._report(problem=exc, searched=False)
        self.can_hunt = HUNTING_ROLE in roles
        plan = self._plan(indicators, at)
        blockable = [i for i in indicators if can_hold(i.type, i.value)]
        if self.responding and blockable and any(r in roles for r in actions.TI_READ):
            plan.append(partial(self._held, blockable))
        await self._gather(plan)
        await self._read_containment()
        return await self._finished_off_loop()

    async def device(self, key: str) -> ConnectorReport:
        """A device by id, or by host name (exact, then prefix)."""

        async def step() -> None:
            try:
                machine_id = query.machine_id(key)
            except InputError:
                matches = await lookups.devices_by_hostname(self.client, [key])
                self.readability += matches.readability
                self._add_machines(None, next(iter(matches.found.values()), []))
            else:
                self._add_machines(None, [await lookups.device(self.client, machine_id)])

        await self._gather([step])
        await self._read_containment()
        return await self._finished_off_loop()

    # ------------------------------------------------------------------ per indicator

    def _plan(self, indicators: Sequence[Indicator], at: datetime | None) -> list[Step]:
        """The lookups a message needs. The IPs (URLs on an IP included) and the host names of
        one message go into one batched device query each; the rest run one per indicator."""
        ips: list[tuple[Indicator, str]] = []
        hosts: list[Indicator] = []
        domains: list[Indicator] = []  # also asked as device names: `ws1.contoso.com`
        files: list[Indicator] = []
        steps: list[Step] = []
        for indicator in indicators:
            kind = indicator.type
            host = _url_host(indicator.value) if kind is IndicatorType.URL else None
            if kind in IP_TYPES or (host is not None and _is_ip(host)):
                ips.append((indicator, host or indicator.value))
            elif kind is IndicatorType.HOSTNAME:
                hosts.append(indicator)
            elif kind is IndicatorType.DOMAIN or host is not None:
                steps.append(partial(self._domain, indicator, host or indicator.value))
                if kind is IndicatorType.DOMAIN:
                    domains.append(indicator)
            elif kind is IndicatorType.URL:
                self._note(indicator, "no host name in this URL")
            elif kind in HASH_TYPES:
                steps.append(partial(self._hash, indicator))
            else:
                files.append(indicator)
        if ips:
            steps.append(partial(self._ip_devices, ips, at))
            for indicator, ip in ips:
                steps.append(partial(self._ip_alerts, indicator, ip))
                if at is None and not query.is_internal_ip(ip):
                    steps.append(partial(self._behind_public_ip, indicator, ip))
        if hosts or domains:
            steps.append(partial(self._hostnames, hosts, domains))
        if files:
            steps.append(partial(self._file_names, files))
        return steps

    async def _ip_devices(self, ips: Sequence[tuple[Indicator, str]], at: datetime | None) -> None:
        if at is not None:  # "which device had it then": one findbyip per IP
            await self._all(
                *(partial(self._ip_devices_at, indicator, ip, at) for indicator, ip in ips)
            )
            return
        matches = await lookups.devices_by_ip(self.client, [ip for _, ip in ips])
        self.readability += matches.readability
        for indicator, ip in ips:
            self._add_machines(indicator, matches.found[query.ip(ip)])

    async def _ip_devices_at(self, indicator: Indicator, ip: str, at: datetime) -> None:
        self._add_machines(indicator, self._read(await lookups.devices_at(self.client, ip, at)))

    async def _ip_alerts(self, indicator: Indicator, ip: str) -> None:
        self._add_alerts(indicator, self._read(await lookups.ip_alerts(self.client, ip)))

    async def _behind_public_ip(self, indicator: Indicator, ip: str) -> None:
        """Devices whose internet-facing address it was: not filterable, so hunting."""
        if not self.can_hunt:
            self._note(
                indicator,
                "public IP: MDE cannot filter devices by their public IP; grant the app "
                f"{HUNTING_ROLE} to find them through advanced hunting",
            )
            return
        ids = await lookups.hunt_external_ip(self.client, ip)
        self._add_machines(indicator, self._read(await lookups.devices_by_ids(self.client, ids)))

    async def _hostnames(
        self, indicators: Sequence[Indicator], domains: Sequence[Indicator] = ()
    ) -> None:
        """Devices by host name (exact, then prefix), and by the domains of the message as
        exact device names, all in the same calls: a device's DNS name under a public suffix
        (`ws1.contoso.com`) reads as a domain."""
        matches = await lookups.devices_by_hostname(
            self.client, [i.value for i in indicators], exact=[d.value for d in domains]
        )
        self.readability += matches.readability
        for indicator in (*indicators, *domains):
            key = query.hostname_or_prefix(indicator.value)
            machines = matches.found.get(key, [])
            self._add_machines(indicator, machines)
            if key in matches.loose:
                self.loose.update(m.id for m in machines)

    async def _domain(self, indicator: Indicator, domain: str) -> None:
        async def alerts() -> None:
            rows = await lookups.domain_alerts(self.client, domain)
            self._add_alerts(indicator, self._read(rows))

        async def machines() -> None:
            rows = await lookups.domain_devices(self.client, domain)
            self._add_machines(indicator, self._read(rows))

        await self._all(alerts, machines)

    async def _hash(self, indicator: Indicator) -> None:
        kind = indicator.type
        if kind is IndicatorType.MD5:
            if not self.can_hunt:
                self._note(
                    indicator,
                    f"MD5: MDE looks files up by SHA-1 or SHA-256; grant the app {HUNTING_ROLE} "
                    "to resolve MD5s through advanced hunting",
                )
                return
            sha1s = await lookups.hunt_md5(self.client, indicator.value)
            if not sha1s:
                self._note(indicator, "no device reported this file in the last 30 days")
            await self._all(*(partial(self._sha1, indicator, s, profile=True) for s in sha1s[:3]))
            return
        if kind is IndicatorType.SHA1:
            await self._sha1(indicator, indicator.value, profile=True)
            return
        profile = await lookups.file_profile(self.client, indicator.value)
        if profile is None or not profile.sha1:
            self._note(indicator, "MDE has no record of this file")
            return
        self._add_file(indicator, profile)
        await self._sha1(indicator, profile.sha1, profile=False)

    async def _sha1(self, indicator: Indicator, sha1: str, *, profile: bool) -> None:
        async def file_profile() -> None:
            if profile and (info := await lookups.file_profile(self.client, sha1)) is not None:
                self._add_file(indicator, info)

        async def alerts() -> None:
            self._add_alerts(indicator, self._read(await lookups.file_alerts(self.client, sha1)))

        async def machines() -> None:
            rows = await lookups.file_devices(self.client, sha1)
            self._add_machines(indicator, self._read(rows))

        await self._all(file_profile, alerts, machines)

    async def _file_names(self, indicators: Sequence[Indicator]) -> None:
        """With hunting, one query per name; without, one scan of recent alerts for all."""
        if self.can_hunt:
            await self._all(*(partial(self._hunted_file_name, i) for i in indicators))
            return
        matches = await lookups.alerts_with_file_names(self.client, [i.value for i in indicators])
        self.readability += matches.readability
        days = lookups.EVIDENCE_SCAN_WINDOW.days
        for indicator in indicators:
            self._add_alerts(indicator, matches.found[indicator.value.lower()])
            self._note(
                indicator,
                f"file name: searched the evidence of the last {days} days of alerts; grant the "
                f"app {HUNTING_ROLE} to search 30 days",
            )

    async def _hunted_file_name(self, indicator: Indicator) -> None:
        ids = await lookups.hunt_file_name(self.client, indicator.value)
        self._add_alerts(indicator, self._read(await lookups.alerts_by_ids(self.client, ids)))

    async def _held(self, indicators: Sequence[Indicator]) -> None:
        """The custom indicators in force that MDE holds for the pasted values, matched by
        MDE's type and the value's normal form (a URL's path keeps its case)."""
        held = await actions.custom_indicators(self.client, [i.value for i in indicators])
        now = datetime.now(UTC)
        by_key: dict[tuple[str, str], CustomIndicator] = {}
        for row in held:
            if row.expiration_time is None or row.expiration_time > now:  # still in force
                key = _held_key(row.indicator_type or "", row.indicator_value or "")
                by_key.setdefault(key, row)
        for indicator in indicators:
            found = by_key.get(_held_key(*indicator_value(indicator.value, indicator.type)))
            if found is not None:
                expires = found.expiration_time
                self.held.append(
                    HeldIndicator(
                        indicator,
                        found.action or "Alert",
                        found.created_by_display_name or found.created_by,
                        int(expires.timestamp()) if expires is not None else None,
                        found.title,
                    )
                )

    async def _read_containment(self) -> None:
        """The shown devices' isolation and app restriction, in one batched call."""
        shown = list(self.machines)[:MAX_DEVICES]
        if not (self.responding and shown):
            return

        async def read() -> None:
            found = await actions.devices_actions(self.client, shown, types=CONTAINMENT_TYPES)
            for machine_id, done in found.items():
                self.containment[machine_id] = actions.containment(done)

        await self._guarded(read)

    # ------------------------------------------------------------------ accumulate

    async def _gather(self, steps: Sequence[Step]) -> None:
        """Run the plan; device-alert fetches join the same group as devices turn up."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for step in steps:
                group.create_task(self._guarded(step))
        self._group = None

    async def _all(self, *steps: Callable[[], Awaitable[None]]) -> None:
        """Run steps concurrently; expected failures are recorded, a bug cancels the rest."""
        async with asyncio.TaskGroup() as group:
            for step in steps:
                group.create_task(self._guarded(step))

    async def _guarded(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run one lookup; its failure becomes a problem on the report, not an exception."""
        try:
            await step()
        except (MdeError, InputError) as exc:
            self._problem(exc)
        else:
            self.answered += 1

    def _problem(self, exc: BotError) -> None:
        problem = Problem(self.client.alias, exc.message, exc.hint)
        if problem not in self.problems:
            self.problems.append(problem)

    def _read(self, rows: Rows[M]) -> tuple[M, ...]:
        """The records of an answer that could be read; what could not is counted."""
        self.readability += rows.readability
        return rows.records

    def _note(self, indicator: Indicator, text: str) -> None:
        self.notes.append(Note(indicator, text))

    def _add_machines(self, indicator: Indicator | None, machines: Sequence[Machine]) -> None:
        for machine in machines:
            if machine.id not in self.machines:
                self.machines[machine.id] = machine
                if len(self.machines) <= MAX_DEVICES and self._group is not None:
                    fetch = partial(self._fetch_device_alerts, machine.id)
                    self._group.create_task(self._guarded(fetch))
            hits = self.machine_hits.setdefault(machine.id, [])
            if indicator is not None and indicator not in hits:
                hits.append(indicator)

    def _add_alerts(self, indicator: Indicator | None, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            self.alerts.setdefault(alert.id, alert)
            hits = self.alert_hits.setdefault(alert.id, [])
            if indicator is not None and indicator not in hits:
                hits.append(indicator)

    def _add_file(self, indicator: Indicator, info: FileInfo) -> None:
        key = info.sha1 or info.sha256 or indicator.value
        existing = self.files.get(key)
        matched = (*existing.matched, indicator) if existing else (indicator,)
        self.files[key] = FileResult(info, tuple(dict.fromkeys(matched)))

    # ------------------------------------------------------------------ finish

    async def _fetch_device_alerts(self, machine_id: str) -> None:
        rows = await lookups.device_alerts(self.client, machine_id)
        self.device_alerts[machine_id] = list(self._read(rows))

    async def _finished_off_loop(self) -> ConnectorReport:
        """`_finished`, in a thread when there is much to normalise (it is CPU alone, and every
        lookup of this connector is done: nothing else touches this object meanwhile)."""
        alerts = len(self.alerts) + sum(len(a) for a in self.device_alerts.values())
        if alerts > INLINE_NORMALISE_ALERTS:
            return await asyncio.to_thread(self._finished)
        return self._finished()

    def _finished(self) -> ConnectorReport:
        """Everything found, normalised to OCSF; the first MAX_DEVICES devices shown."""
        shown = list(self.machines.values())[:MAX_DEVICES]
        return self._report(devices=shown, device_alerts=self.device_alerts)

    def _device_result(
        self, machine: Machine, device_alerts: dict[str, list[Alert]], portal: str
    ) -> DeviceResult:
        device = device_from_machine(machine)  # once; its alerts all carry it
        return DeviceResult(
            device=device,
            findings=tuple(
                finding_from_alert(a, portal_url=portal, machine=machine, device=device)
                for a in device_alerts.get(machine.id, [])
            ),
            matched=tuple(self.machine_hits.get(machine.id, ())),
            loose=machine.id in self.loose,
            alerts_known=machine.id in device_alerts,
            containment=self.containment.get(machine.id, ()),
        )

    def _report(
        self,
        *,
        devices: Sequence[Machine] = (),
        device_alerts: dict[str, list[Alert]] | None = None,
        problem: MdeError | None = None,
        searched: bool = True,
    ) -> ConnectorReport:
        connector = self.client.connector
        portal = connector.resolved_portal_url
        if problem is not None:
            self._problem(problem)
        if self.readability:
            self.problems.append(readability_problem(connector.alias, self.readability))
        device_alerts = device_alerts or {}
        device_results = tuple(
            self._device_result(machine, device_alerts, portal) for machine in devices
        )
        finding_results = tuple(
            FindingResult(finding_from_alert(alert, portal_url=portal), tuple(self.alert_hits[aid]))
            for aid, alert in self.alerts.items()
        )
        searched = searched and (self.answered > 0 or not self.problems)
        return ConnectorReport(
            alias=connector.alias,
            portal_url=portal,
            tenant_id=connector.tenant_id,
            devices=device_results,
            findings=finding_results,
            files=tuple(self.files.values()),
            notes=tuple(self.notes),
            problems=tuple(self.problems),
            more_devices=max(0, len(self.machines) - len(devices)),
            searched=searched,
            held=tuple(self.held),
        )


def _held_key(mde_type: str, value: str) -> tuple[str, str]:
    """How a custom indicator's value is compared: hashes, names and addresses in any case, a
    URL as written (its path may be case-sensitive)."""
    value = value.strip()
    return mde_type, value if mde_type == "Url" else value.lower()


def _is_ip(value: str) -> bool:
    try:
        query.ip(value)
    except InputError:
        return False
    return True


def _url_host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


def readability_problem(alias: str, readability: Readability) -> Problem:
    """What the user is told of records MDE sent that could not be read, or only in part."""
    parts = []
    if n := readability.unreadable:
        parts.append(f"{plural(n, 'record')} from MDE could not be read and {be(n)} left out")
    if n := readability.partly_readable:
        lead = f"{plural(n, 'record')} from MDE" if not parts else f"{n}"
        parts.append(f"{lead} {be(n, past=True)} only partly readable")
    return Problem(
        alias,
        "; ".join(parts),
        "the rest is shown; if it keeps happening, tell whoever runs the bot",
    )
