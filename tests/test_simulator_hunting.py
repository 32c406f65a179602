"""Advanced hunting on the simulator: exactly the bot's templates are answered, from the seeded
tables and within 30 days of the real clock; anything else is refused. Plus the OData `$filter`
parser, which must refuse (never crash on) whatever it is given."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.demo.simulator import Simulator
from bot.demo.simulator.api import MACHINE_FIELDS
from bot.demo.simulator.data import (
    CONTOSO_TENANT,
    DC_HOST,
    DEMO_EXTERNAL_IP,
    DEMO_FILE,
    DEMO_MD5,
    DEMO_SHA1,
    DEMO_SHA256,
    FABRIKAM_TENANT,
    HOST_PREFIX,
    contoso,
)
from bot.demo.simulator.hunting import ANSWERS
from bot.demo.simulator.odata import ODataError, parse_filter
from bot.demo.simulator.probe import Probe, Reply
from bot.mde.hunting import Hunt, render


@pytest.fixture
async def probe(simulator: Simulator) -> AsyncIterator[Probe]:
    async with Probe.open(simulator) as opened:
        yield opened


async def hunt(probe: Probe, body: Any, tenant: str = CONTOSO_TENANT, **roles: Any) -> Reply:
    return await probe.hunt(body, token=probe.sim.issue_token(tenant, **roles))


async def results(probe: Probe, hunt_: Hunt, value: str, tenant: str = CONTOSO_TENANT) -> Any:
    reply = await hunt(probe, {"Query": render(hunt_, value)}, tenant)
    assert reply.status == 200, reply.text
    body = reply.json()
    projected = re.search(r"\| project ([^|]+)", hunt_.value)
    assert projected is not None
    columns = [c.strip() for c in projected.group(1).split(",")]
    assert [c["Name"] for c in body["Schema"]] == columns
    assert {c["Type"] for c in body["Schema"]} <= {"String", "DateTime"}
    assert all(list(row) == columns for row in body["Results"])
    horizon = datetime.now(UTC) - timedelta(days=30)
    assert all(datetime.fromisoformat(row["Timestamp"]) > horizon for row in body["Results"])
    return body["Results"]


def test_every_template_the_bot_sends_is_answered() -> None:
    assert set(ANSWERS) == set(Hunt)


async def test_devices_behind_an_external_ip(probe: Probe) -> None:
    rows = await results(probe, Hunt.EXTERNAL_IP_DEVICES, DEMO_EXTERNAL_IP)

    assert len(rows) >= 10
    assert all(r["PublicIP"] == DEMO_EXTERNAL_IP for r in rows)
    assert all(str(r["DeviceName"]).startswith((HOST_PREFIX, DC_HOST)) for r in rows)
    assert len({r["DeviceId"] for r in rows}) == len(rows)  # one row per device


async def test_an_md5_resolves_to_its_sha1_and_sha256(probe: Probe) -> None:
    rows = await results(probe, Hunt.MD5_FILES, DEMO_MD5)

    assert len(rows) == 1  # one row per SHA-1: the latest sighting
    assert (rows[0]["SHA1"], rows[0]["SHA256"], rows[0]["MD5"]) == (
        DEMO_SHA1,
        DEMO_SHA256,
        DEMO_MD5,
    )
    assert rows[0]["FileName"] == DEMO_FILE
    assert rows[0]["FolderPath"].endswith("\\" + DEMO_FILE)


async def test_alerts_by_file_name_ignore_case(probe: Probe) -> None:
    rows = await results(probe, Hunt.FILE_NAME_ALERTS, DEMO_FILE.upper())

    assert {r["DeviceName"].split(".")[0] for r in rows} >= {"ws-fin-017", "srv-file01"}
    assert all(r["SHA1"] == DEMO_SHA1 for r in rows)
    assert len({r["AlertId"] for r in rows}) == len(rows)  # one row per alert


async def test_nothing_matching_is_an_empty_result(probe: Probe) -> None:
    assert await results(probe, Hunt.MD5_FILES, "0" * 32) == []
    assert await results(probe, Hunt.FILE_NAME_ALERTS, 'quote"and\\backslash.exe') == []
    assert await results(probe, Hunt.EXTERNAL_IP_DEVICES, DEMO_EXTERNAL_IP, FABRIKAM_TENANT) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Query": "DeviceInfo | take 10"}, "BadRequest"),
        ({"Query": render(Hunt.MD5_FILES, DEMO_MD5) + " | take 1"}, "BadRequest"),
        ({"Query": "   "}, "InvalidRequestBody"),
        ({"Query": 42}, "InvalidRequestBody"),
        ({"query": render(Hunt.MD5_FILES, DEMO_MD5)}, "MissingRequiredParameter"),
        (["Query"], "InvalidRequestBody"),
    ],
)
async def test_anything_but_a_template_is_refused(probe: Probe, body: Any, code: str) -> None:
    reply = await hunt(probe, body)

    assert reply.status == 400
    assert reply.code == code


async def test_a_body_that_is_not_json_is_refused(probe: Probe, simulator: Simulator) -> None:
    reply = await probe.request(
        "POST",
        f"{simulator.api_url}/api/advancedqueries/run",
        headers={"Authorization": f"Bearer {simulator.issue_token(CONTOSO_TENANT)}"},
        data=b"{not json",
    )

    assert (reply.status, reply.code) == (400, "InvalidRequestBody")


async def test_hunting_needs_the_advanced_query_role(probe: Probe) -> None:
    reply = await hunt(probe, {"Query": render(Hunt.MD5_FILES, DEMO_MD5)}, roles=["Alert.Read.All"])

    assert reply.status == 403
    assert "AdvancedQuery.Read.All" in reply.json()["error"]["message"]


# ------------------------------------------------------------------------------------ OData


@given(st.text(max_size=200))
def test_any_filter_text_parses_or_is_an_odata_error(text: str) -> None:
    try:
        predicate = parse_filter(text, MACHINE_FIELDS)
    except ODataError:
        return
    predicate({"id": "x", "lastSeen": "2026-11-27T22:14:05.1234567Z", "machineTags": ["a"]})


_FIELD = st.sampled_from(sorted(MACHINE_FIELDS))
_LITERAL = st.one_of(
    st.text(max_size=10).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.integers(-5, 5).map(str),
    st.sampled_from(["2026-11-27Z", "2026-11-27T22:00:00Z", "true", "null"]),
)
_CLAUSE = st.builds(
    lambda f, op, v: f"{f} {op} {v}", _FIELD, st.sampled_from(["eq", "ne", "gt"]), _LITERAL
)


@given(st.lists(_CLAUSE, min_size=1, max_size=6), st.sampled_from([" and ", " or "]))
def test_well_formed_filters_evaluate_on_real_rows(clauses: list[str], joiner: str) -> None:
    predicate = parse_filter(joiner.join(clauses), MACHINE_FIELDS)

    for row in contoso().machines[:20]:
        with contextlib.suppress(ODataError):  # a date against a number, say: MDE's 400 too
            predicate(row)
