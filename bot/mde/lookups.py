"""The lookups, one function per question, built on `MdeClient`: validated input in,
MDE models out. Batched where MDE allows it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.mde import query
from bot.mde.client import MdeClient, segment
from bot.mde.models import Alert, Machine

MAX_DEVICES_PER_INDICATOR = 20
MAX_ALERTS_PER_DEVICE = 50


async def devices_by_ip(client: MdeClient, ips: Sequence[str]) -> dict[str, list[Machine]]:
    """Devices whose last local IP is one of `ips`: one `or` filter per batch, not one call each."""
    wanted = list(dict.fromkeys(query.ip(v) for v in ips))
    found: dict[str, list[Machine]] = {ip: [] for ip in wanted}
    clause = len("lastIpAddress eq ''")
    for chunk in query.chunks_for_filter(wanted, clause):
        rows = await client.collect(
            "/machines",
            {"$filter": query.any_equal("lastIpAddress", chunk)},
            limit=MAX_DEVICES_PER_INDICATOR * len(chunk),
        )
        for row in rows:
            machine = Machine.model_validate(row)
            if machine.last_ip_address in found:
                found[machine.last_ip_address].append(machine)
    return found


async def device_alerts(client: MdeClient, machine_id: str) -> list[Alert]:
    rows = await client.collect(
        f"/machines/{segment(query.machine_id(machine_id))}/alerts",
        limit=MAX_ALERTS_PER_DEVICE,
    )
    return [Alert.model_validate(row) for row in rows]
