"""`bot.mde.records`: one odd field never costs the whole record. Each case is a real MDE shape
with one thing wrong; the record is read without exactly that field, which is named, and a
record is unreadable only when it is no object or has nothing to identify it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.demo.simulator.data import load_doc_example
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.records import Parsed, RowProblem, Unreadable, parse_record, parse_rows

ALERT = load_doc_example("alerts.response.json")
MACHINE = load_doc_example("get-alert-related-machine-info.response.json")
FILE = load_doc_example("get-file-information.response.json")


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return copy.deepcopy(base) | changes


def _evidence(*items: Any) -> list[Any]:
    return [copy.deepcopy(ALERT["evidence"][i]) if isinstance(i, int) else i for i in items]


PARTLY_READABLE = [
    pytest.param(
        Alert,
        _with(ALERT, evidence=_evidence(0, None, "File", 2)),
        ("evidence[1]", "evidence[2]"),
        id="nulls-and-strings-in-the-evidence-list",
    ),
    pytest.param(
        Alert,
        _with(ALERT, evidence=_evidence(0, {**ALERT["evidence"][1], "processId": "n/a"}, 2)),
        ("evidence[1].processId",),
        id="process-id-not-a-number",
    ),
    pytest.param(
        Alert,
        _with(ALERT, relatedUser="temp123", incidentId={"id": 1126093}),
        ("incidentId", "relatedUser"),
        id="objects-and-numbers-of-the-wrong-type",
    ),
    pytest.param(
        Alert,
        _with(ALERT, lastUpdateTime="soon", comments=[{"comment": "x", "createdTime": 5}]),
        ("comments[0].createdTime", "lastUpdateTime"),
        id="times-that-are-no-times",
    ),
    pytest.param(
        Alert,
        _with(ALERT, evidence={**ALERT["evidence"][1], "parentProcessId": [8420]}),
        ("evidence.parentProcessId",),
        id="one-evidence-object-with-a-bad-field",
    ),
    pytest.param(
        Machine,
        _with(MACHINE, ipAddresses=[*MACHINE["ipAddresses"], "eth0", {"ipAddress": ["10.0.0.1"]}]),
        ("ipAddresses[2]", "ipAddresses[3].ipAddress"),
        id="interfaces-that-are-no-interfaces",
    ),
    pytest.param(
        Machine,
        _with(MACHINE, machineTags=["Tag1", None, ["x"]], osBuild="19042.1", lastSeen=False),
        ("lastSeen", "machineTags[1]", "machineTags[2]", "osBuild"),
        id="tags-build-and-last-seen",
    ),
    pytest.param(
        FileInfo,
        _with(FILE, size="22 MB", isPeFile="maybe", globalPrevalence=None),
        ("isPeFile", "size"),
        id="file-size-as-text",
    ),
]


@pytest.mark.parametrize(("model", "raw", "dropped"), PARTLY_READABLE)
def test_an_odd_field_costs_that_field_only(
    model: type[BaseModel], raw: dict[str, Any], dropped: tuple[str, ...]
) -> None:
    before = copy.deepcopy(raw)
    outcome = parse_record(model, raw)
    assert isinstance(outcome, Parsed)
    assert outcome.dropped == dropped
    assert outcome.partly_readable
    assert raw == before  # the caller's data is left as it was
    # every other top-level value is read as sent
    kept = outcome.record.model_dump(by_alias=True, mode="json")
    touched = {d.split(".")[0].split("[")[0] for d in dropped}
    for name, value in raw.items():
        if name in kept and name not in touched and isinstance(value, str | int | bool):
            assert kept[name] == value, name


def test_a_record_read_whole_drops_nothing() -> None:
    outcome = parse_record(Alert, ALERT)
    assert isinstance(outcome, Parsed)
    assert (outcome.dropped, outcome.partly_readable) == ((), False)
    assert outcome.record == Alert.model_validate(ALERT)


def test_evidence_without_anything_usable_is_kept_as_an_item() -> None:
    """An evidence item whose every field is odd is still an item (it says MDE had one)."""
    raw = _with(ALERT, evidence=[{"entityType": ["File"], "processId": {}}])
    outcome = parse_record(Alert, raw)
    assert isinstance(outcome, Parsed)
    assert outcome.dropped == ("evidence[0].entityType", "evidence[0].processId")
    assert len(outcome.record.evidence) == 1


UNREADABLE = [
    pytest.param(Alert, [ALERT], "not a JSON object but an array", id="an-array"),
    pytest.param(Alert, "da637472900382838869_1364969609", "not a JSON object but a string"),
    pytest.param(Alert, None, "not a JSON object but null", id="null"),
    pytest.param(Machine, 42, "not a JSON object but a number", id="a-number"),
    pytest.param(Alert, {k: v for k, v in ALERT.items() if k != "id"}, "no id", id="no-id"),
    pytest.param(Machine, _with(MACHINE, id=""), "no id", id="empty-id"),
    pytest.param(Machine, _with(MACHINE, id={"value": "x"}), "no id", id="id-an-object"),
    pytest.param(
        FileInfo,
        {k: v for k, v in FILE.items() if k not in {"sha1", "sha256"}},
        "a file profile needs a sha1, sha256 or md5",
        id="file-without-hash",
    ),
]


@pytest.mark.parametrize(("model", "raw", "reason"), UNREADABLE)
def test_unreadable_records_say_why(model: type[BaseModel], raw: Any, reason: str) -> None:
    assert parse_record(model, raw) == Unreadable(reason)


def test_rows_count_both_kinds_and_keep_the_order() -> None:
    rows: list[Any] = [
        MACHINE,
        _with(MACHINE, id="m2", osBuild="n/a"),
        "not a machine",
        _with(MACHINE, id="m4"),
        {"computerDnsName": "no-id"},
    ]
    parsed = parse_rows(Machine, rows)
    assert [m.id for m in parsed.records] == [MACHINE["id"], "m2", "m4"]
    assert parsed.problems == (
        RowProblem(1, dropped=("osBuild",)),
        RowProblem(2, reason="not a JSON object but a string"),
        RowProblem(4, reason="no id"),
    )
    assert (parsed.partly_readable, parsed.unreadable) == (1, 2)
    assert parsed.summary("devices") == (
        "1 of 5 devices was only partly readable; 2 could not be read"
    )


@pytest.mark.parametrize(
    ("rows", "summary"),
    [
        ([ALERT, ALERT], None),
        ([ALERT, _with(ALERT, incidentId="x")], "1 of 2 alerts was only partly readable"),
        (
            [_with(ALERT, incidentId="x"), _with(ALERT, investigationId=[])],
            "2 of 2 alerts were only partly readable",
        ),
        ([ALERT, [ALERT]], "1 of 2 alerts could not be read"),
    ],
    ids=["whole", "one-partly", "two-partly", "one-unreadable"],
)
def test_summary_wording(rows: list[Any], summary: str | None) -> None:
    assert parse_rows(Alert, rows).summary("alerts") == summary


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_alert_keys = st.sampled_from(
    (
        *("id", "evidence", "alertFiles", "relatedUser", "alertCreationTime", "mitreTechniques"),
        *("severity", "incidentId", "comments", "alertUser", "domains", "loggedOnUsers"),
    )
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_alert_keys, _json, max_size=6), st.sampled_from([Alert, Machine]))
def test_any_json_is_read_or_refused_never_raised(raw: dict[str, Any], model: Any) -> None:
    outcome = parse_record(model, raw)
    if isinstance(outcome, Parsed):
        assert isinstance(outcome.record, model)
        json.dumps(outcome.record.model_dump(mode="json"))  # what was read is plain data
    else:
        assert outcome.reason


def test_records_is_pure() -> None:
    code = (
        "import sys, json, bot.mde.records\n"
        "print(json.dumps(sorted(m for m in ('aiohttp','msal','requests','slack_sdk',"
        "'structlog','bot.settings') if m in sys.modules)))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
