"""Machine endpoints: list and filter, `$count`, one device by id or computer name, the
devices that used a local IP at a moment (`findbyip`, and the legacy `find`), and adding or
removing a device tag (`POST machines/{id}/tags`, answered with the machine).

`findbyip` answers from each device's IP leases (`Tenant.ip_history`): a device matches when it
held the IP at any time within ±15 minutes of the timestamp. A timestamp more than 30 days before
the real clock is refused with 400, as MDE keeps 30 days. The legacy `find(timestamp=,key=)` has
no such limit (its documented example is from 2018) and answers 404 when nothing matches.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.api import CTX, MACHINE_FIELDS, MACHINE_READ, BadInput, Endpoint
from bot.demo.simulator.data import Row, Tenant

WINDOW = timedelta(minutes=15)
LOOKBACK = timedelta(days=30)
_ARG = re.compile(r"\s*([A-Za-z]+)\s*=\s*('(?:[^']|'')*'|[^,']*?)\s*(,|$)")


def find_machine(tenant: Tenant, key: str) -> Row | None:
    """A device by its 40-hex id or its computer name (case-insensitive)."""
    key = key.strip().lower()
    if not key:
        return None
    return next(
        (
            m
            for m in tenant.machines
            if m["id"] == key or str(m.get("computerDnsName") or "").lower() == key
        ),
        None,
    )


def target_machine(request: web.Request) -> tuple[api.Ctx, Row]:
    """The device `{id}` names (an id or a computer name), else 404."""
    return api.target(request, "Machine", lambda ctx, key: find_machine(ctx.tenant, key))


def parse_call(text: str) -> dict[str, str]:
    """`ip='10.1.2.3',timestamp=2019-09-22T08:44:05Z` → {"ip": ..., "timestamp": ...}."""
    args: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _ARG.match(text, pos)
        if match is None or match.end() == pos:
            raise BadInput("InvalidInput", f"Cannot parse the function arguments '{text}'")
        raw = match.group(2).strip()
        if raw.startswith("'"):
            raw = raw[1:-1].replace("''", "'")
        args[match.group(1)] = raw
        pos = match.end()
        if not match.group(3):
            break
    if pos < len(text):
        raise BadInput("InvalidInput", f"Cannot parse the function arguments '{text}'")
    return args


def parse_timestamp(value: str | None) -> datetime:
    if not value:
        raise BadInput("InvalidInput", "The 'timestamp' parameter is required")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput("InvalidInput", f"Invalid timestamp '{value}'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _holders(tenant: Tenant, ip: str, moment: datetime) -> list[Row]:
    wanted: list[str] = []
    for entry in tenant.ip_history:
        end = entry["end"]
        if (
            entry["ipAddress"] == ip
            and entry["start"] <= moment + WINDOW
            and (end is None or end >= moment - WINDOW)
            and entry["machineId"] not in wanted
        ):
            wanted.append(entry["machineId"])
    by_id = {m["id"]: m for m in tenant.machines}
    return [by_id[mid] for mid in wanted if mid in by_id]


async def machines(request: web.Request) -> web.Response:
    rows = api.filtered(request, request[CTX].tenant.machines, MACHINE_FIELDS)
    return api.page(request, rows, "Machines")


async def machines_count(request: web.Request) -> web.Response:
    return api.count(api.filtered(request, request[CTX].tenant.machines, MACHINE_FIELDS))


async def machine(request: web.Request) -> web.Response:
    ctx, found = target_machine(request)
    return api.entity(ctx, found, "Machines")


async def findbyip(request: web.Request) -> web.Response:
    ctx = request[CTX]
    call = request.match_info["call"]
    args = parse_call(call[len("findbyip(") : -1])
    if "ip" not in args:
        raise BadInput("InvalidInput", "The 'ip' parameter is required")
    ip = api.ip_address(args["ip"])
    moment = parse_timestamp(args.get("timestamp"))
    if moment < datetime.now(UTC) - LOOKBACK:
        raise BadInput("InvalidInput", "The timestamp must be within the last 30 days")
    return api.values(ctx, _holders(ctx.tenant, ip, moment), "Machines")


async def find_legacy(request: web.Request) -> web.Response:
    ctx = request[CTX]
    call = request.match_info["call"]
    args = parse_call(call[len("find(") : -1])
    ip = api.ip_address(args.get("key", ""))
    holders = _holders(ctx.tenant, ip, parse_timestamp(args.get("timestamp")))
    if not holders:
        return api.not_found("Machine with IP", ip)
    return api.values(ctx, holders, "Machines")


MAX_TAG_LENGTH = 200  # our bound: MDE documents none


async def machine_tags(request: web.Request) -> web.Response:
    """`{"Value": tag, "Action": "Add"|"Remove"}`: 200 with the machine as it now is. Adding a
    tag it has, or removing one it has not, changes nothing (tags compare case-insensitively)."""
    ctx, found = target_machine(request)
    body = await api.json_body(request, ("Value", "Action"))
    tag = str(api.text_field(body, "Value")).strip()
    action = api.choice_field(body, "Action", ("Add", "Remove"))
    if len(tag) > MAX_TAG_LENGTH:
        raise BadInput("InvalidRequestBody", f"A tag has at most {MAX_TAG_LENGTH} characters")
    have = list(found.get("machineTags") or ())
    others = [t for t in have if t.lower() != tag.lower()]
    has_it = len(others) < len(have)
    tags = others if action == "Remove" else (have if has_it else [*have, tag])
    updated = {**found, "machineTags": tags}
    api.replace_row(ctx.tenant.machines, found, updated)
    return api.entity(ctx, updated, "Machines")


# The function-call routes come before `/machines/{id}`, which would match them too.
ENDPOINTS = (
    Endpoint("machines", "GET", "/machines", machines, MACHINE_READ),
    Endpoint("machines_count", "GET", "/machines/$count", machines_count, MACHINE_READ),
    Endpoint("findbyip", "GET", r"/machines/{call:findbyip\(.*\)}", findbyip, MACHINE_READ),
    Endpoint("machines_find", "GET", r"/machines/{call:find\(.*\)}", find_legacy, MACHINE_READ),
    Endpoint("machine", "GET", "/machines/{id}", machine, MACHINE_READ),
    Endpoint(
        "machine_tags", "POST", "/machines/{id}/tags", machine_tags, ("Machine.ReadWrite.All",)
    ),
)
