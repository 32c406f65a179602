"""Every documented MDE example payload parses into our models, field values intact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from bot.mde.models import Alert, FileInfo, HuntingResult, Machine
from bot.simulator.data import load_doc_example


def values(name: str) -> list[dict[str, Any]]:
    body = load_doc_example(name)
    return body.get("value", [body])


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("get-machines.response.json", Machine),
        ("get-machine-by-id.response.json", Machine),
        ("get-alert-related-machine-info.response.json", Machine),
        ("find-machine-info-by-ip.response.json", Machine),
        ("alerts.response.json", Alert),
        ("get-alerts.response.json", Alert),
        ("get-alerts.response.2.json", Alert),
        ("get-file-information.response.json", FileInfo),
        ("files.representation.json", FileInfo),
        ("get-alert-related-files-info.response.json", FileInfo),
    ],
)
def test_documented_example_parses(name: str, model: type[BaseModel]) -> None:
    for row in values(name):
        parsed = model.model_validate(row)
        dumped = parsed.model_dump(by_alias=True)
        for key, value in row.items():
            if key in dumped and isinstance(value, str | int | bool):
                assert str(dumped[key]) == str(value) or isinstance(dumped[key], datetime), key


def test_seven_fractional_digits_and_evidence_survive() -> None:
    alert = Alert.model_validate(load_doc_example("alerts.response.json"))
    assert alert.alert_creation_time == datetime(2021, 1, 26, 20, 33, 57, 722023, tzinfo=UTC)
    assert [e.entity_type for e in alert.evidence] == ["User", "Process", "File"]
    assert alert.evidence[2].sha1 == "8563f95b2f8a284fc99da44500cd51a77c1ff36c"
    assert alert.mitre_techniques == ("T1064", "T1085", "T1220")


def test_machine_quirks_as_documented() -> None:
    machine = Machine.model_validate(
        load_doc_example("get-alert-related-machine-info.response.json")
    )
    assert machine.rbac_group_id is None  # that example has none
    assert [i.mac_address for i in machine.ip_addresses] == ["8CEC4B897E73", "8CEC4B897E73"]
    by_id = Machine.model_validate(load_doc_example("get-machine-by-id.response.json"))
    assert by_id.rbac_group_id == 140  # a JSON number, though machine.md says String
    assert by_id.is_aad_joined is True


def test_hunting_result_parses() -> None:
    result = HuntingResult.model_validate(load_doc_example("run-advanced-query-api.response.json"))
    assert [c.name for c in result.schema_] == [
        "Timestamp",
        "FileName",
        "InitiatingProcessFileName",
        "DeviceId",
    ]
    assert result.results[0]["FileName"] == "csc.exe"
