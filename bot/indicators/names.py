"""Rules for names that are not validated by DNS syntax alone: machine names by their shape or
by the word before them, code that looks like a domain, and cloud resource identifiers."""

from __future__ import annotations

import unicodedata

from bot.indicators.vocabulary import (
    CLOUD_ID,
    CODE_RECEIVERS,
    DIRECTIONS,
    LETTERS,
    MAC,
    MACHINE_PREFIXES,
    NOT_HOST_PREFIXES,
    NOT_MACHINE_PREFIXES,
    REGION_PREFIXES,
)


def machine_name(word: str) -> bool:
    """`DESKTOP-7H3K2LQ`, `WS-FIN-042`, `SRV-01`; not `SHA-256`, `CVE-2024-3400`, `us-east-1`,
    nor a MAC address written with dashes (`AA-F2-C9-A6-B3-4F`)."""
    if len(word) > 63 or "_" in word or not word.isascii():
        return False
    upper = word.isupper()
    if not (upper or word.islower()):
        return False  # `X-Forwarded-For`
    low = word.lower()
    segs = low.split("-")
    first, last = segs[0], segs[-1]
    if not all(segs) or len(first) < 2 or not first.isalpha():
        return False
    if len(segs) >= 6 and len(low) == 3 * len(segs) - 1 and MAC.fullmatch(low):
        return False  # `aa-f2-c9-a6-b3-4f`
    if first in NOT_MACHINE_PREFIXES or last.isalpha():
        return False  # a machine's name ends in a number
    if first in REGION_PREFIXES and segs[1] in DIRECTIONS:
        return False
    if first in MACHINE_PREFIXES:
        return True  # `SRV-01`, `dc-01`, `desktop-7h3k2lq`, `ip-10-0-3-17`
    if len(segs) == 2:
        return upper and not last.isdigit()  # `WIN-Q0KJ8N1B7GH`; not `COVID-19`, `gpt-4o`
    return not any(seg.isdigit() for seg in segs[1:-1])  # `WS-FIN-042`; not `part-2-of-3`


def context_name(word: str, weak: bool) -> bool:
    """A dot-less name right after a host word (`host dc01`, `device WKS7`): letters then digits,
    as machines are named; not `Win10`, `SHA256`, `T1059`, `INC0012345`, `day10`.

    After a weak word ("on", common in prose) the name must look like a machine's on its own:
    one case throughout, two letters or more, two digits or more (`on DC01`; not `on EC2`,
    `on Q3`, `on Win10`).
    """
    low = word.lower()
    prefix = LETTERS.match(low)
    if prefix is None or prefix.group() in NOT_HOST_PREFIXES or not word.isascii():
        return False
    digits = sum(c.isdigit() for c in low)
    if digits == 0 or len(low) < 3:
        return False
    if weak:
        return (word.isupper() or word.islower()) and prefix.end() >= 2 and digits >= 2
    return True


def code_like(word: str, labels: list[str]) -> bool:
    """A dotted word that reads as code, not a domain: `System.IO`, `Microsoft.NET`, `os.name`.

    Domains are written in lower or upper case, or capitalised before a lower-case TLD
    (`Google.com`); a TLD in capitals after a mixed-case name is a namespace or a class.
    """
    tld = labels[-1]
    if not tld.islower() and tld != tld.lower() and word != word.upper():
        return True
    return len(labels) == 2 and labels[0] in CODE_RECEIVERS


def in_cloud_id(text: str, s: int) -> bool:
    """True when position `s` is inside a cloud resource identifier (an ARN, an Azure resource
    id, a Google Cloud resource name): the run of non-space text it ends starts like one."""
    if not s or text[s - 1].isspace():
        return False
    lo = max(0, s - 512)
    start = max(text.rfind(" ", lo, s), text.rfind("\n", lo, s), text.rfind("\t", lo, s)) + 1
    piece = text[max(start, lo) : s]
    return (":" in piece or "/" in piece) and CLOUD_ID.search(piece) is not None


def glued_symbol(c: str) -> bool:
    """A pictograph that is part of a name (`☺.damowmow.com`, `✪df.ws`): what the scanner reads
    is then only the tail of the name, which is a different name, so it reports none."""
    return c > "\x7f" and unicodedata.category(c) == "So"
