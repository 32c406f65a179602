"""PURE: chat text → indicators of compromise, refanged, validated, deduplicated.

`extract(text)` takes a Slack `event.text` and returns what a responder would look up in Defender
for Endpoint, in first-seen order, at most `cap` of them. Every step is linear in the input:

1. **Slack markup.** `<url|label>` is one URL (plus whatever the label says, minus the URL's own
   host; a linkified bare file name such as `setup.zip` stays a file); `<mailto:…|label>` is read
   as its label; `<@U…>`, `<#C…|…>`, `<!…>` are dropped. Then `&lt; &gt; &amp;` are unescaped.
   Code spans and blocks are ordinary text. `text_of_rich_text` turns rich-text blocks into the
   same encoding, so `extract_from_blocks` reads them the same way.
2. **Refang.** `[.] [dot] (.) {.} (dot)` (round and curly ones only between name characters, so
   `a period (.)` stays prose), `[:] [://]`, `[@] [at]`, `hxxp(s)`, `fxp`, and `a . b` where the
   joined name is a real domain or IPv4 address. Refanged dots are marked so that later steps know
   a name was defanged (a defanged `github-releases[.]zip` is a domain, `setup.zip` a file).
3. **URLs** with a known scheme; trailing punctuation and unbalanced brackets trimmed; the host
   must validate. A URL's host and file are not repeated as domain and file name, but hashes that
   fill a whole path segment are reported too (VirusTotal links).
4. **Tokens** between URLs, found by one regex that skips plain words in C. Each is classified
   once: IPv6, IPv4 (dotted quad, leading zeros tolerated; not OIDs, not after version/build;
   unspecified, loopback, broadcast and netmasks dropped), hashes by exact length with token
   boundaries, file names by extension (at the end of Windows and POSIX paths too; directories
   are skipped), domains by TLD (IDN as `xn--`; the domain of an e-mail address, never its local
   part), UNC hosts, and bare machine names by shape (`WS-FIN-042` yes; `SHA-256`, `UTF-8`,
   `CVE-2024-3400`, `us-east-1` no). A name that is both a file and a domain (`setup.zip`) is a
   file unless it was defanged, has three labels or more, or follows "domain", "dns", "c2", ….

No regex here can backtrack catastrophically: every pattern that scans a run is anchored by a
lookbehind on the run's own character class (so a failed attempt is never retried inside the same
run) and uses possessive quantifiers.

**Why the IANA TLD list and not the public-suffix list.** The question asked of a name is "is its
last label a delegated top-level domain?", which the IANA root-zone list answers exactly, in 1,400
words. The public-suffix list answers a different question (where the registrable part starts); it
is ten times larger, changes weekly, and its private section (`github.io`, `blogspot.com`) adds
nothing to this decision. Names under non-public suffixes (`.local`, `.internal`, `.lan`, … and the
configured `internal_suffixes`) are reported as `hostname`, public ones as `domain`.

This module is the interface. Inside the package: `types` (what is returned), `vocabulary` (word
lists and patterns), `fang` (Slack escapes, refanging), `rules` (validation of one candidate),
`scanner` (one message's scan), `richtext` (blocks → text). Their underscored names are shared
within the package only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.indicators.fang import _refang_marked
from bot.indicators.richtext import _rich_elements
from bot.indicators.rules import _fqdn_kind, _fqdn_syntax, _ipv4, _ipv6, _url
from bot.indicators.scanner import _Found
from bot.indicators.types import (
    _HASH_TYPES,
    DEFAULT_CAP,
    DOMAIN,
    FILENAME,
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
    _ALNUM,
    _AUTHORITY_END,
    _FILE_EXTS,
    _HEX,
    _LABEL,
    _MARK,
    _NOT_IN_NAMES,
    _SCHEME_PREFIX,
    _SLACK,
)
from bot.tlds import IANA_TLDS

__all__ = [
    "DEFAULT_CAP",
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
]


def refang(text: str) -> str:
    """Undo common defanging (`[.]`, `hxxp`, `[:]`, `a . com`, …); idempotent, prose-safe."""
    return _refang_marked(text.replace(_MARK, "\ufffd")).replace(_MARK, ".")


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
        cut = _AUTHORITY_END.search(rest)
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
        return _ipv4(value)
    if kind is IPV6:
        return _ipv6(value)
    if kind in (MD5, SHA1, SHA256):
        low = value.lower()
        ok = _HASH_TYPES.get(len(low)) is kind and _HEX.fullmatch(low) is not None
        return low if ok else None
    if kind is URL:
        return _url(value, ())
    if kind is FILENAME:
        stem, _, ext = value.rpartition(".")
        if ext.lower() not in _FILE_EXTS or _ALNUM.search(stem) is None or len(value) > 255:
            return None
        return None if _NOT_IN_NAMES.search(value) else value
    name = value.lower().rstrip(".")
    if kind is DOMAIN:
        return name if _fqdn_kind(name, ()) is DOMAIN else None
    if "." in name:
        return name if _fqdn_syntax(name) else None
    return name if _LABEL.fullmatch(name) and not name.isdigit() else None


def text_of_rich_text(blocks: Iterable[Mapping[str, object]]) -> str:
    """Slack `rich_text` blocks → text in `event.text`'s encoding (links as `<url|text>`)."""
    lines: list[str] = []
    for block in blocks:
        if block.get("type") == "rich_text":
            _rich_elements(block.get("elements"), lines)
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
    found = _Found(suffixes)
    text = text.replace(_MARK, "\ufffd")
    pos = 0
    for m in _SLACK.finditer(text) if "<" in text else ():
        found.scan(text[pos : m.start()])
        pos = m.end()
        target, label = m.group(1), m.group(2)
        if target[:1] in ("@", "#", "!"):
            continue  # mentions, channels, `<!here>`: never indicators
        if _SCHEME_PREFIX.match(target):
            found.slack_link(target, label)
        else:
            found.scan(m.group())
    found.scan(text[pos:])
    cap = max(cap, 0)
    items = list(found.items.items())
    kept = tuple(Indicator(kind, value) for (kind, _), value in items[:cap])
    return Extraction(kept, max(0, len(items) - cap))
