"""Static tables the seeded fleet is drawn from: operating systems, people, binaries, and the
alert kinds with the evidence each one carries. Data only."""

from __future__ import annotations

from dataclasses import dataclass

WINDOWS = "windows"
MAC = "mac"
LINUX = "linux"
MOBILE = "mobile"


@dataclass(frozen=True, slots=True)
class Os:
    platform: str  # osPlatform as MDE reports it
    version: str
    build: int | None
    processor: str
    family: str
    agent: str  # agentVersion


OS_WORKSTATION = (
    Os("Windows11", "23H2", 22631, "x64", WINDOWS, "10.8760.22631.4391"),
    Os("Windows11", "24H2", 26100, "x64", WINDOWS, "10.8760.26100.2314"),
    Os("Windows10", "22H2", 19045, "x64", WINDOWS, "10.8560.19045.5131"),
)
OS_SERVER = (
    Os("WindowsServer2022", "21H2", 20348, "x64", WINDOWS, "10.8760.20348.2849"),
    Os("WindowsServer2019", "1809", 17763, "x64", WINDOWS, "10.8560.17763.6532"),
    Os("WindowsServer2016", "1607", 14393, "x64", WINDOWS, "10.8560.14393.7515"),
)
OS_MAC = (
    Os("macOS", "14.7", None, "ARM64", MAC, "101.24092.0004"),
    Os("macOS", "15.1", None, "ARM64", MAC, "101.24102.0002"),
    Os("macOS", "13.7", None, "x64", MAC, "101.24082.0006"),
)
OS_LINUX = (
    Os("Linux", "22.04", None, "x64", LINUX, "101.24082.0004"),
    Os("Linux", "24.04", None, "x64", LINUX, "101.24092.0002"),
    Os("Linux", "9.4", None, "x64", LINUX, "101.24072.0001"),
)
OS_MOBILE = (
    Os("iOS", "17.6.1", None, "ARM64", MOBILE, "1.1.58020105"),
    Os("iOS", "18.1", None, "ARM64", MOBILE, "1.1.59010103"),
    Os("Android", "14", None, "ARM64", MOBILE, "1.0.6830.0101"),
    Os("Android", "13", None, "ARM64", MOBILE, "1.0.6712.0201"),
)

FIRST_NAMES = (
    "amira", "ben", "carla", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas",
    "kofi", "lena", "marek", "nadia", "omar", "priya", "quentin", "rosa", "sven", "tariq",
    "uma", "viktor", "wen", "xenia", "yusuf", "zoe", "alba", "bruno", "chen", "dana",
)  # fmt: skip
LAST_NAMES = (
    "adams", "baker", "cruz", "dubois", "eriksen", "fischer", "garcia", "haddad", "ito",
    "jansen", "kowalski", "lopez", "meyer", "novak", "okafor", "petrov", "quinn", "rossi",
    "schmidt", "tanaka", "ueda", "varga", "weber", "xu", "yilmaz", "zhang",
)  # fmt: skip
ANALYSTS = ("soc-tier1@{d}", "soc-tier2@{d}", "ir-lead@{d}", "API Action")


@dataclass(frozen=True, slots=True)
class Binary:
    """A file that shows up in evidence. `system` binaries have one hash everywhere (same OS
    build); the others get a hash per tenant."""

    name: str
    folder: str
    family: str
    publisher: str | None = None
    product: str | None = None
    determination: str = "Unknown"
    threat: str | None = None
    size: int = 450_000
    system: bool = False


_SYS32 = "C:\\Windows\\System32"
_MS = "Microsoft Corporation"
_WIN = "Microsoft® Windows® Operating System"

LOLBINS = (
    Binary("powershell.exe", _SYS32 + "\\WindowsPowerShell\\v1.0", WINDOWS, _MS, _WIN,
           size=491_520, system=True),
    Binary("cmd.exe", _SYS32, WINDOWS, _MS, _WIN, size=323_584, system=True),
    Binary("rundll32.exe", _SYS32, WINDOWS, _MS, _WIN, size=71_680, system=True),
    Binary("mshta.exe", _SYS32, WINDOWS, _MS, _WIN, size=26_112, system=True),
    Binary("wscript.exe", _SYS32, WINDOWS, _MS, _WIN, size=167_936, system=True),
    Binary("certutil.exe", _SYS32, WINDOWS, _MS, _WIN, size=1_548_288, system=True),
    Binary("bash", "/usr/bin", LINUX, None, None, size=1_396_520, system=True),
    Binary("python3", "/usr/bin", LINUX, None, None, size=5_904_904, system=True),
    Binary("osascript", "/usr/bin", MAC, "Apple Inc.", "macOS", size=138_224, system=True),
    Binary("curl", "/usr/bin", MAC, "Apple Inc.", "macOS", size=254_000, system=True),
)  # fmt: skip
MALWARE = (
    Binary("invoice_2026.docm", "C:\\Users\\{u}\\Downloads", WINDOWS, None, None,
           "Malware", "TrojanDownloader:O97M/Donoff", 88_311),
    Binary("update_helper.dll", "C:\\ProgramData\\UpdateHelper", WINDOWS, None, None,
           "Malware", "Trojan:Win32/Qakbot", 612_352),
    Binary("svch0st.exe", "C:\\Users\\{u}\\AppData\\Roaming", WINDOWS, None, None,
           "Malware", "Backdoor:Win32/CobaltStrike", 289_280),
    Binary("lsass_dump.exe", "C:\\Windows\\Temp", WINDOWS, None, None,
           "Malware", "HackTool:Win32/Mimikatz", 1_250_816),
    Binary("locker.exe", "C:\\Users\\Public", WINDOWS, None, None,
           "Malware", "Ransom:Win32/LockBit", 152_064),
    Binary("toolbar_setup.exe", "C:\\Users\\{u}\\Downloads", WINDOWS, "FreeTools Ltd",
           "Search Toolbar", "Pua", "PUA:Win32/SearchToolbar", 3_402_112),
    Binary("kworkerd", "/tmp/.cache", LINUX, None, None,  # noqa: S108 - evidence text, not a file
           "Malware", "Trojan:Linux/CoinMiner", 2_203_648),
    Binary("revshell.py", "/var/tmp", LINUX, None, None,  # noqa: S108 - evidence text
           "Malware", "Backdoor:Python/ReverseShell", 4_096),
    Binary("com.apple.updater.plist", "/Users/{u}/Library/LaunchAgents", MAC, None, None,
           "Malware", "Trojan:MacOS/Adload", 1_024),
    Binary("PDFConverter.app", "/Users/{u}/Downloads", MAC, "PDF Tools", "PDF Converter",
           "Pua", "PUA:MacOS/Pirrit", 8_388_608),
    Binary("flashlight.apk", "/storage/emulated/0/Download", MOBILE, None, None,
           "Malware", "Trojan:AndroidOS/Joker", 3_145_728),
)  # fmt: skip

# Remote ends (documentation ranges: RFC 5737) and domains seen in evidence.
BAD_IPS = tuple(f"198.51.100.{n}" for n in (13, 42, 58, 91, 120, 133, 166, 201, 222, 250))
BAD_DOMAINS = (
    "cdn-docs-share.com", "login-verify-portal.net", "files-transfer-secure.org",
    "update-check-service.com", "teams-meeting-invite.net", "mail-auth-reset.com",
    "drive-sync-files.net", "crypto-pool-mining.org", "shipment-tracking-info.com",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlertKind:
    title: str
    category: str
    severities: tuple[str, ...]
    source: str
    family: str
    mitre: tuple[str, ...]
    evidence: tuple[str, ...]  # "user", "lolbin", "malware", "ip", "url", "registry"
    threat_family: str | None = None


_EDR = "WindowsDefenderAtp"
_AV = "WindowsDefenderAv"
ALERT_KINDS = (
    AlertKind("Suspicious PowerShell command line", "Execution", ("Medium", "High"), _EDR,
              WINDOWS, ("T1059.001",), ("user", "lolbin", "url")),
    AlertKind("Malicious document downloaded a payload", "InitialAccess", ("High",), _EDR,
              WINDOWS, ("T1566.001", "T1204.002"), ("user", "malware", "url", "ip")),
    AlertKind("'Qakbot' malware was detected", "Malware", ("Medium", "High"), _AV, WINDOWS,
              ("T1055",), ("malware", "user"), "Qakbot"),
    AlertKind("Cobalt Strike command and control detected", "CommandAndControl", ("High",),
              _EDR, WINDOWS, ("T1071.001",), ("malware", "ip", "user"), "CobaltStrike"),
    AlertKind("Credential theft tool detected", "CredentialAccess", ("High",), _AV, WINDOWS,
              ("T1003.001",), ("malware", "user"), "Mimikatz"),
    AlertKind("Ransomware behavior detected in the file system", "Ransomware", ("High",), _EDR,
              WINDOWS, ("T1486",), ("malware", "user")),
    AlertKind("Suspicious scheduled task", "Persistence", ("Low", "Medium"), _EDR, WINDOWS,
              ("T1053.005",), ("lolbin", "registry", "user")),
    AlertKind("Suspicious use of certutil to download a file", "CommandAndControl",
              ("Medium",), _EDR, WINDOWS, ("T1105",), ("lolbin", "url", "ip")),
    AlertKind("Possible lateral movement over SMB", "LateralMovement", ("Medium", "High"), _EDR,
              WINDOWS, ("T1021.002",), ("ip", "user")),
    AlertKind("Anomalous account lookups", "Discovery", ("Low", "Informational"), _EDR,
              WINDOWS, ("T1087.002",), ("lolbin", "user")),
    AlertKind("Potentially unwanted application", "UnwantedSoftware", ("Low",), _AV, WINDOWS,
              (), ("malware",), "SearchToolbar"),
    AlertKind("Connection to a known phishing site blocked", "InitialAccess", ("Medium",),
              "WindowsDefenderSmartScreen", WINDOWS, ("T1566.002",), ("url", "user")),
    AlertKind("Custom detection: rare outbound connection", "SuspiciousActivity",
              ("Informational", "Low"), "CustomDetection", WINDOWS, (), ("ip",)),
    AlertKind("Suspicious launch agent created", "Persistence", ("Medium",), _EDR, MAC,
              ("T1543.001",), ("malware", "lolbin", "user")),
    AlertKind("Unwanted software installed", "UnwantedSoftware", ("Low",), _AV, MAC, (),
              ("malware", "user"), "Pirrit"),
    AlertKind("Suspicious script download", "Execution", ("Medium",), _EDR, MAC,
              ("T1059.002",), ("lolbin", "url")),
    AlertKind("Cryptocurrency miner detected", "Malware", ("Medium", "High"), _AV, LINUX,
              ("T1496",), ("malware", "ip", "url"), "CoinMiner"),
    AlertKind("Reverse shell detected", "Execution", ("High",), _EDR, LINUX,
              ("T1059.004",), ("lolbin", "malware", "ip")),
    AlertKind("Malicious app installed", "Malware", ("Medium", "High"), "MTP", MOBILE,
              (), ("malware",), "Joker"),
    AlertKind("Phishing site visited on a mobile device", "InitialAccess", ("Low", "Medium"),
              "MTP", MOBILE, ("T1566.002",), ("url",)),
)  # fmt: skip
