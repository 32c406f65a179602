"""PURE: chat text → indicators of compromise, refanged, validated, deduplicated.

`extract(text)` takes a Slack `event.text` and returns what a responder would look up in Defender
for Endpoint, in first-seen order, at most `cap` of them. What counts as an indicator, the normal
form of each type, the defanged spellings read and how messages are labelled for measurement are
in `docs/indicators.md`.

**Why our own extractor.** The maintained Python ones (iocextract, ioc-finder, iocsearcher;
`bench/extraction.py` measures all three against this one) read neither Slack's markup nor its
escaping, know no machine names or file names, and are 10 to 30 times slower; on hostile input
(`"a." * 100000`, 200 KB) each of them backtracks for 11 seconds or more, which in a bot means
one pasted blob stalls a worker. Here every step is linear in the input: each scanning pattern is
anchored by a lookbehind on its run's own character class (a failed attempt is never retried
inside the same run) and uses possessive quantifiers.

This module is the interface. Inside the package: `types` (what is returned, the hash-length
table), `vocabulary` (word lists and patterns), `tlds` (the IANA list), `fang` (Slack escapes,
refanging), `rules` (validation of one candidate), `names` (machine names, code, cloud ids),
`scanner` (one message's scan), `richtext` (blocks → text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.indicators.fang import refang_marked
from bot.indicators.richtext import rich_elements
from bot.indicators.rules import fqdn_syntax, name_kind, parse_ipv4, parse_ipv6, parse_url, to_ascii
from bot.indicators.scanner import Found
from bot.indicators.tlds import IANA_TLDS
from bot.indicators.types import (
    DEFAULT_CAP,
    DOMAIN,
    FILENAME,
    HASH_LENGTHS,
    HASH_TYPES,
    IPV4,
    IPV6,
    MD5,
    SHA1,
    SHA256,
    URL,
    Extraction,
    Indicator,
    IndicatorType,
    hash_type,
)
from bot.indicators.vocabulary import (
    ALNUM,
    AUTHORITY_END,
    FILE_EXTS,
    HEX,
    LABEL,
    MARK,
    NOT_IN_NAMES,
    SCHEME_PREFIX,
    SLACK,
)

__all__ = [
    "DEFAULT_CAP",
    "HASH_LENGTHS",
    "HASH_TYPES",
    "Extraction",
    "Indicator",
    "IndicatorType",
    "defang",
    "extract",
    "extract_from_blocks",
    "hash_type",
    "normalize",
    "refang",
    "text_of_rich_text",
    "to_ascii",
]


def refang(text: str) -> str:
    """Undo common defanging (`[.]`, `hxxp`, `[:]`, `a . com`, …); idempotent, prose-safe."""
    return refang_marked(text.replace(MARK, "\ufffd")).replace(MARK, ".")


def defang(value: str, kind: IndicatorType | str | None = None) -> str:
    """Make an indicator safe to post: `10[.]0[.]0[.]1`, `hxxps://evil[.]com/a.php`.

    Hashes and IPv6 addresses are returned as they are; file names only when their extension is
    also a TLD (`setup[.]zip`), since only those would be turned into links.
    """
    kind = IndicatorType(kind) if kind is not None else None
    if kind in (MD5, SHA1, SHA256, IPV6):
        return value
    if kind is URL or (kind is None and "://" in value):
        scheme, sep, rest = value.partition("://")
        if not sep:
            return value.replace(".", "[.]")
        cut = AUTHORITY_END.search(rest)
        end = cut.start() if cut else len(rest)
        scheme = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}.get(scheme.lower(), scheme)
        return f"{scheme}://{rest[:end].replace('.', '[.]')}{rest[end:]}"
    if kind is FILENAME:
        stem, dot, ext = value.rpartition(".")
        return f"{stem}[.]{ext}" if dot and ext.lower() in IANA_TLDS else value
    return value.replace(".", "[.]")


def normalize(kind: IndicatorType | str, value: str) -> str | None:
    """The normal form of `value` read as `kind`, or None when it is not a valid one.

    Context-free: checks syntax (and, for `domain`, a real TLD), not whether a message meant it.
    Handlers use it to re-validate values that come back in button payloads.
    """
    kind = IndicatorType(kind)
    value = value.strip()
    if kind is IPV4:
        return parse_ipv4(value)
    if kind is IPV6:
        return parse_ipv6(value)
    if kind in (MD5, SHA1, SHA256):
        low = value.lower()
        ok = HASH_LENGTHS.get(len(low)) is kind and HEX.fullmatch(low) is not None
        return low if ok else None
    if kind is URL:
        return parse_url(value, ())
    if kind is FILENAME:
        stem, _, ext = value.rpartition(".")
        if ext.lower() not in FILE_EXTS or ALNUM.search(stem) is None or len(value) > 255:
            return None
        return None if NOT_IN_NAMES.search(value) else value
    name = value.lower().rstrip(".")
    if kind is DOMAIN:
        return name if name_kind(name, ()) is DOMAIN else None
    if "." in name:
        return name if fqdn_syntax(name) else None
    return name if LABEL.fullmatch(name) and not name.isdigit() else None


def text_of_rich_text(blocks: Iterable[Mapping[str, object]]) -> str:
    """Slack `rich_text` blocks → text in `event.text`'s encoding (links as `<url|text>`)."""
    lines: list[str] = []
    for block in blocks:
        if block.get("type") == "rich_text":
            rich_elements(block.get("elements"), lines)
    return "\n".join(lines)


def extract_from_blocks(
    blocks: Iterable[Mapping[str, object]],
    *,
    internal_suffixes: Iterable[str] = (),
    cap: int = DEFAULT_CAP,
) -> Extraction:
    """`extract` over the text of a message's rich-text blocks."""
    return extract(text_of_rich_text(blocks), internal_suffixes=internal_suffixes, cap=cap)


def extract(
    text: str, *, internal_suffixes: Iterable[str] = (), cap: int = DEFAULT_CAP
) -> Extraction:
    """Indicators in a Slack message, deduplicated, in first-seen order, at most `cap` of them."""
    suffixes = tuple(s.strip().strip(".").lower() for s in internal_suffixes if s.strip(" ."))
    found = Found(suffixes)
    text = text.replace(MARK, "\ufffd")
    pos = 0
    for m in SLACK.finditer(text) if "<" in text else ():
        found.scan(text[pos : m.start()])
        pos = m.end()
        target, label = m.group(1), m.group(2)
        if target[:1] in ("@", "#", "!"):
            continue  # mentions, channels, `<!here>`: never indicators
        if SCHEME_PREFIX.match(target):
            found.slack_link(target, label)
        else:
            found.scan(m.group())
    found.scan(text[pos:])
    cap = max(cap, 0)
    items = list(found.items.items())
    kept = tuple(Indicator(kind, value) for (kind, _), value in items[:cap])
    return Extraction(kept, max(0, len(items) - cap))
