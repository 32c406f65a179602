"""`mde-bot normalize`: MDE API JSON in (a file or stdin; one entity, an array, an OData page,
or several), one valid OCSF event a line out; records it cannot read at all named on stderr
with their index and why, and exit 1; partly readable records written and named, exit 0."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli.normalize import Options, detect_kind, normalize_command
from bot.demo.simulator.data import load_doc_example
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors
from tests.test_normalize_messy import ALERTS, FILES, MACHINES, MESSY

NOW = 1_709_290_000_000  # when the tests "ran"
MACHINE = load_doc_example("get-machine-by-id.response.json")
ALERT = load_doc_example("alerts.response.json")
PROFILE = load_doc_example("get-file-information.response.json")


def run(text: str, **options: Any) -> tuple[int, list[dict[str, Any]], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    status = normalize_command(text, out, err, options=Options(**options), now=NOW)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    return status, events, err.getvalue().splitlines()


def classes(events: list[dict[str, Any]]) -> list[int]:
    return [e["class_uid"] for e in events]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(json.dumps(MACHINE), [5001], id="one-entity"),
        pytest.param(json.dumps([MACHINE, ALERT, PROFILE]), [5001, 2004, 5007], id="an-array"),
        pytest.param(json.dumps(ALERTS), [2004] * 4, id="an-odata-page"),
        pytest.param(
            "\n".join(json.dumps(r) for r in (MACHINE, ALERT, PROFILE)) + "\n",
            [5001, 2004, 5007],
            id="json-lines",
        ),
        pytest.param(
            json.dumps(MACHINES, indent=2) + json.dumps(ALERTS),
            [5001] * 4 + [2004] * 4,
            id="pages-one-after-the-other",
        ),
        pytest.param(json.dumps(MESSY), [5001] * 4 + [2004] * 4 + [5007] * 2, id="nested"),
        pytest.param("\ufeff" + json.dumps(MACHINE), [5001], id="byte-order-mark"),
        pytest.param("", [], id="nothing"),
        pytest.param(json.dumps({"value": []}), [], id="an-empty-page"),
    ],
)
def test_input_shapes(text: str, expected: list[int]) -> None:
    status, events, errors = run(text)
    assert classes(events) == expected
    assert status == 0
    assert not [e for e in errors if "dropped," in e]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("legacy", [False, True])
def test_the_messy_corpus_is_read_whole_and_valid(version: str, legacy: bool) -> None:
    status, events, errors = run(json.dumps(MESSY), version=version, legacy=legacy)
    assert status == 0
    alerts = len(ALERTS["value"])
    assert len(events) == len(MACHINES["value"]) + alerts * (2 if legacy else 1) + len(FILES)
    assert [(e, errs) for e in events if (errs := ocsf_errors(e))] == []
    assert {e["metadata"]["version"] for e in events} == {version}
    assert errors == [
        "mde-bot normalize: record 3: partly readable, left out osBuild",
        "mde-bot normalize: record 4: partly readable, left out loggedOnUsers[1]",
        "mde-bot normalize: record 6: partly readable, left out evidence[0], evidence[1], "
        "evidence[5].processId",
        f"mde-bot normalize: 10 records, {len(events)} events, 3 partly readable, 0 dropped",
    ]


def test_unreadable_records_are_named_with_their_index_and_dropped() -> None:
    text = json.dumps(
        {
            "@odata.context": "https://api.security.microsoft.com/api/$metadata#Alerts",
            "value": [ALERT, "da637472900382838869", {"title": "no id"}, None, ALERT],
        }
    )
    status, events, errors = run(text)
    assert status == 1
    assert classes(events) == [2004, 2004]  # the readable ones are still written
    assert errors == [
        "mde-bot normalize: record 1: dropped, not a JSON object but a string",
        "mde-bot normalize: record 2: dropped, alert: no id",
        "mde-bot normalize: record 3: dropped, not a JSON object but null",
        "mde-bot normalize: 5 records, 2 events, 0 partly readable, 3 dropped",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (json.dumps(load_doc_example("common-errors.error.json")), "an MDE error answer"),
        (json.dumps(load_doc_example("get-alert-related-user-info.response.json")), "a user,"),
        (json.dumps(load_doc_example("machineaction.representation.json")), "a machine action"),
        (json.dumps(load_doc_example("get-ip-statistics.response.json")), "not a machine"),
        (json.dumps(ALERT)[:-40], "not JSON at line 1"),
    ],
    ids=["error-answer", "user", "machine-action", "ip-statistics", "broken-json"],
)
def test_what_is_no_machine_alert_or_file_is_dropped(text: str, reason: str) -> None:
    status, events, errors = run(text)
    assert (status, events) == (1, [])
    assert reason in errors[0]
    assert errors[0].startswith("mde-bot normalize: record 0: dropped, ")


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (json.dumps(ALERT)[:50], "not JSON at line 2, column 43 (Unterminated string"),
        ("[" * 100_000, "not JSON at line 2, column 1 (nested too deep)"),
    ],
    ids=["cut-short", "nested-too-deep"],
)
def test_broken_json_keeps_what_came_before(tail: str, reason: str) -> None:
    status, events, errors = run(json.dumps(MACHINE) + "\n" + tail)
    assert (status, classes(events)) == (1, [5001])
    assert errors[0].startswith(f"mde-bot normalize: record 1: dropped, {reason}")


def test_nan_and_infinity_read_as_null() -> None:
    """Not JSON, but some exporters write them: never written back out."""
    text = json.dumps(MACHINE).replace('"riskScore": "Low"', '"riskScore": NaN')
    status, events, _ = run(text.replace('"osBuild": 18209', '"osBuild": Infinity'))
    assert status == 0
    assert "risk_level_id" not in events[0]["device"]
    assert "build" not in events[0]["device"]["os"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("get-machines.response.json", "machine"),
        ("get-machine-by-id.response.json", "machine"),
        ("get-alert-related-machine-info.response.json", "machine"),  # no @odata.context
        ("find-machine-info-by-ip.response.json", "machine"),  # four fields only
        ("alerts.response.json", "alert"),
        ("get-alerts.response.json", "alert"),
        ("get-alerts.response.2.json", "alert"),
        ("files.representation.json", "file"),
        ("get-file-information.response.json", "file"),
        ("get-alert-related-files-info.response.json", "file"),
    ],
)
def test_every_documented_answer_is_read_as_its_kind(name: str, kind: str) -> None:
    body = load_doc_example(name)
    expected = {"machine": 5001, "alert": 2004, "file": 5007}[kind]
    status, events, errors = run(json.dumps(body))
    assert (status, errors) == (0, [])
    assert set(classes(events)) == {expected}
    for row in body.get("value", [body]):  # also without the page's @odata.context
        assert detect_kind({k: v for k, v in row.items() if k != "@odata.context"}) == kind


@pytest.mark.parametrize(
    ("record", "hint", "kind"),
    [
        ({"id": "x", "computerDnsName": "h"}, None, None),  # fields of both: not told
        ({"id": "x", "computerDnsName": "h"}, "machine", "machine"),  # the page tells
        ({"id": "x", "computerDnsName": "h", "severity": "High"}, "machine", "alert"),
        ({"ID": "x", "AlertCreationTime": "2024-01-01T00:00:00Z"}, None, "alert"),  # any case
        ({"sha1": "a" * 40}, None, "file"),
        ({"id": "1.2.3.4"}, None, None),
    ],
)
def test_kind_detection(record: dict[str, Any], hint: str | None, kind: str | None) -> None:
    assert detect_kind(record, hint) == kind


@pytest.mark.parametrize(
    ("context", "kind"),
    [
        ("https://api.security.microsoft.com/api/$metadata#Machines", "machine"),
        ("https://api.security.microsoft.com/api/$metadata#Machines/$entity", "machine"),
        ("https://api.securitycenter.microsoft.com/api/$metadata#AlertEntitySetName", "alert"),
        ("https://api.securitycenter.microsoft.com/api/$metadata#MachineEntitySetName", "machine"),
        ("https://api.security.microsoft.com/api/$metadata#Files/$entity", "file"),
        ("https://api.security.microsoft.com/api/$metadata#MachineActions", "machine action"),
        ("https://api.securitycenter.microsoft.com/api/$metadata#Users/$entity", "user"),
        ("https://x/api/$metadata#microsoft.windowsDefenderATP.api.InOrgFileStats", None),
    ],
)
def test_the_page_context_names_the_kind(context: str, kind: str | None) -> None:
    page = {"@odata.context": context, "value": [{"id": "x"}]}
    status, _, errors = run(json.dumps(page))
    if kind in {"machine", "alert"}:
        assert (status, errors) == (0, [])
    else:
        assert status == 1
        assert (kind or "not a machine") in errors[0]


def test_kind_given_reads_what_detection_would_not() -> None:
    bare = {"id": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "computerDnsName": "ws-1"}
    assert run(json.dumps(bare))[0] == 1
    status, events, _ = run(json.dumps(bare), kind="machine")
    assert (status, classes(events)) == (0, [5001])
    assert events[0]["device"]["hostname"] == "ws-1"


def test_events_are_logged_now_and_dated_by_their_record() -> None:
    no_time = {"id": "a1", "title": "no time at all"}
    _, events, _ = run(json.dumps([ALERT, no_time]), kind="alert")
    assert [e["metadata"]["logged_time"] for e in events] == [NOW, NOW]
    assert events[0]["time"] == 1611693237722  # alertCreationTime
    assert events[0]["metadata"]["original_time"] == "2021-01-26T20:33:57.7220239Z"
    assert events[1]["time"] == NOW  # nothing better


# --- as a user runs it --------------------------------------------------------------------


def mde_bot(*args: str, stdin: bytes = b"", cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDE_", "SLACK_", "BOT_"))}
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(Path(sys.executable).with_name("mde-bot")), "normalize", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def test_a_file_from_powershell_and_stdin(tmp_path: Path) -> None:
    """PowerShell's `> alerts.json` writes UTF-16 with a BOM; stdin works as a pipe."""
    exported = tmp_path / "alerts.json"
    exported.write_bytes(json.dumps(ALERTS).encode("utf-16"))
    done = mde_bot(str(exported), "--ocsf-version", "1.5.0", "--legacy", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert classes(events) == [2004, 2001] * 4  # each alert, then its legacy finding
    assert all(ocsf_errors(e) == [] for e in events)
    piped = mde_bot("--kind", "machine", stdin=json.dumps(MACHINE).encode(), cwd=tmp_path)
    assert (piped.returncode, piped.stderr) == (0, b"")
    assert json.loads(piped.stdout)["class_uid"] == 5001


def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = mde_bot("missing.json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        "mde-bot: cannot read missing.json: No such file or directory"
    )
    assert done.stdout == b""
