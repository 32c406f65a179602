"""PURE: MDE's words for triage and custom indicators (D:update-alert, D:ti-indicator,
reference §2.2, §4b), and how a responder reads them. One table each: the client validates
against them, the forms offer them, the request messages name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ALERT_STATUSES: Final = ("New", "InProgress", "Resolved")
CLASSIFICATIONS: Final = ("TruePositive", "InformationalExpectedActivity", "FalsePositive")
# The determinations each classification takes, as documented since 2022 (Apt and
# SecurityPersonnel were removed).
DETERMINATIONS_OF: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "TruePositive": (
            "MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Malware",
            "Phishing", "UnwantedSoftware", "Other",
        ),
        "InformationalExpectedActivity": (
            "SecurityTesting", "LineOfBusinessApplication", "ConfirmedUserActivity", "Other",
        ),
        "FalsePositive": ("Clean", "InsufficientData", "Other"),
    }
)  # fmt: skip
# Every determination MDE accepts: the documented ones and older spellings still taken.
DETERMINATIONS: Final = (
    *dict.fromkeys(d for ds in DETERMINATIONS_OF.values() for d in ds),
    "ConfirmedActivity",
    "NotMalicious",
)
SEVERITIES: Final = ("Informational", "Low", "Medium", "High")
INDICATOR_ACTIONS: Final = (
    "Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed",
)  # fmt: skip
# What a "Block…" form offers (never Allowed: the bot does not open holes).
BLOCK_ACTIONS: Final = ("Block", "Audit", "BlockAndRemediate")
FILE_ONLY_ACTIONS: Final = frozenset({"BlockAndRemediate"})

# How each word reads in a form or a message.
WORDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "New": "New",
        "InProgress": "In progress",
        "Resolved": "Resolved",
        "TruePositive": "True positive",
        "InformationalExpectedActivity": "Informational, expected activity",
        "FalsePositive": "False positive",
        "MultiStagedAttack": "Multi-staged attack",
        "MaliciousUserActivity": "Malicious user activity",
        "CompromisedUser": "Compromised user",
        "Malware": "Malware",
        "Phishing": "Phishing",
        "UnwantedSoftware": "Unwanted software",
        "SecurityTesting": "Security testing",
        "LineOfBusinessApplication": "Line-of-business application",
        "ConfirmedUserActivity": "Confirmed user activity",
        "ConfirmedActivity": "Confirmed activity",
        "Clean": "Clean",
        "NotMalicious": "Not malicious",
        "InsufficientData": "Insufficient data",
        "Other": "Other",
        "Block": "Block",
        "Audit": "Alert only (do not block)",
        "BlockAndRemediate": "Block and remediate (files)",
        "Alert": "Alert",
        "Warn": "Warn",
        "AlertAndBlock": "Alert and block",
        "Allowed": "Allow",
    }
)


def said(word: str) -> str:
    """A word of MDE's as people read it; an unknown one as it is."""
    return WORDS.get(word, word)


def determination_fits(classification: str | None, determination: str | None) -> bool:
    """Whether MDE takes this determination with this classification (either may be unset)."""
    if not determination or not classification:
        return True
    return determination in DETERMINATIONS_OF.get(classification, ())
