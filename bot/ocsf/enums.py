"""The OCSF enum ids we emit, as `IntEnum`s that know their schema captions.

A member is `NAME = id` when the caption is the title-cased name (`IN_PROGRESS` → "In Progress"),
or `NAME = id, "Caption"` when OCSF spells it otherwise (`MACOS = 300, "macOS"`). Only ids that
exist in both OCSF 1.5.0 and 1.8.0 are listed, except where a comment says "1.6+": those are
emitted only for a 1.6+ `metadata.version`. `tests/test_ocsf_models.py` checks every id and
caption here against the official exports.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class OcsfEnum(IntEnum):
    """An OCSF enum id; `.caption` is the text OCSF puts in the sibling attribute."""

    _label: str

    def __new__(cls, value: int, label: str = "") -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def caption(self) -> str:
        return self._label or self.name.replace("_", " ").title()


def caption(value: IntEnum) -> str:
    """OCSF's caption for an enum id: `StatusId.IN_PROGRESS` → "In Progress"."""
    if isinstance(value, OcsfEnum):
        return value.caption
    return value.name.replace("_", " ").title()


class SeverityId(OcsfEnum):
    UNKNOWN = 0
    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5
    FATAL = 6
    OTHER = 99


class StatusId(OcsfEnum):
    """A finding's workflow status (Finding classes; base_event's status_id means outcome)."""

    UNKNOWN = 0
    NEW = 1
    IN_PROGRESS = 2
    SUPPRESSED = 3
    RESOLVED = 4
    ARCHIVED = 5
    OTHER = 99  # 6 Deleted is 1.6+ and never produced by MDE


class StateId(OcsfEnum):
    """The legacy Security Finding's workflow state."""

    UNKNOWN = 0
    NEW = 1
    IN_PROGRESS = 2
    SUPPRESSED = 3
    RESOLVED = 4
    OTHER = 99


class ActivityId(OcsfEnum):
    """Finding activities: type_uid = class_uid * 100 + activity_id."""

    UNKNOWN = 0
    CREATE = 1
    UPDATE = 2
    CLOSE = 3
    OTHER = 99


class InventoryActivityId(OcsfEnum):
    """Discovery (Device Inventory Info) activities."""

    UNKNOWN = 0
    LOG = 1
    COLLECT = 2
    OTHER = 99


class QueryActivityId(OcsfEnum):
    """Discovery query activities (File Query)."""

    UNKNOWN = 0
    QUERY = 1
    OTHER = 99


class QueryResultId(OcsfEnum):
    """What a Discovery query found."""

    UNKNOWN = 0
    EXISTS = 1
    PARTIAL = 2
    DOES_NOT_EXIST = 3, "Does not exist"
    ERROR = 4
    UNSUPPORTED = 5
    OTHER = 99


class RiskLevelId(OcsfEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4
    OTHER = 99


class OsTypeId(OcsfEnum):
    UNKNOWN = 0
    WINDOWS = 100
    WINDOWS_MOBILE = 101
    LINUX = 200
    ANDROID = 201
    MACOS = 300, "macOS"
    IOS = 301, "iOS"
    IPADOS = 302, "iPadOS"
    SOLARIS = 400
    AIX = 401, "AIX"
    HP_UX = 402, "HP-UX"
    OTHER = 99


class DeviceTypeId(OcsfEnum):
    UNKNOWN = 0
    SERVER = 1
    DESKTOP = 2
    LAPTOP = 3
    TABLET = 4
    MOBILE = 5
    VIRTUAL = 6
    IOT = 7, "IOT"
    BROWSER = 8
    FIREWALL = 9
    SWITCH = 10
    HUB = 11
    ROUTER = 12
    IDS = 13, "IDS"
    IPS = 14, "IPS"
    LOAD_BALANCER = 15
    OTHER = 99


class NetworkInterfaceTypeId(OcsfEnum):
    UNKNOWN = 0
    WIRED = 1
    WIRELESS = 2
    MOBILE = 3
    TUNNEL = 4
    OTHER = 99


class AgentTypeId(OcsfEnum):
    UNKNOWN = 0
    ENDPOINT_DETECTION_AND_RESPONSE = 1, "Endpoint Detection and Response"
    OTHER = 99


class HashAlgorithmId(OcsfEnum):
    """Fingerprint algorithms (ids 8+ are 1.6+ and not listed)."""

    UNKNOWN = 0
    MD5 = 1, "MD5"
    SHA1 = 2, "SHA-1"
    SHA256 = 3, "SHA-256"
    SHA512 = 4, "SHA-512"
    CTPH = 5, "CTPH"
    TLSH = 6, "TLSH"
    QUICK_XOR_HASH = 7, "quickXorHash"
    OTHER = 99


class FileTypeId(OcsfEnum):
    """File types (8 Executable File is 1.6+ and not listed)."""

    UNKNOWN = 0
    REGULAR_FILE = 1
    FOLDER = 2
    CHARACTER_DEVICE = 3
    BLOCK_DEVICE = 4
    LOCAL_SOCKET = 5
    NAMED_PIPE = 6
    SYMBOLIC_LINK = 7
    OTHER = 99


class SignatureAlgorithmId(OcsfEnum):
    """A digital signature's algorithm."""

    UNKNOWN = 0
    DSA = 1, "DSA"
    RSA = 2, "RSA"
    ECDSA = 3, "ECDSA"
    AUTHENTICODE = 4
    OTHER = 99


class SignatureStateId(OcsfEnum):
    """A digital signature's state (6 Untrusted and later are 1.8+ and not listed)."""

    UNKNOWN = 0
    VALID = 1
    EXPIRED = 2
    REVOKED = 3
    SUSPENDED = 4
    PENDING = 5
    OTHER = 99


class UserTypeId(OcsfEnum):
    UNKNOWN = 0
    USER = 1
    ADMIN = 2
    SYSTEM = 3
    OTHER = 99  # 4 Service is 1.6+


class AnalyticTypeId(OcsfEnum):
    UNKNOWN = 0
    RULE = 1
    BEHAVIORAL = 2
    STATISTICAL = 3
    LEARNING = 4, "Learning (ML/DL)"
    FINGERPRINTING = 5
    TAGGING = 6
    KEYWORD_MATCH = 7
    REGULAR_EXPRESSIONS = 8
    EXACT_DATA_MATCH = 9
    PARTIAL_DATA_MATCH = 10
    INDEXED_DATA_MATCH = 11
    OTHER = 99


class MalwareClassificationId(OcsfEnum):
    UNKNOWN = 0
    ADWARE = 1
    BACKDOOR = 2
    BOT = 3
    BOOTKIT = 4
    DDOS = 5, "DDOS"
    DOWNLOADER = 6
    DROPPER = 7
    EXPLOIT_KIT = 8, "Exploit-Kit"
    KEYLOGGER = 9
    RANSOMWARE = 10
    REMOTE_ACCESS_TROJAN = 11, "Remote-Access-Trojan"
    RESOURCE_EXPLOITATION = 13, "Resource-Exploitation"
    ROGUE_SECURITY_SOFTWARE = 14, "Rogue-Security-Software"
    ROOTKIT = 15
    SCREEN_CAPTURE = 16, "Screen-Capture"
    SPYWARE = 17
    TROJAN = 18
    VIRUS = 19
    WEBSHELL = 20
    WIPER = 21
    WORM = 22
    OTHER = 99


class VerdictId(OcsfEnum):
    UNKNOWN = 0
    FALSE_POSITIVE = 1
    TRUE_POSITIVE = 2
    DISREGARD = 3
    SUSPICIOUS = 4
    BENIGN = 5
    TEST = 6
    INSUFFICIENT_DATA = 7
    SECURITY_RISK = 8
    MANAGED_EXTERNALLY = 9
    DUPLICATE = 10
    OTHER = 99


class DispositionId(OcsfEnum):
    """The dispositions MDE's evidence `detectionStatus` can express (a subset of OCSF's)."""

    UNKNOWN = 0
    ALLOWED = 1
    BLOCKED = 2
    QUARANTINED = 3
    ISOLATED = 4
    DELETED = 5
    DETECTED = 15
    NO_ACTION = 16
    LOGGED = 17
    ALERT = 19
    OTHER = 99


class ActionId(OcsfEnum):
    UNKNOWN = 0
    ALLOWED = 1
    DENIED = 2
    OBSERVED = 3
    MODIFIED = 4
    OTHER = 99


class ConfidenceId(OcsfEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    OTHER = 99


class ObservableTypeId(OcsfEnum):
    UNKNOWN = 0
    HOSTNAME = 1
    IP_ADDRESS = 2, "IP Address"
    MAC_ADDRESS = 3, "MAC Address"
    USER_NAME = 4
    EMAIL_ADDRESS = 5
    URL_STRING = 6, "URL String"
    FILE_NAME = 7
    HASH = 8
    PROCESS_NAME = 9
    COMMAND_LINE = 13
    FILE_PATH = 45
    DEVICE_UID = 47, "Device Object: uid"  # 1.6+
    OTHER = 99
