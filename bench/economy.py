"""Section 3, API economy: the MDE calls one lookup costs, per indicator kind, with a cold cache
and again with a warm one (`/mde <indicator>`), and the device step of a message with 20 host
names (the exact-name and prefix queries on /machines, batched per message).

Calls are counted where MDE would count them: at the simulator, every API call (hunting apart),
token requests excluded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Figure, SectionResult, World, open_world, seeded_pool
from bot.demo.simulator import data

SECTION = "3 API economy"
SETTLE = 30.0
KINDS: dict[str, str] = {
    "internal IP": data.DEMO_IP,
    "shared IP (4 devices)": data.SHARED_IP,
    "public IP (hunting)": data.DEMO_EXTERNAL_IP,
    "host name (FQDN)": data.DEMO_HOST,
    "host name (short)": "ws-fin-017",
    "host prefix": f"host {data.HOST_PREFIX}",
    "SHA-256": data.DEMO_SHA256,
    "SHA-1": data.DEMO_SHA1,
    "MD5 (hunting)": data.DEMO_MD5,
    "file name (hunting)": data.DEMO_FILE,
    "domain": data.DEMO_DOMAIN,
    "URL": data.DEMO_URL,
    "unknown IP": "10.99.99.99",
}
DEVICE_STEP_TARGET = 2
HOSTS = 20


async def _cost(world: World, text: str) -> dict[str, Any]:
    """The MDE calls `/mde text` made, by endpoint."""
    world.simulator.reset_counters()
    sent = await world.command(text)
    if not await world.settle([sent.key], SETTLE):
        raise RuntimeError(f"/mde {text}: no answer within {SETTLE:g} s")
    calls = dict(world.simulator.calls)
    return {
        "calls": calls.get("*", 0),
        "hunting": calls.get("hunting", 0),
        "by_endpoint": {k: v for k, v in calls.items() if k != "*"},
    }


def twenty_hosts() -> list[str]:
    """20 host names from the seeded tenant: 10 short names, 10 fully qualified."""
    pool = seeded_pool()
    short = [h for h in pool.hosts if not h.startswith("ws-fin-")][:10]
    full = [f for f in pool.fqdns if f.split(".")[0] not in short][:10]
    return short + full


async def measure(quick: bool) -> SectionResult:
    del quick  # every kind is one lookup: the quick run is the same
    result = SectionResult()
    rows: dict[str, dict[str, Any]] = {}
    async with open_world(wide=True) as world:
        for label, text in KINDS.items():
            await world.bot.cold()
            cold = await _cost(world, text)
            warm = await _cost(world, text)
            rows[label] = {"text": text, "cold": cold, "warm": warm}
        await world.bot.cold()
        world.simulator.reset_counters()
        hosts = twenty_hosts()
        sent = await world.message("Which of these are still online? " + " ".join(hosts))
        if not await world.settle([sent.key], SETTLE):
            raise RuntimeError("the 20-host message got no card")
        calls = dict(world.simulator.calls)
        result.bot_log = world.bot.log.as_dict()
    result.details["kinds"] = rows
    warm_total = sum(r["warm"]["calls"] for r in rows.values())
    warm_kinds = [k for k, r in rows.items() if r["warm"]["calls"]]
    result.add(
        Figure(
            SECTION,
            f"MDE calls on a warm cache, all {len(rows)} kinds together",
            warm_total,
            target="0",
            passed=warm_total == 0,
            absolute="kinds with calls: " + (", ".join(warm_kinds) or "none"),
        )
    )
    cold_total = sum(r["cold"]["calls"] for r in rows.values())
    result.add(
        Figure(
            SECTION,
            f"MDE calls on a cold cache, all {len(rows)} kinds together",
            cold_total,
            absolute="per kind: see the table below",
        )
    )
    device_step = calls.get("machines", 0)
    result.details["twenty_hosts"] = {"hosts": hosts, "by_endpoint": calls}
    result.add(
        Figure(
            SECTION,
            f"{HOSTS} host names in one message: calls for the device step",
            device_step,
            target=f"≤ {DEVICE_STEP_TARGET}",
            passed=device_step <= DEVICE_STEP_TARGET,
            absolute=(
                f"{calls.get('*', 0)} calls in all, {calls.get('machine_alerts', 0)} of them for "
                "the alerts of the devices shown"
            ),
        )
    )
    result.markdown = _table(rows)
    return result


def _table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "MDE calls per lookup (`/mde <indicator>`), cold cache → warm cache:",
        "",
        "| kind | cold | of which hunting | warm | cold calls by endpoint |",
        "|---|---|---|---|---|",
    ]
    for label, row in rows.items():
        cold, warm = row["cold"], row["warm"]
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(cold["by_endpoint"].items()))
        lines.append(
            f"| {label} | {cold['calls']} | {cold['hunting']} | {warm['calls']} | {endpoints} |"
        )
    return "\n".join(lines)


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
