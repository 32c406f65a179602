"""Rows derived from other rows: file hashes and profiles, DeviceFileEvents from evidence, and
the user entities `alerts/{id}/user` answers with. Pure functions over plain rows."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from bot.demo.simulator import catalog
from bot.demo.simulator.catalog import Binary
from bot.demo.simulator.rows import FileHashes, Row, file_profile, iso

_FAMILY = {
    "Windows10": catalog.WINDOWS,
    "Windows11": catalog.WINDOWS,
    "WindowsServer2016": catalog.WINDOWS,
    "WindowsServer2019": catalog.WINDOWS,
    "WindowsServer2022": catalog.WINDOWS,
    "macOS": catalog.MAC,
    "Linux": catalog.LINUX,
    "iOS": catalog.MOBILE,
    "Android": catalog.MOBILE,
}


def hashes_for(binary: Binary, tenant: str) -> FileHashes:
    """System binaries hash alike in every tenant (same OS build); others per tenant."""
    return FileHashes.of(f"system:{binary.name}" if binary.system else f"{tenant}:{binary.name}")


def family_of(machine: Row) -> str:
    return _FAMILY.get(str(machine.get("osPlatform")), catalog.WINDOWS)


def join_path(folder: str, name: str) -> str:
    return f"{folder}{'/' if '/' in folder else chr(92)}{name}"


def profile(binary: Binary, hashes: FileHashes, rng: random.Random, now: datetime) -> Row:
    pe = binary.name.endswith((".exe", ".dll"))
    signer = binary.publisher if binary.system or binary.determination == "Pua" else None
    issuer = None
    if signer == "Microsoft Corporation":
        signer, issuer = "Microsoft Windows", "Microsoft Windows Production PCA 2011"
    elif signer:
        issuer = "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"
    return file_profile(
        hashes,
        size=binary.size,
        prevalence=rng.randint(10**6, 10**9) if binary.system else rng.randint(3, 9_000),
        first_observed=now - timedelta(days=rng.uniform(200, 2_000) if binary.system else 60),
        last_observed=now - timedelta(hours=rng.uniform(1, 30)),
        publisher=binary.publisher,
        product=binary.product,
        signer=signer,
        issuer=issuer,
        valid_certificate=signer is not None,
        determination=binary.determination,
        determination_value=binary.threat,
        pe=pe,
        file_type="APP" if pe and not binary.system else None,
    )


def file_events(alerts: Iterable[Row], md5_of: Mapping[str, str | None]) -> list[Row]:
    """DeviceFileEvents rows for every File and Process evidence that carries a SHA-1."""
    events = []
    for alert in alerts:
        for item in alert.get("evidence") or ():
            sha1 = item.get("sha1")
            if item["entityType"] not in {"File", "Process"} or not sha1:
                continue
            events.append(
                {
                    "Timestamp": item.get("processCreationTime") or item["evidenceCreationTime"],
                    "DeviceId": alert["machineId"],
                    "DeviceName": alert["computerDnsName"],
                    "FileName": item["fileName"],
                    "FolderPath": join_path(str(item["filePath"]), str(item["fileName"])),
                    "SHA1": sha1,
                    "SHA256": item.get("sha256"),
                    "MD5": md5_of.get(sha1),
                }
            )
    return events


def user_profiles(alerts: Iterable[Row], now: datetime) -> list[Row]:
    """`alerts/{id}/user` entities for every account an alert names (relatedUser, or else
    its first User evidence)."""
    seen: dict[str, list[Row]] = defaultdict(list)
    sids: dict[str, str | None] = {}
    for alert in alerts:
        key = user_key(alert)
        if key is None:
            continue
        seen[key].append(alert)
        for item in alert.get("evidence") or ():
            if item["entityType"] == "User" and item.get("userSid"):
                sids.setdefault(key, item["userSid"])
    profiles = []
    for key, related in sorted(seen.items()):
        domain, name = key.split("\\", 1)
        counts: dict[str, int] = defaultdict(int)
        for alert in related:
            counts[str(alert["machineId"])] += 1
        ranked = sorted(counts, key=lambda m: (-counts[m], m))
        latest = max(str(a["alertCreationTime"]) for a in related)
        first = datetime.fromisoformat(min(str(a["alertCreationTime"]) for a in related))
        profiles.append(
            {
                "id": key,
                "accountName": name,
                "accountDomain": domain,
                "accountSid": sids.get(key),
                "firstSeen": iso(min(first, now) - timedelta(days=90)),
                "lastSeen": latest,
                "mostPrevalentMachineId": ranked[0],
                "leastPrevalentMachineId": ranked[-1],
                "logonTypes": "Interactive",
                "logOnMachinesCount": len(ranked),
                "isDomainAdmin": name.startswith("adm"),
                "isOnlyNetworkUser": False,
            }
        )
    return profiles


def user_key(alert: Row) -> str | None:
    """`domain\\name`, lower case: the account `alerts/{id}/user` answers with."""
    related = alert.get("relatedUser")
    if isinstance(related, dict) and related.get("userName"):
        return f"{related.get('domainName') or ''}\\{related['userName']}".lower()
    for item in alert.get("evidence") or ():
        if item["entityType"] == "User" and item.get("accountName"):
            return f"{item.get('domainName') or ''}\\{item['accountName']}".lower()
    return None
