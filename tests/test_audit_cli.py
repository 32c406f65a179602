"""`mde-bot audit`: lists the trail as JSON Lines anyone can re-hash, CSV with a fixed header
(spreadsheet formulas defused) or OCSF events that validate; `--since` by time; `--verify`
exits 0 when the chain is intact, 1 when it is broken (or an anchor disagrees), 2 when there is
no trail to read; the database comes from --database, else AUDIT_DATABASE / DATABASE_URL."""

from __future__ import annotations

import asyncio
import csv
import functools
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.audit.chain import Head
from bot.audit.export import CSV_HEADER
from bot.audit.records import Actor, AuditKind, AuditRecord, Detail, Place
from bot.audit.store import AuditStore
from bot.cli.audit import Options, audit_command, parse_since
from bot.errors import InputError
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors
from tests.test_audit_store import START, Clock, unprotected


@pytest.fixture(autouse=True)
def no_database_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUDIT_DATABASE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def trail(tmp_path: Path) -> tuple[str, list[AuditRecord]]:
    """A trail of five records, one a second from START+1, the third with hostile text."""
    url = str(tmp_path / "audit.sqlite3")
    async with await AuditStore.open(url, clock=Clock()) as store:
        records = [
            await store.append(
                AuditKind.ACTION_REQUESTED,
                actor=Actor("U0001", "T0001"),
                place=Place("C0001", "1700000000.000100"),
                tenants=["contoso", "fabrikam"],
                subject='=HYPERLINK("http://x")' if i == 3 else f"dev-{i}",
                details={Detail.ACTION: "Isolate", Detail.REQUEST_ID: f"r{i}"},
            )
            for i in range(1, 6)
        ]
    return url, records


async def run(options: Options) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    status = await audit_command(options, out, err)
    return status, out.getvalue().splitlines(), err.getvalue()


async def test_jsonl_is_each_record_as_hashed_with_its_hash(
    trail: tuple[str, list[AuditRecord]],
) -> None:
    url, records = trail
    status, lines, _ = await run(Options(database=url))
    assert status == 0
    exported = [json.loads(line) for line in lines]
    assert [e["hash"] for e in exported] == [r.hash for r in records]
    previous = "0" * 64
    for item in exported:  # re-hashed with nothing but the standard library
        own = item.pop("hash")
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha256(canonical.encode()).hexdigest() == own
        assert item["prev_hash"] == previous
        previous = own


async def test_csv_has_a_fixed_header_and_defuses_formulas(
    trail: tuple[str, list[AuditRecord]],
) -> None:
    url, records = trail
    status, lines, _ = await run(Options(database=url, fmt="csv"))
    assert status == 0
    rows = list(csv.reader(lines))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 1 + len(records)
    third = dict(zip(CSV_HEADER, rows[3], strict=True))
    assert third["subject"] == '\'=HYPERLINK("http://x")'
    assert third["tenants"] == "contoso;fabrikam"
    assert json.loads(third["details"]) == {"action": "Isolate", "request_id": "r3"}
    assert (third["seq"], third["hash"]) == ("3", records[2].hash)
    assert third["time"] == "2023-11-14T22:13:23.000000Z"


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
async def test_ocsf_lines_validate(trail: tuple[str, list[AuditRecord]], version: str) -> None:
    url, _ = trail
    status, lines, _ = await run(Options(database=url, fmt="ocsf", version=version))
    events = [json.loads(line) for line in lines]
    assert status == 0
    assert [e["class_uid"] for e in events] == [7001] * 5
    assert [error for e in events for error in ocsf_errors(e, version)] == []


async def test_since_lists_the_records_from_then_on(trail: tuple[str, list[AuditRecord]]) -> None:
    url, _ = trail
    since = datetime.fromtimestamp(START + 4, tz=UTC)
    _, lines, _ = await run(Options(database=url, since=since))
    assert [json.loads(line)["seq"] for line in lines] == [4, 5]


async def test_verify_exits_0_when_intact_and_1_when_broken(
    trail: tuple[str, list[AuditRecord]],
) -> None:
    url, records = trail
    status, lines, _ = await run(Options(database=url, verify=True))
    assert status == 0
    assert lines == [
        f"mde-bot audit: {url}: intact: 5 records, last seq 5, hash {records[-1].hash}"
    ]
    async with unprotected(url) as engine, engine.begin() as connection:
        await connection.execute(text("UPDATE audit_records SET subject = 'dev-9' WHERE seq = 2"))
    status, lines, err = await run(Options(database=url, verify=True))
    assert (status, lines) == (1, [])
    assert "broken at seq 2 (changed)" in err


async def test_verify_checks_the_anchors_given(trail: tuple[str, list[AuditRecord]]) -> None:
    url, records = trail
    good, wrong = Head(5, records[-1].hash), Head(9, "d" * 64)
    assert (await run(Options(database=url, verify=True, anchors=(good,))))[0] == 0
    status, _, err = await run(Options(database=url, verify=True, anchors=(good, wrong)))
    assert status == 1
    assert "seq 9 was published" in err


async def test_no_trail_to_read_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    for verify in (False, True):
        status, lines, err = await run(Options(database=str(missing), verify=verify))
        assert (status, lines) == (2, [])
        assert err == f"mde-bot audit: no database at {missing}\n"
    assert not missing.exists()


def mde_bot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The `mde-bot` console script, with only `env` of the database settings."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MDE_", "SLACK_", "BOT_", "AUDIT_", "DATABASE_"))
    }
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(Path(sys.executable).with_name("mde-bot")), "audit", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=kept | env,
        cwd=cwd,
    )


async def test_the_command_reads_the_configured_database(
    trail: tuple[str, list[AuditRecord]], tmp_path: Path
) -> None:
    """`mde-bot audit` itself: AUDIT_DATABASE wins over DATABASE_URL; without either it reads
    ./mde-bot-audit.sqlite3; a bad setting or argument exits 2."""
    url, records = trail
    other = str(tmp_path / "other.sqlite3")
    run_ = functools.partial(asyncio.to_thread, mde_bot, cwd=tmp_path)
    anchor = f"5:{records[-1].hash}"
    intact = await run_("--verify", "--anchor", anchor, AUDIT_DATABASE=url, DATABASE_URL=other)
    assert (intact.returncode, intact.stderr) == (0, "")
    assert "intact: 5 records" in intact.stdout
    await asyncio.to_thread(Path(url).rename, tmp_path / "mde-bot-audit.sqlite3")
    listed = await run_("--format", "csv", "--since", "2023-11-14T22:13:25Z")
    assert (listed.returncode, len(listed.stdout.splitlines())) == (0, 2)  # header, seq 5
    missing = await run_("--database", other)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == f"mde-bot audit: no database at {other}\n"
    unreadable = await run_("--since", "yesterday-ish")
    assert unreadable.returncode == 2
    assert "not a time" in unreadable.stderr
    wrong = await run_(DATABASE_URL="mysql://db/audit")
    assert wrong.returncode == 2
    assert "DATABASE_URL) unsupported database 'mysql'" in wrong.stderr


NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def _since_cases() -> Iterator[tuple[str, datetime]]:
    yield "90m ago", NOW - timedelta(minutes=90)
    yield "2h ago", NOW - timedelta(hours=2)
    yield "3 days ago", NOW - timedelta(days=3)
    yield "2w ago", NOW - timedelta(weeks=2)
    yield "2026-11-27T21:58Z", datetime(2026, 11, 27, 21, 58, tzinfo=UTC)
    yield "2026-11-27 21:58", datetime(2026, 11, 27, 21, 58, tzinfo=UTC)
    yield "2026-11-27T23:58+02:00", datetime(2026, 11, 27, 21, 58, tzinfo=UTC)
    yield "2025-01-01", datetime(2025, 1, 1, tzinfo=UTC)  # older than MDE keeps: fine here


@pytest.mark.parametrize(("given", "expected"), list(_since_cases()))
def test_since_reads_iso_times_and_relative_ones(given: str, expected: datetime) -> None:
    assert parse_since(given, NOW) == expected


def test_since_refuses_what_it_cannot_read() -> None:
    with pytest.raises(InputError, match="not a time"):
        parse_since("last tuesday", NOW)
