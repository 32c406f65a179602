"""The MDE models read what MDE sends: every documented example with its values intact, and the
shapes real answers take (a list as one object or `{}`, nulls for lists, wire names in another
case, numbers as text, times in every ISO form), keeping each time's text as sent."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bot.demo.simulator.data import load_doc_example
from bot.mde.models import Alert, FileInfo, HuntingResult, Machine, Signing, WireTime


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
    """Dumped back to JSON, every scalar of the example is what MDE sent (times included)."""
    for row in values(name):
        dumped = model.model_validate(row).model_dump(by_alias=True, mode="json")
        for key, value in row.items():
            if key in dumped and isinstance(value, str | int | bool):
                assert str(dumped[key]) == str(value), key


def test_seven_fractional_digits_and_evidence_survive() -> None:
    alert = Alert.model_validate(load_doc_example("alerts.response.json"))
    assert alert.alert_creation_time == datetime(2021, 1, 26, 20, 33, 57, 722023, tzinfo=UTC)
    assert isinstance(alert.alert_creation_time, WireTime)
    assert alert.alert_creation_time.raw == "2021-01-26T20:33:57.7220239Z"
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
    assert by_id.rbac_group_id == "140"  # a JSON number, though machine.md says String
    assert by_id.is_aad_joined is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-01-26T20:33:57.7220239Z", datetime(2021, 1, 26, 20, 33, 57, 722023, tzinfo=UTC)),
        ("2021-01-26T20:33:57Z", datetime(2021, 1, 26, 20, 33, 57, tzinfo=UTC)),
        ("2021-01-26T20:33:57", datetime(2021, 1, 26, 20, 33, 57, tzinfo=UTC)),  # naive = UTC
        ("2021-01-26 20:33:57.5+02:00", datetime(2021, 1, 26, 18, 33, 57, 500000, tzinfo=UTC)),
        ("2021-01-26T20:33:57.1234567-05:30", datetime(2021, 1, 27, 2, 3, 57, 123456, tzinfo=UTC)),
        (" 2021-01-26T20:33:57Z ", datetime(2021, 1, 26, 20, 33, 57, tzinfo=UTC)),
        ("2021-01-26t20:33:57.5z", datetime(2021, 1, 26, 20, 33, 57, 500000, tzinfo=UTC)),
        ("2021-01-26T20:33:57.123+0000", datetime(2021, 1, 26, 20, 33, 57, 123000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),  # MDE's "never"
        ("1970-01-01T00:00:00Z", None),
        (None, None),
    ],
)
def test_times_in_every_iso_form_keep_their_text(text: str | None, expected: Any) -> None:
    alert = Alert.model_validate({"id": "a1", "alertCreationTime": text})
    assert alert.alert_creation_time == expected
    if expected is not None:
        assert alert.alert_creation_time is not None
        assert alert.alert_creation_time.raw == text
        dumped = alert.model_dump(by_alias=True, mode="json")
        assert dumped["alertCreationTime"] == text  # back to JSON exactly as sent


@pytest.mark.parametrize("text", ["yesterday", "", 1611693237, [2021], {"t": 1}])
def test_what_is_no_time_is_refused(text: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Alert.model_validate({"id": "a1", "alertCreationTime": text})
    assert [e["loc"] for e in caught.value.errors()] == [("alertCreationTime",)]


def test_copies_keep_the_wire_text() -> None:
    alert = Alert.model_validate({"id": "a", "alertCreationTime": "2021-01-26T20:33:57.7220239Z"})
    for copied in (copy.deepcopy(alert), pickle.loads(pickle.dumps(alert))):  # noqa: S301 - ours
        assert copied.alert_creation_time is not None
        assert copied.alert_creation_time.raw == "2021-01-26T20:33:57.7220239Z"
    moved = WireTime.parse(datetime(2021, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert moved is not None
    assert moved.raw == "2021-01-01T01:00:00+01:00"


@pytest.mark.parametrize(
    ("field", "sent", "read"),
    [
        ("evidence", {}, ()),
        ("evidence", None, ()),
        ("mitreTechniques", None, ()),
        ("mitreTechniques", "T1059", ("T1059",)),
        ("comments", [], ()),
        ("alertIps", ["1.2.3.4"], ("1.2.3.4",)),
        ("alertIPs", [{"ipAddress": "1.2.3.4"}], ("1.2.3.4",)),
        ("AlertIps", {"id": "1.2.3.4"}, ("1.2.3.4",)),
    ],
)
def test_lists_as_mde_sends_them(field: str, sent: Any, read: tuple[Any, ...]) -> None:
    """`{}`, `null`, a lone object or string: each reads as the list it stands for."""
    alert = Alert.model_validate({"id": "a1", field: sent})
    got = {
        "evidence": alert.evidence,
        "mitreTechniques": alert.mitre_techniques,
        "comments": alert.comments,
    }.get(field, tuple(ip.ip_address for ip in alert.alert_ips))
    assert got == read


def test_one_evidence_object_is_a_list_of_one() -> None:
    alert = Alert.model_validate(
        {"id": "a1", "evidence": {"entityType": "Ip", "ipAddress": "1.2.3.4"}}
    )
    assert [(e.entity_type, e.ip_address) for e in alert.evidence] == [("Ip", "1.2.3.4")]


def test_wire_names_in_any_case_and_numbers_as_text() -> None:
    machine = Machine.model_validate(
        {
            "ID": "m1",
            "ComputerDnsName": "ws-1.contoso.com",
            "osbuild": "19044",  # text where a number is expected
            "rbacGroupId": 7,  # a number where text is expected
            "isExcluded": "false",
            "vmMetadata": [],  # an empty list for an object
            "machineTags": None,
        }
    )
    assert (machine.id, machine.computer_dns_name) == ("m1", "ws-1.contoso.com")
    assert (machine.os_build, machine.rbac_group_id, machine.is_excluded) == (19044, "7", False)
    assert (machine.vm_metadata, machine.machine_tags) == (None, ())
    exact = Machine.model_validate({"id": "m1", "osBuild": 1, "OSBUILD": 2})
    assert exact.os_build == 1  # the exact spelling wins


def test_older_alert_shape_and_user_spellings() -> None:
    alert = Alert.model_validate(
        {
            "id": "da1",
            "alertFiles": [{"sha1": "a" * 40, "fileName": "x.exe", "filePath": "C:\\t\\x.exe"}],
            "alertDomains": ["evil.example", {"host": "c2.example"}],
            "alertUser": {"accountName": "bob", "accountDomain": "CONTOSO", "accountSid": "S-1"},
            "domains": [{"host": "other.example"}],
        }
    )
    assert alert.alert_files[0].file_path == "C:\\t\\x.exe"
    assert [d.host for d in (*alert.alert_domains, *alert.domains)] == [
        "evil.example",
        "c2.example",
        "other.example",
    ]
    assert alert.alert_user is not None
    user = alert.alert_user
    assert (user.account_name, user.domain_name, user.user_sid) == ("bob", "CONTOSO", "S-1")


def test_evidence_keeps_fields_mde_adds() -> None:
    alert = Alert.model_validate(
        {"id": "a1", "evidence": [{"entityType": "MailMessage", "mailboxAddress": "a@b.example"}]}
    )
    dumped = alert.evidence[0].model_dump(by_alias=True, exclude_none=True)
    assert dumped == {"entityType": "MailMessage", "mailboxAddress": "a@b.example"}


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"computerDnsName": "x"}, "id"),
        ({"id": "  "}, "id"),
        ({"id": None}, "id"),
    ],
)
def test_a_machine_needs_an_id(row: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Machine.model_validate(row)
    assert caught.value.errors()[0]["loc"] == (problem,)


def test_a_file_profile_needs_a_hash() -> None:
    with pytest.raises(ValidationError, match="sha1, sha256 or md5"):
        FileInfo.model_validate({"size": 10, "signer": "Contoso"})
    assert FileInfo.model_validate({"md5": "8d5b7cc9a832e21d22503057e1fec8e9"}).md5


@pytest.mark.parametrize(
    ("profile", "signing"),
    [
        ({"signer": "Microsoft", "isValidCertificate": True}, Signing.VALID),
        ({"signerHash": "6c3245d4a9bc0244d99dff27af259cbbae2e2d16"}, Signing.SIGNED),
        (
            {"signerHash": "6c3245d4a9bc0244d99dff27af259cbbae2e2d16", "isValidCertificate": False},
            Signing.INVALID_CERTIFICATE,  # a signer hash, no signer name: signed all the same
        ),
        ({"issuer": "VeriSign", "isValidCertificate": False}, Signing.INVALID_CERTIFICATE),
        ({"isPeFile": True, "isValidCertificate": False}, Signing.UNSIGNED),
        ({"isPeFile": True, "signer": "", "signerHash": None}, Signing.UNSIGNED),
        ({"isPeFile": False}, Signing.UNKNOWN),
        ({}, Signing.UNKNOWN),
    ],
)
def test_signing(profile: dict[str, Any], signing: Signing) -> None:
    info = FileInfo.model_validate({"sha1": "4388963aaa83afe2042a46a3c017ad50bdcdafb3", **profile})
    assert info.signing is signing


def test_documented_profile_with_an_invalid_certificate_is_signed() -> None:
    info = FileInfo.model_validate(load_doc_example("get-file-information.response.json"))
    assert info.signing is Signing.INVALID_CERTIFICATE


def test_hunting_result_parses() -> None:
    result = HuntingResult.model_validate(load_doc_example("run-advanced-query-api.response.json"))
    assert [c.name for c in result.schema_] == [
        "Timestamp",
        "FileName",
        "InitiatingProcessFileName",
        "DeviceId",
    ]
    assert result.results[0]["FileName"] == "csc.exe"
