"""Values behind buttons, in the process and shared on a real Redis: what one replica puts,
another gets, as the same value, until its TTL; a value written in another format version
reads as unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from bot.enrichment.results import Report
from bot.render import report_message
from bot.slack.payloads import Audience
from bot.slack.services import REPORT_CODEC, PostedReport
from bot.state.link import RedisLink
from bot.state.store import Codec, KeyValue, LocalKeyValue, RedisKeyValue
from tests.reports import IP, alert, connector, device_result, machine

Links = Callable[..., RedisLink]


class Finding(BaseModel):
    uid: str
    severity_id: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Posted:
    """Shaped like the reports behind cards: a dataclass holding pydantic models."""

    findings: tuple[Finding, ...]
    channel: str | None
    reader: str | None = None


POSTED = Posted(
    (Finding(uid="a1", severity_id=4, tags=("x",)), Finding(uid="a2", severity_id=1)), "C1"
)
CODEC = Codec.of(Posted)


@pytest.fixture(params=["local", "redis"])
def store(request: pytest.FixtureRequest, redis_links: Links) -> KeyValue[Posted]:
    if request.param == "local":
        return LocalKeyValue()
    return RedisKeyValue(redis_links(), "reports", CODEC)


async def test_a_value_put_is_got_back_until_its_ttl(store: KeyValue[Posted]) -> None:
    await store.put("r1", POSTED, 0.3)
    assert await store.get("r1") == POSTED
    assert await store.get("r2") is None
    await asyncio.sleep(0.4)
    assert await store.get("r1") is None


async def test_what_one_replica_puts_another_gets(redis_links: Links) -> None:
    one, other = (RedisKeyValue(redis_links(), "reports", CODEC) for _ in range(2))
    await one.put("r1", POSTED, 60)
    assert await other.get("r1") == POSTED


def test_the_codec_writes_versioned_json_and_reads_it_back() -> None:
    raw = CODEC.encode(POSTED)
    assert raw.startswith(b'{"v":1,"data":{"findings":[{"uid":"a1"')
    assert CODEC.decode(raw) == POSTED


async def test_a_value_of_another_version_reads_as_unknown(redis_links: Links) -> None:
    """A replica on a newer format (a rolling restart) does not misread the old one's values:
    the card has expired, for it, rather than showing something wrong."""
    link = redis_links()
    await RedisKeyValue(link, "reports", CODEC).put("r1", POSTED, 60)
    newer = RedisKeyValue(link, "reports", Codec.of(Posted, version=2))
    assert await newer.get("r1") is None


async def test_an_unreadable_value_reads_as_unknown(redis_links: Links) -> None:
    link = redis_links()
    await link.client.set("test:kv:reports:r1", b'{"v":1,"data":{"findings":"nope"}}')
    assert await RedisKeyValue(link, "reports", CODEC).get("r1") is None


async def test_values_expire_in_redis(redis_links: Links) -> None:
    link = redis_links()
    await RedisKeyValue(link, "reports", CODEC).put("r1", POSTED, 60)
    assert 0 < await link.client.pttl("test:kv:reports:r1") <= 60_000


async def test_the_local_store_keeps_at_most_its_bound() -> None:
    store: LocalKeyValue[int] = LocalKeyValue(max_entries=3)
    for n in range(5):
        await store.put(f"k{n}", n, 60)
    assert len(store) == 3
    assert await store.get("k0") is None
    assert await store.get("k4") == 4


def test_a_posted_report_reads_back_as_it_was_written_excluded_fields_too() -> None:
    """A device's `unmapped` and `current` are kept out of OCSF output (`exclude=True`) but
    shape its card: the report codec writes them, so a card opened on another replica renders
    as on the one that posted it."""
    found = device_result(machine(1), [alert(1), alert(2)])
    device = found.device.model_copy(update={"current": ("ip",)})
    found = type(found)(device, found.findings, found.matched)
    report = Report((IP,), (connector(devices=(found,)),), at=1_700_000_000_000)
    posted = PostedReport(report, Audience("C1", "U1"))
    assert device.unmapped  # the normalizer keeps MDE's own fields there

    back = REPORT_CODEC.decode(REPORT_CODEC.encode(posted))

    assert back == posted
    assert back.report.connectors[0].devices[0].device.unmapped == device.unmapped
    assert report_message(back.report, report_id="r") == report_message(report, report_id="r")
