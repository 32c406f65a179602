"""The lookups, one function per question MDE can answer, built on `MdeClient`.

Validated input in, MDE models out. Batched where MDE allows it: the IPs, host names and ids of
one message go into bounded OData `or` filters, not one call each. Which endpoint takes which
hash, and where 404 differs from an empty 200, is in docs/mde-api.md.

Rows MDE sends that cannot be read are left out and counted (`Rows.unreadable`): the caller says
"N records could not be read" instead of reading an empty answer as "MDE knows none", and such
an answer is never cached, so the next lookup asks MDE again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from bot.errors import InputError, MdeNotFound, MdeUnavailable
from bot.logs import get_logger
from bot.mde import hunting, query
from bot.mde.client import MdeClient, segment
from bot.mde.hunting import Hunt
from bot.mde.models import Alert, FileInfo, HuntingResult, Machine
from bot.mde.records import Readability, Rows, Unreadable, parse_record, parse_rows

MAX_DEVICES_PER_INDICATOR = 20
MAX_ALERTS_PER_DEVICE = 50
MAX_ALERTS_PER_INDICATOR = 50
# Without advanced hunting, file names are searched in the evidence of recent alerts.
EVIDENCE_SCAN_WINDOW = timedelta(days=7)
EVIDENCE_SCAN_LIMIT = 1000
# What one alert kept from an evidence scan weighs in the cache (measured: about 6 KB with its
# evidence, parsed).
ALERT_COST = 6 * 1024


log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)


def complete(rows: Rows[Any]) -> bool:
    return rows.complete


@dataclass(frozen=True, slots=True)
class AlertMatches:
    """Alerts per value asked for (a file name)."""

    found: dict[str, tuple[Alert, ...]] = field(default_factory=dict)
    readability: Readability = field(default_factory=Readability)


@dataclass(frozen=True, slots=True)
class DeviceMatches:
    """Devices per value asked for (an IP, a host name), and the values matched only loosely
    (a host-name prefix)."""

    found: dict[str, list[Machine]] = field(default_factory=dict)
    loose: frozenset[str] = frozenset()
    readability: Readability = field(default_factory=Readability)


def read_rows(model: type[M], rows: Sequence[Any]) -> Rows[M]:
    """The rows as `model`s (`bot.mde.records`: an odd field costs that field, a record only
    when nothing identifies it), each problem logged by the fields' names, never their values."""
    read = parse_rows(model, rows)
    for problem in read.problems:
        if problem.reason is not None:
            log.warning(
                "mde_row_unreadable",
                model=model.__name__,
                index=problem.index,
                reason=problem.reason,
            )
        else:
            log.info(
                "mde_row_partly_readable",
                model=model.__name__,
                index=problem.index,
                left_out=list(problem.dropped),
            )
    return read


def rows_of(model: type[M], limit: int) -> Callable[[Any], Rows[M]]:
    """A parser for a collection answer (`{"value": [...]}`): its first `limit` rows."""

    def parse(body: Any) -> Rows[M]:
        values = body.get("value") if isinstance(body, dict) else None
        return read_rows(model, values[:limit] if isinstance(values, list) else [])

    return parse


def each_row(model: type[M]) -> Callable[[list[Any]], Rows[M]]:
    """A parser for the rows `MdeClient.collect` gathered."""
    return lambda rows: read_rows(model, rows)


def one(client: MdeClient, model: type[M]) -> Callable[[Any], M]:
    """A parser for a single entity; one that cannot be read at all is MDE's failure, reported
    as such (and never cached); one read in part is kept, the fields left out logged."""

    def parse(body: Any) -> M:
        read = parse_record(model, body)
        if isinstance(read, Unreadable):
            log.warning(
                "mde_entity_unreadable",
                model=model.__name__,
                connector=client.alias,
                reason=read.reason,
            )
            raise MdeUnavailable(
                client.alias, f"MDE's {model.__name__.lower()} record could not be read"
            )
        if read.dropped:
            log.info(
                "mde_entity_partly_readable", model=model.__name__, left_out=list(read.dropped)
            )
        return read.record

    return parse


async def _filtered_machines(
    client: MdeClient,
    values: list[str],
    clause: str,
    build: Callable[[list[str]], str],
    per_value: int,
) -> Rows[Machine]:
    """Machines matching `build(chunk)` for every chunk of `values` that fits one filter."""
    parts = [
        await client.collect(
            "/machines",
            {"$filter": build(chunk)},
            parse=each_row(Machine),
            keep=complete,
            limit=per_value * len(chunk),
        )
        for chunk in query.chunks_for_filter(values, len(clause))
    ]
    return Rows.joined(parts)


# ---------------------------------------------------------------------- devices


async def devices_by_ip(client: MdeClient, ips: Sequence[str]) -> DeviceMatches:
    """Devices whose last local IP is one of `ips`."""
    wanted = list(dict.fromkeys(query.ip(v) for v in ips))
    found: dict[str, list[Machine]] = {ip: [] for ip in wanted}
    machines = await _filtered_machines(
        client,
        wanted,
        "lastIpAddress eq ''",
        lambda chunk: query.any_equal("lastIpAddress", chunk),
        MAX_DEVICES_PER_INDICATOR,
    )
    for machine in machines:
        if machine.last_ip_address in found:
            found[machine.last_ip_address].append(machine)
    return DeviceMatches(found, readability=machines.readability)


async def devices_at(client: MdeClient, ip: str, at: datetime) -> Rows[Machine]:
    """Devices that had `ip` within ±15 minutes of `at` (MDE keeps 30 days of this)."""
    address = query.ip(ip)
    moment = at.astimezone(UTC)
    if moment < datetime.now(UTC) - query.FINDBYIP_WINDOW:
        return Rows()
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Both values are validated and normalised above, and encoded besides.
    literal = segment(query.odata_string(address), safe="'")
    path = f"/machines/findbyip(ip={literal},timestamp={segment(stamp, safe=':')})"
    return await client.get(path, parse=rows_of(Machine, MAX_DEVICES_PER_INDICATOR), keep=complete)


def _name_matches(machine: Machine, name: str) -> bool:
    dns = (machine.computer_dns_name or "").lower()
    return dns == name or dns.startswith(name + ".")


async def devices_by_hostname(
    client: MdeClient, names: Sequence[str], *, exact: Sequence[str] = ()
) -> DeviceMatches:
    """Devices per host name: exact match first, a prefix match for the names that found
    nothing. Two calls for any number of names that fit one filter. `exact` names (domains
    that may be a device's DNS name) join the first call only. `loose` names were answered by
    a looser prefix match only."""
    prefixable = list(dict.fromkeys(query.hostname_or_prefix(n) for n in names))
    wanted = list(dict.fromkeys([*prefixable, *(query.hostname(n) for n in exact)]))
    found: dict[str, list[Machine]] = {n: [] for n in wanted}
    named = await _filtered_machines(
        client,
        wanted,
        "computerDnsName eq ''",
        lambda chunk: query.any_equal("computerDnsName", chunk),
        MAX_DEVICES_PER_INDICATOR,
    )
    for machine in named:
        name = (machine.computer_dns_name or "").lower()
        if name in found:
            found[name].append(machine)
    missing = [n for n in prefixable if not found[n]]
    if not missing:
        return DeviceMatches(found, readability=named.readability)
    prefixed = await _filtered_machines(
        client,
        missing,
        "startswith(computerDnsName,'')",
        lambda chunk: query.any_prefix("computerDnsName", chunk),
        MAX_DEVICES_PER_INDICATOR,
    )
    loose: set[str] = set()
    for name in missing:
        candidates = [m for m in prefixed if (m.computer_dns_name or "").lower().startswith(name)]
        # `ws-fin-042` is the device `ws-fin-042.corp…`, not `ws-fin-0420`: prefer whole-label
        # matches, and fall back to any prefix only when there are none.
        whole = [m for m in candidates if _name_matches(m, name)]
        found[name] = (whole or candidates)[:MAX_DEVICES_PER_INDICATOR]
        if candidates and not whole:
            loose.add(name)
    return DeviceMatches(found, frozenset(loose), named.readability + prefixed.readability)


async def devices_by_ids(client: MdeClient, ids: Sequence[str]) -> Rows[Machine]:
    wanted = list(dict.fromkeys(query.machine_id(i) for i in ids))
    if not wanted:
        return Rows()
    return await _filtered_machines(
        client, wanted, "id eq ''", lambda chunk: query.any_equal("id", chunk), 1
    )


async def device(client: MdeClient, key: str) -> Machine:
    """One device by id or computer name; `MdeNotFound` if MDE does not know it."""
    try:
        valid = query.machine_id(key)
    except InputError:
        valid = query.hostname(key)
    return await client.get(f"/machines/{segment(valid)}", parse=one(client, Machine))


async def device_alerts(client: MdeClient, machine_id: str) -> Rows[Alert]:
    return await client.collect(
        f"/machines/{segment(query.machine_id(machine_id))}/alerts",
        parse=each_row(Alert),
        keep=complete,
        limit=MAX_ALERTS_PER_DEVICE,
    )


# ---------------------------------------------------------------------- alerts


async def alerts_by_ids(client: MdeClient, ids: Sequence[str]) -> Rows[Alert]:
    wanted = list(dict.fromkeys(query.alert_id(i) for i in ids))
    parts = [
        await client.collect(
            "/alerts",
            {"$filter": query.any_equal("id", chunk), "$expand": "evidence"},
            parse=each_row(Alert),
            keep=complete,
            limit=len(chunk),
        )
        for chunk in query.chunks_for_filter(wanted, len("id eq ''"))
    ]
    return Rows.joined(parts)


async def _alerts(client: MdeClient, path: str) -> Rows[Alert]:
    return await client.get(path, parse=rows_of(Alert, MAX_ALERTS_PER_INDICATOR), keep=complete)


async def _machines(client: MdeClient, path: str) -> Rows[Machine]:
    return await client.get(path, parse=rows_of(Machine, MAX_DEVICES_PER_INDICATOR), keep=complete)


async def ip_alerts(client: MdeClient, ip: str) -> Rows[Alert]:
    return await _alerts(client, f"/ips/{segment(query.ip(ip))}/alerts")


async def domain_alerts(client: MdeClient, domain: str) -> Rows[Alert]:
    return await _alerts(client, f"/domains/{segment(query.hostname(domain))}/alerts")


async def domain_devices(client: MdeClient, domain: str) -> Rows[Machine]:
    return await _machines(client, f"/domains/{segment(query.hostname(domain))}/machines")


async def alerts_with_file_names(client: MdeClient, names: Sequence[str]) -> AlertMatches:
    """Per file name, the alerts of the last `EVIDENCE_SCAN_WINDOW` whose evidence names it
    (without advanced hunting). One scan serves every name asked for at once; only what each
    name keeps of it is cached (under the name, so a later lookup reuses it), never the scan."""
    wanted = list(dict.fromkeys(query.file_name(n).lower() for n in names))
    kept: dict[str, Rows[Alert]] = {}
    scan: dict[str, Rows[Alert]] | None = None

    async def scanned() -> dict[str, Rows[Alert]]:
        nonlocal scan
        if scan is None:
            scan = await _scan_evidence(client, wanted)
        return scan

    for name in wanted:

        async def load(name: str = name) -> Rows[Alert]:
            return (await scanned())[name]

        kept[name] = await client.derive(
            ("alerts_with_file_name", name),
            load,
            cost=lambda rows: ALERT_COST * max(1, len(rows)),
            keep=complete,
        )
    # The names share one scan: its problems are counted once.
    readability = next((r.readability for r in kept.values() if r.readability), Readability())
    return AlertMatches({name: rows.records for name, rows in kept.items()}, readability)


async def _scan_evidence(client: MdeClient, names: Sequence[str]) -> dict[str, Rows[Alert]]:
    since = (datetime.now(UTC) - EVIDENCE_SCAN_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = await client.collect_uncached(
        "/alerts",
        {"$filter": f"alertCreationTime ge {since}", "$expand": "evidence"},
        limit=EVIDENCE_SCAN_LIMIT,
        page_size=500,
    )
    # A thousand alerts with their evidence: parsed in a thread (CPU alone).
    alerts = await asyncio.to_thread(read_rows, Alert, raw)
    return {
        name: Rows(
            tuple(a for a in alerts if _names_file(a, name))[:MAX_ALERTS_PER_INDICATOR],
            alerts.problems,
        )
        for name in names
    }


def _names_file(alert: Alert, lower_name: str) -> bool:
    return any(
        lower_name in {(e.file_name or "").lower(), (e.parent_process_file_name or "").lower()}
        for e in alert.evidence
    )


# ---------------------------------------------------------------------- files


async def file_profile(client: MdeClient, sha1_or_sha256: str) -> FileInfo | None:
    kind, value = query.file_hash(sha1_or_sha256)
    if kind == "md5":
        raise InputError("MDE file profiles take SHA-1 or SHA-256, not MD5")
    try:
        return await client.get(f"/files/{segment(value)}", parse=one(client, FileInfo))
    except MdeNotFound:
        return None


async def file_alerts(client: MdeClient, sha1: str) -> Rows[Alert]:
    return await _alerts(client, f"/files/{segment(_sha1(sha1))}/alerts")


async def file_devices(client: MdeClient, sha1: str) -> Rows[Machine]:
    return await _machines(client, f"/files/{segment(_sha1(sha1))}/machines")


def _sha1(value: str) -> str:
    kind, normal = query.file_hash(value)
    if kind != "sha1":
        raise InputError("this MDE endpoint takes SHA-1 only")
    return normal


# ---------------------------------------------------------------------- hunting


async def _hunt(client: MdeClient, hunt: Hunt, value: str) -> list[dict[str, Any]]:
    result = await client.hunt(hunting.render(hunt, value), parse=one(client, HuntingResult))
    return list(result.results)


async def hunt_external_ip(client: MdeClient, ip: str) -> list[str]:
    """Ids of devices whose public IP was `ip` in the last 30 days."""
    rows = await _hunt(client, Hunt.EXTERNAL_IP_DEVICES, query.ip(ip))
    return [str(r["DeviceId"]) for r in rows if r.get("DeviceId")]


async def hunt_md5(client: MdeClient, md5: str) -> list[str]:
    """SHA-1s of files with this MD5 seen on devices in the last 30 days."""
    kind, value = query.file_hash(md5)
    if kind != "md5":
        raise InputError(f"{md5!r} is not an MD5")
    rows = await _hunt(client, Hunt.MD5_FILES, value)
    return list(dict.fromkeys(str(r["SHA1"]).lower() for r in rows if r.get("SHA1")))


async def hunt_file_name(client: MdeClient, name: str) -> list[str]:
    """Ids of alerts whose file or process evidence names `name` (30 days)."""
    rows = await _hunt(client, Hunt.FILE_NAME_ALERTS, query.file_name(name))
    return list(dict.fromkeys(str(r["AlertId"]) for r in rows if r.get("AlertId")))
