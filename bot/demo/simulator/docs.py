"""Microsoft's documented examples (`mde_docs/`) as simulator rows, so that every documented
request answers with the documented values.

Where two examples describe the same thing differently, one wins and the other fills gaps:
- device `1e5bc9d7…` is `get-machine-by-id` (which `get-machines` repeats), plus the fields only
  `get-alert-related-machine-info` shows (`deviceValue`, `ipAddresses`);
- alert `636688558380765161_2136280442` has no documented body; it is built here so that its
  files, IPs, domains, user and machine answer as the sub-resource examples show;
- the machine actions of `get-machineactions-collection` and `get-machineaction-object` are kept
  verbatim (finished, on devices the tenant does not have), `lastUpdateTimeUtc` spelling and all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from bot.demo.simulator.rows import (
    FileHashes,
    Row,
    alert_row,
    evidence,
    file_profile,
    hex_digest,
)
from bot.demo.simulator.seed import lease

DOC_MACHINE_ID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
DOC_FIND_MACHINE_ID = "04c99d46599f078f1c3da3783cf5b95f01ac61bb"
DOC_ALERT_ID = "da637472900382838869_1364969609"
DOC_LIST_ALERT_ID = "da637308392288907382_-880718168"
DOC_RELATED_ALERT_ID = "636688558380765161_2136280442"
DOC_FILE_SHA1 = "4388963aaa83afe2042a46a3c017ad50bdcdafb3"
DOC_STATS_SHA1 = "0991a395da64e1c5fbe8732ed11e6be064081d9f"
DOC_STATS_IP = "10.209.67.177"


def load_doc_example(name: str) -> Any:
    """One of Microsoft's documented example payloads shipped with the simulator."""
    text = resources.files("bot.demo.simulator").joinpath("mde_docs", name).read_text("utf-8")
    return json.loads(text)


def strip(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "@odata.context"}


@dataclass
class DocRows:
    machines: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    files: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)
    ip_history: list[Row] = field(default_factory=list)
    file_stats: dict[str, Row] = field(default_factory=dict)
    ip_stats: dict[str, Row] = field(default_factory=dict)
    hunting: dict[str, Row] = field(default_factory=dict)  # documented query → response
    machine_actions: list[Row] = field(default_factory=list)  # finished, newest first


def _generated_profile(sha1: str, sha256: str, name: str, publisher: str | None) -> Row:
    return file_profile(
        FileHashes(sha1, sha256, hex_digest(f"md5:{sha1}", 32)),
        size=73_216 if publisher else 12_288,
        prevalence=1_000_000 if publisher else 12,
        first_observed="2015-07-10T03:12:41.2270000Z",
        last_observed="2021-01-26T20:31:33.0000000Z",
        publisher=publisher,
        product="Microsoft® Windows® Operating System" if publisher else None,
        signer="Microsoft Windows" if publisher else None,
        issuer="Microsoft Windows Production PCA 2011" if publisher else None,
        valid_certificate=publisher is not None,
        determination="Unknown" if publisher else "Malware",
        determination_value=None if publisher else f"Trojan:Win32/{name.split('.')[0].title()}",
    )


def doc_rows(tenant_id: str) -> DocRows:
    """Every documented device, alert, file, user, statistic and hunting answer."""
    rows = DocRows()
    machine = strip(load_doc_example("get-machine-by-id.response.json"))
    related_machine = load_doc_example("get-alert-related-machine-info.response.json")
    machine.update({k: v for k, v in related_machine.items() if k not in machine})
    found = load_doc_example("find-machine-info-by-ip.response.json")["value"][0]
    rows.machines = [machine, found]
    rows.ip_history = [
        lease(
            machine["id"],
            machine["lastIpAddress"],
            datetime.fromisoformat(machine["firstSeen"]),
            None,
        ),
        # The legacy `machines/find` example: this device held 10.166.93.61 on 2018-06-19.
        lease(
            found["id"],
            "10.166.93.61",
            datetime.fromisoformat(found["firstSeen"]),
            datetime.fromisoformat("2018-07-01T00:00:00Z"),
        ),
    ]

    single = strip(load_doc_example("alerts.response.json"))
    listed = load_doc_example("get-alerts.response.json")["value"][0]
    rows.alerts = [single, listed, _related_alert(machine, tenant_id)]

    rows.files = [
        strip(load_doc_example("get-file-information.response.json")),
        load_doc_example("get-alert-related-files-info.response.json")["value"][0],
        _generated_profile(
            "ff836cfb1af40252bd2a2ea843032e99a5b262ed",
            "a4752c71d81afd3d5865d24ddb11a6b0c615062fcc448d24050c2172d2cbccd6",
            "rundll32.exe",
            "Microsoft Corporation",
        ),
        _generated_profile(
            "8563f95b2f8a284fc99da44500cd51a77c1ff36c",
            "dc0ade0c95d6db98882bc8fa6707e64353cd6f7767ff48d6a81a6c2aef21c608",
            "suspicious.dll",
            None,
        ),
        _generated_profile(
            DOC_STATS_SHA1, hex_digest(f"sha256:{DOC_STATS_SHA1}", 64), "MREC.exe", "Microsoft"
        ),
    ]
    rows.users = [strip(load_doc_example("get-alert-related-user-info.response.json"))]
    stats = strip(load_doc_example("get-file-statistics.response.json"))
    rows.file_stats = {stats["sha1"]: stats}
    ip_stats = strip(load_doc_example("get-ip-statistics.response.json"))
    rows.ip_stats = {ip_stats["ipAddress"]: ip_stats}
    rows.hunting = {_documented_query(): load_doc_example("run-advanced-query-api.response.json")}
    listed_actions = load_doc_example("get-machineactions-collection.response.json")["value"]
    rows.machine_actions = [
        strip(load_doc_example("get-machineaction-object.response.json")),
        *listed_actions,
    ]
    return rows


def _documented_query() -> str:
    return (
        "DeviceProcessEvents |where InitiatingProcessFileName =~ 'powershell.exe' "
        "|where ProcessCommandLine contains 'appdata'"
        "|project Timestamp, FileName, InitiatingProcessFileName, DeviceId|limit 2"
    )


def _related_alert(machine: Row, tenant_id: str) -> Row:
    """The alert the sub-resource examples (files, ips, domains, user, machine) describe."""
    created = "2018-08-03T01:17:18.0765161Z"
    file = load_doc_example("get-alert-related-files-info.response.json")["value"][0]
    user = load_doc_example("get-alert-related-user-info.response.json")
    ips = [v["id"] for v in load_doc_example("get-alert-related-ip-info.response.json")["value"]]
    hosts = [
        v["host"] for v in load_doc_example("get-alert-related-domain-info.response.json")["value"]
    ]
    items = [
        evidence(
            "User",
            created,
            accountName=user["accountName"],
            domainName=user["accountDomain"],
            userSid=user["accountSid"],
        ),
        evidence(
            "File",
            created,
            sha1=file["sha1"],
            sha256=file["sha256"],
            fileName="wmiprvse.exe",
            filePath="C:\\Windows\\System32\\wbem",
            detectionStatus="Detected",
        ),
        *(evidence("Ip", created, ipAddress=ip) for ip in ips),
        *(evidence("Url", created, url=f"http://{host}/") for host in hosts),
    ]
    return alert_row(
        DOC_RELATED_ALERT_ID,
        machine,
        tenant_id=tenant_id,
        title="Suspicious WMI process connected to the internet",
        severity="Medium",
        category="CommandAndControl",
        created=created,
        incidentId=1126,
        relatedUser={"userName": user["accountName"], "domainName": user["accountDomain"]},
        evidence=items,
    )
