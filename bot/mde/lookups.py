"""The lookups, one function per question MDE can answer, built on `MdeClient`.

Validated input in, MDE models out. Batched where MDE allows it: the IPs, host names and ids of
one message go into bounded OData `or` filters, not one call each. Which endpoint takes which
hash, and where 404 differs from an empty 200, follows ../shared/reference/mde-api.md §3.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.errors import InputError, MdeNotFound, MdeUnavailable
from bot.logs import get_logger
from bot.mde import hunting, query
from bot.mde.client import MdeClient, segment
from bot.mde.hunting import Hunt
from bot.mde.models import Alert, FileInfo, HuntingResult, Machine

MAX_DEVICES_PER_INDICATOR = 20
MAX_ALERTS_PER_DEVICE = 50
MAX_ALERTS_PER_INDICATOR = 50
# Without advanced hunting, file names are searched in the evidence of recent alerts.
EVIDENCE_SCAN_WINDOW = timedelta(days=7)
EVIDENCE_SCAN_LIMIT = 1000


log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)


def _parsed(model: type[M], rows: Sequence[Any]) -> list[M]:
    """The rows that are valid `model`s. A malformed row is logged and skipped: one bad record
    must not cost the answer of the whole tenant."""
    parsed: list[M] = []
    for row in rows:
        try:
            parsed.append(model.model_validate(row))
        except ValidationError as exc:
            log.warning("mde_row_skipped", model=model.__name__, errors=exc.error_count())
    return parsed


def _one(client: MdeClient, model: type[M], body: Any) -> M:
    """A single entity; one that cannot be read is MDE's failure, reported as such."""
    try:
        return model.model_validate(body)
    except ValidationError:
        log.warning("mde_entity_unreadable", model=model.__name__, connector=client.alias)
        raise MdeUnavailable(
            client.alias, f"MDE's {model.__name__.lower()} record could not be read"
        ) from None


def _machines(rows: Sequence[Any]) -> list[Machine]:
    return _parsed(Machine, rows)


def _alerts(rows: Sequence[Any]) -> list[Alert]:
    return _parsed(Alert, rows)


def _values(body: Any, limit: int) -> list[Any]:
    """The rows of a collection answer (`{"value": [...]}`), at most `limit`."""
    values = body.get("value") if isinstance(body, dict) else None
    return values[:limit] if isinstance(values, list) else []


async def _filtered_machines(
    client: MdeClient, values: list[str], clause: str, build: Any, per_value: int
) -> list[Machine]:
    """Machines matching `build(chunk)` for every chunk of `values` that fits one filter."""
    machines: list[Machine] = []
    for chunk in query.chunks_for_filter(values, len(clause)):
        rows = await client.collect(
            "/machines", {"$filter": build(chunk)}, limit=per_value * len(chunk)
        )
        machines.extend(_machines(rows))
    return machines


# ---------------------------------------------------------------------- devices


async def devices_by_ip(client: MdeClient, ips: Sequence[str]) -> dict[str, list[Machine]]:
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
    return found


async def devices_at(client: MdeClient, ip: str, at: datetime) -> list[Machine]:
    """Devices that had `ip` within ±15 minutes of `at` (MDE keeps 30 days of this)."""
    address = query.ip(ip)
    moment = at.astimezone(UTC)
    if moment < datetime.now(UTC) - query.FINDBYIP_WINDOW:
        return []
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Both values are validated and normalised above: nothing else reaches this path.
    path = f"/machines/findbyip(ip={query.odata_string(address)},timestamp={stamp})"
    body = await client.get(path)
    return _machines(_values(body, MAX_DEVICES_PER_INDICATOR))


def _name_matches(machine: Machine, name: str) -> bool:
    dns = (machine.computer_dns_name or "").lower()
    return dns == name or dns.startswith(name + ".")


async def devices_by_hostname(
    client: MdeClient, names: Sequence[str]
) -> tuple[dict[str, list[Machine]], set[str]]:
    """Devices per host name: exact match first, a prefix match for the names that found
    nothing. Two calls for any number of names that fit one filter. Also returns the names that
    were answered by a looser prefix match only."""
    wanted = list(dict.fromkeys(query.hostname_or_prefix(n) for n in names))
    found: dict[str, list[Machine]] = {n: [] for n in wanted}
    exact = await _filtered_machines(
        client,
        wanted,
        "computerDnsName eq ''",
        lambda chunk: query.any_equal("computerDnsName", chunk),
        MAX_DEVICES_PER_INDICATOR,
    )
    for machine in exact:
        name = (machine.computer_dns_name or "").lower()
        if name in found:
            found[name].append(machine)
    missing = [n for n in wanted if not found[n]]
    loose: set[str] = set()
    if missing:
        prefixed = await _filtered_machines(
            client,
            missing,
            "startswith(computerDnsName,'')",
            lambda chunk: query.any_prefix("computerDnsName", chunk),
            MAX_DEVICES_PER_INDICATOR,
        )
        for name in missing:
            candidates = [
                m for m in prefixed if (m.computer_dns_name or "").lower().startswith(name)
            ]
            # `ws-fin-042` is the device `ws-fin-042.corp…`, not `ws-fin-0420`: prefer
            # whole-label matches, and fall back to any prefix only when there are none.
            whole = [m for m in candidates if _name_matches(m, name)]
            found[name] = (whole or candidates)[:MAX_DEVICES_PER_INDICATOR]
            if candidates and not whole:
                loose.add(name)
    return found, loose


async def devices_by_ids(client: MdeClient, ids: Sequence[str]) -> list[Machine]:
    wanted = list(dict.fromkeys(query.machine_id(i) for i in ids))
    if not wanted:
        return []
    return await _filtered_machines(
        client, wanted, "id eq ''", lambda chunk: query.any_equal("id", chunk), 1
    )


async def device(client: MdeClient, key: str) -> Machine:
    """One device by id or computer name; `MdeNotFound` if MDE does not know it."""
    try:
        valid = query.machine_id(key)
    except InputError:
        valid = query.hostname(key)
    body = await client.get(f"/machines/{segment(valid)}")
    return _one(client, Machine, body)


async def device_alerts(client: MdeClient, machine_id: str) -> list[Alert]:
    rows = await client.collect(
        f"/machines/{segment(query.machine_id(machine_id))}/alerts",
        limit=MAX_ALERTS_PER_DEVICE,
    )
    return _alerts(rows)


# ---------------------------------------------------------------------- alerts


async def alerts_by_ids(client: MdeClient, ids: Sequence[str]) -> list[Alert]:
    wanted = list(dict.fromkeys(query.alert_id(i) for i in ids))
    alerts: list[Alert] = []
    for chunk in query.chunks_for_filter(wanted, len("id eq ''")):
        rows = await client.collect(
            "/alerts",
            {"$filter": query.any_equal("id", chunk), "$expand": "evidence"},
            limit=len(chunk),
        )
        alerts.extend(_alerts(rows))
    return alerts


async def ip_alerts(client: MdeClient, ip: str) -> list[Alert]:
    body = await client.get(f"/ips/{segment(query.ip(ip))}/alerts")
    return _alerts(_values(body, MAX_ALERTS_PER_INDICATOR))


async def domain_alerts(client: MdeClient, domain: str) -> list[Alert]:
    body = await client.get(f"/domains/{segment(query.hostname(domain))}/alerts")
    return _alerts(_values(body, MAX_ALERTS_PER_INDICATOR))


async def domain_devices(client: MdeClient, domain: str) -> list[Machine]:
    body = await client.get(f"/domains/{segment(query.hostname(domain))}/machines")
    return _machines(_values(body, MAX_DEVICES_PER_INDICATOR))


async def alerts_with_file_name(client: MdeClient, name: str) -> list[Alert]:
    """Alerts of the last `EVIDENCE_SCAN_WINDOW` whose evidence names the file (no hunting)."""
    wanted = query.file_name(name).lower()
    since = (datetime.now(UTC) - EVIDENCE_SCAN_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = await client.collect(
        "/alerts",
        {"$filter": f"alertCreationTime ge {since}", "$expand": "evidence"},
        limit=EVIDENCE_SCAN_LIMIT,
        page_size=500,
    )
    alerts = _alerts(rows)
    return [a for a in alerts if _names_file(a, wanted)][:MAX_ALERTS_PER_INDICATOR]


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
        body = await client.get(f"/files/{value}")
    except MdeNotFound:
        return None
    return _one(client, FileInfo, body)


async def file_alerts(client: MdeClient, sha1: str) -> list[Alert]:
    value = _sha1(sha1)
    body = await client.get(f"/files/{value}/alerts")
    return _alerts(_values(body, MAX_ALERTS_PER_INDICATOR))


async def file_devices(client: MdeClient, sha1: str) -> list[Machine]:
    value = _sha1(sha1)
    body = await client.get(f"/files/{value}/machines")
    return _machines(_values(body, MAX_DEVICES_PER_INDICATOR))


def _sha1(value: str) -> str:
    kind, normal = query.file_hash(value)
    if kind != "sha1":
        raise InputError("this MDE endpoint takes SHA-1 only")
    return normal


# ---------------------------------------------------------------------- hunting


async def _hunt(client: MdeClient, hunt: Hunt, value: str) -> list[dict[str, Any]]:
    body = await client.hunt(hunting.render(hunt, value))
    return list(_one(client, HuntingResult, body).results)


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
