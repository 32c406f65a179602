"""Section 2, end to end: a pasted message with 1, 10 and 50 mixed indicators, the simulator
answering every MDE call after L = 100 ms. Measured: from the event POST leaving the load
generator to the threaded card reaching the Slack stand-in, with cold caches, as a ratio to the
floor: the message's longest chain of dependent MDE calls times L.

The chains, read from `bot/enrichment/lookup.py` (`ConnectorLookup`) and `bot/mde/lookups.py`; every
chain ends with the alerts of the devices found (`_finish`), which waits for all the rest:

    internal IP   devices (batched) + IP alerts                → device alerts         2
    public IP     hunting (PublicIP) → devices by id           → device alerts         3
    host name     exact (batched) → prefix, if any name missed → device alerts         3 (2 if
                                                                         every name was exact)
    SHA-256       file profile → file alerts + file machines   → device alerts         3
    SHA-1         profile + file alerts + file machines        → device alerts         2
    MD5           hunting → profile + alerts + machines        → device alerts         3
    file name     hunting → alerts by id                                               2
    domain / URL  domain alerts + domain machines              → device alerts         2

The budget is set out of the way on both sides (section 4 measures it): a message's own calls
would otherwise queue behind MDE's 100 a minute, and that is not what this section times.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence

from bench.common import (
    Figure,
    SectionResult,
    World,
    ms,
    open_world,
    rounded,
    seeded_pool,
)
from bot.demo.simulator import data
from bot.indicators import Indicator, IndicatorType, extract
from bot.mde import query

SECTION = "2 end to end"
LATENCY = 0.100
TARGET = 1.2
REPEATS = 5
QUICK_REPEATS = 2
SETTLE = 60.0
INTERNAL = ("corp.contoso.com",)  # as in bench.common.BASE_SETTINGS
SHORT_HOST = "ws-fin-017"  # a short name: the exact filter misses it, the prefix finds it

TEN = (
    data.DEMO_IP,
    data.SHARED_IP,
    data.DEMO_EXTERNAL_IP,
    data.DEMO_HOST,
    SHORT_HOST,
    data.DEMO_SHA256,
    data.DEMO_SHA1,
    data.DEMO_MD5,
    data.DEMO_FILE,
    data.DEMO_DOMAIN,
)
SINGLES = {
    "internal IP": data.DEMO_IP,
    "public IP": data.DEMO_EXTERNAL_IP,
    "host name (FQDN)": data.DEMO_HOST,
    "host name (short)": SHORT_HOST,
    "SHA-256": data.DEMO_SHA256,
    "SHA-1": data.DEMO_SHA1,
    "MD5": data.DEMO_MD5,
    "file name": data.DEMO_FILE,
    "domain": data.DEMO_DOMAIN,
    "URL": data.DEMO_URL,
}


def fifty() -> tuple[str, ...]:
    """The ten above, the demo URL, and 39 more from the seeded tenant's rows."""
    pool = seeded_pool()
    more = (
        *pool.ips[10:20],
        *pool.hosts[30:34],
        *pool.fqdns[40:44],
        *pool.sha256s[5:11],
        *pool.sha1s[12:16],
        *pool.md5s[16:20],
        *[d for d in pool.domains if d != data.DEMO_DOMAIN][:4],
        *[f for f in pool.file_names if f != data.DEMO_FILE][:3],
    )
    values = tuple(dict.fromkeys((*TEN, data.DEMO_URL, *more)))
    return values[:50]


def _chain(indicator: Indicator) -> int:
    kind = indicator.type
    if kind in (IndicatorType.IPV4, IndicatorType.IPV6):
        return 2 if query.is_internal_ip(indicator.value) else 3
    if kind is IndicatorType.HOSTNAME:
        return 2 if "." in indicator.value else 3  # a short name misses the exact filter
    if kind in (IndicatorType.SHA256, IndicatorType.MD5):
        return 3
    return 2  # SHA-1, file name, domain, URL on a name


def chain(indicators: Sequence[Indicator]) -> int:
    return max((_chain(i) for i in indicators), default=1)


def message_text(values: Sequence[str]) -> str:
    return "Seen in the incident so far: " + ", ".join(values)


async def _once(world: World, text: str) -> tuple[float, int]:
    """Seconds from the POST to the card, and the MDE calls it took, with cold caches."""
    await world.bot.cold()
    world.simulator.reset_counters()
    sent = await world.message(text)
    if not await world.settle([sent.key], SETTLE):
        raise RuntimeError(f"no card within {SETTLE:g} s")
    final = world.final(sent.key)
    assert final is not None
    return final.at - sent.sent, world.simulator.calls["*"]


async def measure(quick: bool) -> SectionResult:
    result = SectionResult()
    repeats = QUICK_REPEATS if quick else REPEATS
    messages = {1: (data.DEMO_IP,), 10: TEN, 50: fifty()}
    async with open_world(latency=LATENCY, wide=True) as world:
        singles = {}
        for label, value in SINGLES.items():
            indicators = extract(value, internal_suffixes=INTERNAL).indicators
            runs = [await _once(world, message_text([value])) for _ in range(repeats - quick)]
            elapsed = statistics.median(r[0] for r in runs)
            floor = chain(indicators) * LATENCY
            singles[label] = {
                "chain": chain(indicators),
                "median_s": rounded(elapsed, 4),
                "ratio": rounded(elapsed / floor, 3),
                "calls": runs[0][1],
            }
        result.details["single_kinds"] = singles
        for size, values in messages.items():
            text = message_text(values)
            indicators = extract(text, internal_suffixes=INTERNAL).indicators
            if len(indicators) != size:
                raise RuntimeError(f"the {size}-indicator message extracts {len(indicators)}")
            runs = [await _once(world, text) for _ in range(repeats)]
            times = [r[0] for r in runs]
            floor = chain(indicators) * LATENCY
            median = statistics.median(times)
            result.details[str(size)] = {
                "chain": chain(indicators),
                "floor_s": floor,
                "seconds": [rounded(t, 4) for t in times],
                "mde_calls": [r[1] for r in runs],
                "kinds": sorted({i.type.value for i in indicators}),
            }
            result.add(
                Figure(
                    SECTION,
                    f"{size} indicator{'s' if size > 1 else ''}: card time ÷ floor",
                    rounded(median / floor, 2),
                    target=f"≤ {TARGET}x",
                    passed=median / floor <= TARGET,
                    absolute=(
                        f"median {ms(median)}, worst {ms(max(times))}; floor "
                        f"{chain(indicators)} calls x {ms(LATENCY)}; {runs[0][1]} MDE calls"
                    ),
                )
            )
        result.bot_log = world.bot.log.as_dict()
    result.markdown = _singles_table(singles)
    return result


def _singles_table(singles: dict[str, dict[str, float]]) -> str:
    lines = [
        "One indicator of each kind (pasted message, cold cache, median):",
        "",
        "| kind | chain | card time ÷ floor | card time (abs.) | MDE calls |",
        "|---|---|---|---|---|",
    ]
    for label, row in singles.items():
        lines.append(
            f"| {label} | {row['chain']} | {row['ratio']}x | {ms(row['median_s'])} "
            f"| {row['calls']} |"
        )
    return "\n".join(lines)


def run(quick: bool = False) -> SectionResult:
    return asyncio.run(measure(quick))
