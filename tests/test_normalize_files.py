"""File profiles (docs/ocsf-mapping.md §5): a file is signed when MDE names a signer, an issuer
or a signer hash, whatever the certificate's validity ("signed, invalid certificate", never
"unsigned"); a profile is a File Query event (5007), valid for OCSF 1.5.0 and 1.8.0, with the
signature in the attribute each version has."""

from __future__ import annotations

from typing import Any

import pytest

from bot import ocsf
from bot.demo.simulator.data import load_doc_example
from bot.mde import normalize
from bot.mde.models import Alert, FileInfo
from tests.ocsf_validation import SCHEMA_VERSIONS, object_errors, ocsf_errors

PROFILE: dict[str, Any] = load_doc_example("get-file-information.response.json")
DOC_ALERT: dict[str, Any] = load_doc_example("alerts.response.json")


def profile(**changes: Any) -> FileInfo:
    return FileInfo.model_validate(PROFILE | changes)


@pytest.mark.parametrize(
    ("changes", "signature"),
    [
        ({}, {"algorithm_id": 4, "state_id": 99, "state": "Invalid certificate"}),  # as documented
        (
            {"signer": None, "issuer": None, "isValidCertificate": False},  # a signer hash alone
            {"algorithm_id": 4, "state_id": 99, "state": "Invalid certificate"},
        ),
        ({"isValidCertificate": True}, {"algorithm_id": 4, "state_id": 1, "state": "Valid"}),
        ({"isValidCertificate": None}, {"algorithm_id": 4}),  # signed, validity not said
        ({"isPeFile": False, "isValidCertificate": True}, {"algorithm_id": 0, "state_id": 1}),
        ({"signer": None, "issuer": None, "signerHash": None}, None),  # unsigned
    ],
    ids=[
        "invalid-certificate",
        "signer-hash-only",
        "valid",
        "validity-unknown",
        "not-pe",
        "unsigned",
    ],
)
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_signature(changes: dict[str, Any], signature: dict[str, Any] | None, version: str) -> None:
    file = ocsf.to_json(normalize.file_from_info(profile(**changes), version=version))
    spelled = file.get("signatures", [None])[0] if version >= "1.8" else file.get("signature")
    assert ("signature" in file, "signatures" in file) == (
        (False, signature is not None) if version >= "1.8" else (signature is not None, False)
    )
    got = {k: v for k, v in (spelled or {}).items() if k in (signature or {})} or None
    assert got == signature
    assert object_errors(file, "file", version) == []


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_a_profile_is_a_file_query_event(version: str) -> None:
    event = normalize.file_event(profile(), version=version)
    data = ocsf.to_json(event)
    assert ocsf_errors(data) == []
    assert (data["class_uid"], data["activity_id"], data["type_uid"]) == (5007, 1, 500701)
    assert (data["query_result_id"], data["query_result"]) == (1, "Exists")
    assert data["time"] == 1578283161322  # globalLastObserved
    assert data["metadata"]["original_time"] == "2020-01-06T03:59:21.3229314Z"
    assert data["message"] == (
        "MDE file 4388963aaa83afe2042a46a3c017ad50bdcdafb3: PUA:Win32/FusionCore"
    )
    assert data["file"]["company_name"] == "CHENGDU YIWO Tech Development Co., Ltd."
    assert data["unmapped"] == {
        "globalPrevalence": 180022,
        "globalFirstObserved": "2017-09-19T03:51:27.6785431Z",
        "globalLastObserved": "2020-01-06T03:59:21.3229314Z",
        "fileType": "APP",
        "isPeFile": True,
        "signer": "CHENGDU YIWO Tech Development Co., Ltd.",
        "issuer": "VeriSign Class 3 Code Signing 2010 CA",
        "signerHash": "6c3245d4a9bc0244d99dff27af259cbbae2e2d16",
        "isValidCertificate": False,
        "determinationType": "Pua",
        "determinationValue": "PUA:Win32/FusionCore",
    }
    # the hashes are observables; the SHA-1 standing in for the name is not a file name
    assert [(o["type_id"], o["value"][:8]) for o in data["observables"]] == [
        (8, "4388963a"),
        (8, "413c58c8"),
    ]


def test_a_clean_profile_says_nothing_of_a_verdict() -> None:
    event = normalize.file_event(profile(determinationType="Unknown", determinationValue=None))
    assert event.message == "MDE file 4388963aaa83afe2042a46a3c017ad50bdcdafb3"
    dated = normalize.file_event(profile(), time=1_700_000_000_000)
    assert (dated.time, dated.metadata.original_time) == (1_700_000_000_000, None)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_a_matched_profile_signs_the_evidence_file(version: str) -> None:
    """The evidence file whose hash a profile matches carries the profile's signature."""
    sha1 = DOC_ALERT["evidence"][2]["sha1"]
    info = profile(sha1=sha1, sha256=None, isValidCertificate=False)
    finding = normalize.finding_from_alert(
        Alert.model_validate(DOC_ALERT), portal_url="https://x", files=[info], version=version
    )
    data = ocsf.to_json(finding)
    file = data["evidences"][2]["file"]
    signature = file["signatures"][0] if version >= "1.8" else file["signature"]
    assert (signature["state_id"], signature["state"]) == (99, "Invalid certificate")
    assert ocsf_errors(data) == []


@pytest.mark.parametrize(
    ("event_version", "target"),
    [("1.8.0", "1.5.0"), ("1.5.0", "1.8.0"), ("1.8.0", "1.8.0")],
)
def test_retarget_an_event_to_another_version(event_version: str, target: str) -> None:
    """An event built for one version, as the other: signature spelling, observable types."""
    event = ocsf.to_json(normalize.file_event(profile(), version=event_version))
    event["observables"].append({"type_id": 47, "name": "device.uid", "value": "d1"})
    moved = ocsf.retarget(event, target)
    assert moved["metadata"]["version"] == target
    assert ("signatures" in moved["file"]) is (target >= "1.8")
    assert (47 in {o["type_id"] for o in moved["observables"]}) is (target >= "1.6")
    assert ocsf_errors(moved) == []
    assert event["metadata"]["version"] == event_version  # the original is left as it was
