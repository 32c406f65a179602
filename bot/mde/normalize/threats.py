"""What an MDE alert says of the threat: MITRE ATT&CK techniques and tactics, and the malware
with its classification (docs/ocsf-mapping.md §3)."""

from __future__ import annotations

import re

from bot import ocsf
from bot.mde.models import Alert
from bot.mde.normalize.common import PRODUCT_NAME, key, text

_ATTACK_URL = "https://attack.mitre.org"
_TECHNIQUE = re.compile(r"^(T\d{4})(?:\.(\d{3}))?$")

# §3 category ∈ MITRE tactics → a tactic-only attack.
_TACTICS = {
    "initialaccess": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilegeescalation": ("TA0004", "Privilege Escalation"),
    "defenseevasion": ("TA0005", "Defense Evasion"),
    "credentialaccess": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateralmovement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "commandandcontrol": ("TA0011", "Command and Control"),
    "impact": ("TA0040", "Impact"),
}

_C = ocsf.MalwareClassificationId
# §3 the type in Microsoft's threat names, `Type:Platform/Family.Variant`, and a family or
# name given as that type alone ("Trojan", "Ransom") → malware classification.
_MALWARE_TYPE = {
    "trojan": _C.TROJAN,
    "trojanclicker": _C.TROJAN,
    "trojanproxy": _C.TROJAN,
    "trojannotifier": _C.TROJAN,
    "backdoor": _C.BACKDOOR,
    "ransom": _C.RANSOMWARE,
    "ransomware": _C.RANSOMWARE,
    "worm": _C.WORM,
    "virus": _C.VIRUS,
    "trojandownloader": _C.DOWNLOADER,
    "trojandropper": _C.DROPPER,
    "spyware": _C.SPYWARE,
    "trojanspy": _C.SPYWARE,
    "pws": _C.SPYWARE,
    "monitoringtool": _C.SPYWARE,
    "keylogger": _C.KEYLOGGER,
    "rootkit": _C.ROOTKIT,
    "bootkit": _C.BOOTKIT,
    "adware": _C.ADWARE,
    "rogue": _C.ROGUE_SECURITY_SOFTWARE,
    "ddos": _C.DDOS,
    "webshell": _C.WEBSHELL,
    "exploit": _C.OTHER,
    "hacktool": _C.OTHER,
    "virtool": _C.OTHER,
    "pua": _C.OTHER,
    "pup": _C.OTHER,
    "softwarebundler": _C.OTHER,
    "browsermodifier": _C.OTHER,
    "tool": _C.OTHER,
}
# §3 well-known families MDE names bare (threatFamilyName "Meterpreter"), by what they are.
_FAMILY = {
    "meterpreter": _C.BACKDOOR,
    "cobaltstrike": _C.BACKDOOR,
    "mimikatz": _C.OTHER,
    "emotet": _C.TROJAN,
    "trickbot": _C.TROJAN,
    "qakbot": _C.TROJAN,
    "qbot": _C.TROJAN,
    "icedid": _C.TROJAN,
    "wannacrypt": _C.RANSOMWARE,
    "wannacry": _C.RANSOMWARE,
    "lockbit": _C.RANSOMWARE,
    "ryuk": _C.RANSOMWARE,
    "conficker": _C.WORM,
    "njrat": _C.REMOTE_ACCESS_TROJAN,
    "asyncrat": _C.REMOTE_ACCESS_TROJAN,
    "remcos": _C.REMOTE_ACCESS_TROJAN,
    "agenttesla": _C.SPYWARE,
    "formbook": _C.SPYWARE,
    "lokibot": _C.SPYWARE,
    "redline": _C.SPYWARE,
}


def attacks(alert: Alert) -> tuple[tuple[ocsf.Attack, ...], list[str]]:
    """§3 mitreTechniques → attacks (Tnnnn / Tnnnn.mmm), plus the category's tactic alone;
    and the technique strings that are none (for `unmapped`)."""
    found: list[ocsf.Attack] = []
    unknown: list[str] = []
    for raw in dict.fromkeys(alert.mitre_techniques):
        match = _TECHNIQUE.match(raw.strip().upper())
        if match is None:
            unknown.append(raw)
            continue
        technique, sub = match.group(1), match.group(2)
        url = f"{_ATTACK_URL}/techniques/{technique}/"
        found.append(
            ocsf.Attack(
                technique=ocsf.Technique(uid=technique, src_url=url),
                sub_technique=ocsf.SubTechnique(uid=f"{technique}.{sub}", src_url=f"{url}{sub}/")
                if sub
                else None,
            )
        )
    if (tactic := _TACTICS.get(key(alert.category))) is not None:
        uid, name = tactic
        src = f"{_ATTACK_URL}/tactics/{uid}/"
        found.append(ocsf.Attack(tactic=ocsf.Tactic(uid=uid, name=name, src_url=src)))
    return tuple(found), unknown


def classify(name: str | None) -> ocsf.MalwareClassificationId | None:
    """A Microsoft threat name (`VirTool:Win32/Obfuscator.A`) or family (`Meterpreter`) → its
    classification; None when neither says."""
    if not name:
        return None
    prefix, colon, rest = name.partition(":")
    if colon:
        return _MALWARE_TYPE.get(key(prefix)) or classify(rest.partition("/")[2] or None)
    family = key(name.split(".")[0].split("/")[-1].split("!")[0])
    return _MALWARE_TYPE.get(family) or _FAMILY.get(family)


def malware(alert: Alert) -> ocsf.Malware | None:
    """§3 threatName / threatFamilyName → malware[], classified by the name's type or by the
    family (classification_ids is required: 0 Unknown when neither says)."""
    name, family = text(alert.threat_name), text(alert.threat_family_name)
    if not (name or family):
        return None
    kind = classify(name) or classify(family)
    return ocsf.Malware(
        name=name or family,
        classification_ids=(kind if kind is not None else _C.UNKNOWN,),
        provider=PRODUCT_NAME,
    )
