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
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.tlds import IANA_TLDS

__all__ = [
    "DEFAULT_CAP",
    "Extraction",
    "Indicator",
    "IndicatorType",
    "defang",
    "extract",
    "extract_from_blocks",
    "normalize",
    "refang",
    "text_of_rich_text",
]


class IndicatorType(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    HOSTNAME = "hostname"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    FILENAME = "filename"


@dataclass(frozen=True, slots=True)
class Indicator:
    type: IndicatorType
    value: str  # refanged, normal form


@dataclass(frozen=True, slots=True)
class Extraction:
    indicators: tuple[Indicator, ...] = ()
    dropped: int = 0  # found beyond the cap


DEFAULT_CAP = 50

T = IndicatorType
# Reading an enum member off its class costs ~50 ns; the hot paths use these module constants.
IPV4, IPV6, DOMAIN, HOSTNAME, URL = T.IPV4, T.IPV6, T.DOMAIN, T.HOSTNAME, T.URL
MD5, SHA1, SHA256, FILENAME = T.MD5, T.SHA1, T.SHA256, T.FILENAME
_HASH_TYPES = {32: MD5, 40: SHA1, 64: SHA256}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Suffixes that never resolve publicly: names under them are internal machines (`hostname`).
_NONPUBLIC_TLDS = _words("local internal lan localdomain corp home intranet private onion")
_SPECIAL_PUBLIC = _words("onion")  # not in the root zone, but an indicator all the same

# Extensions of files an analyst searches for: executables, scripts, archives, documents,
# installers; also ransom notes (`txt`), dumps, property lists, and video lures.
_FILE_EXTS = _words(
    """
    exe dll sys scr cpl ocx drv efi msi msp msix msixbundle appx appxbundle mst ps1 psm1 psd1 bat
    cmd vbs vbe js jse wsf wsh wsc hta sct lnk pif inf reg jar class war ear py pyc pyw pl rb sh
    bash zsh ksh php phtml asp aspx ashx asmx jsp jspx cgi elf so dylib ko bin dmg pkg mpkg app
    deb rpm apk ipa appimage crx xpi vsix whl iso img vhd vhdx vmdk ova zip rar 7z tar gz tgz bz2
    tbz2 xz txz zst cab arj ace lzh lha uue iqy slk doc docx docm dot dotx dotm xls xlsx xlsm xlsb
    xlt xltx xltm xll xlam ppt pptx pptm pps ppsx ppsm pot potm ppam one onepkg pdf rtf odt ods odp
    html htm xhtml mht mhtml svg chm hlp eml msg pub txt dmp plist mov mp4
    """
)
# File-type words that are also TLDs but whose two-label names are still files, not domains.
_NOT_DOMAIN_EXTS = _words("md rs")
# Words just before a name that is both a file and a domain (`github-releases.zip`) and say which.
_DOMAIN_WORDS = _words(
    "domain domains fqdn dns host hostname site website resolves resolved resolve resolving "
    "nslookup dig ping c2 cname"
)
# Products whose names look like script files.
_NOT_FILES = _words(
    "node.js next.js nuxt.js vue.js react.js angular.js express.js ember.js three.js d3.js "
    "chart.js moment.js"
)
# Words before a dotted quad that make it a version, not an address.
_VERSION_WORDS = _words(
    "version versions ver v build builds release rel firmware fw rev revision patch kernel "
    "engine platform agent sigs signatures"
)
# First segments of hyphenated look-alikes of machine names.
_NOT_MACHINE_PREFIXES = _words(
    "sha md utf iso cve cwe capec ghsa rfc aes rsa dsa ecdsa hmac tls ssl ssh ipv kb ms pr cr chg "
    "inc req ritm sec covid ta windows rhel centos ubuntu debian python node gpt ja"
)
# First segments that make a hyphenated name a machine's even when short (`SRV-01`, `dc-01`).
_MACHINE_PREFIXES = _words("desktop laptop ws wks pc srv svr server dc fs sql mac vm host ip")
_REGION_PREFIXES = _words("us eu ap sa ca me af cn il mx uk in jp kr")  # `us-east-1`
_DIRECTIONS = _words("east west north south central northeast northwest southeast southwest")

# A refanged dot. Private-use code point; any in the input is replaced before refanging.
_MARK = "\ue000"
_SCHEMES = _words("http https ftp ftps sftp ws wss")

_SLACK = re.compile(r"<([^<>|\n]*+)(?:\|([^<>\n]*+))?>")
_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*+:")
# Each scanning pattern starts with a character class (so `re` skips ahead in C) and rejects a
# start inside a run with a lookbehind right after it: one attempt per run, never one per character.
_BRACKETED = re.compile(
    r"[\[({](?<![\[({].)[\[({]*+(\.|[dD][oO][tT]|://|:/|:|//|/|@|[aA][tT])[\])}]++"
)
_HXXP = re.compile(
    r"[hHfF](?<![A-Za-z0-9].)"
    r"(?:(?<=[hH])(?:[xX][xX]|[tT][xX]|[xX][tT]|\*\*)|(?<=[fF])[xX])[pP](?=[sS]?[\[({]?:)"
)
_SPACED = re.compile(r"(?<![A-Za-z0-9\-])[A-Za-z0-9\-]++(?: \. [A-Za-z0-9\-]++)++")
# Starts at the literal `://` (found by a fast substring search), scheme checked behind it.
_URL = re.compile(
    r"://(?i:"
    + "|".join(rf"(?<=(?<![A-Za-z0-9]){s}://)" for s in sorted(_SCHEMES, key=len))
    + r")[^\s<>\"'`|\\^{}\u2014\u2013\u201c\u201d\u2018\u2019\u00ab\u00bb]++"
)
# Word characters, spelled out: `\w` costs a Unicode lookup per character, a range does not.
# Letters and digits of the scripts in the BMP; not the symbol and punctuation blocks (dashes,
# quotes, arrows, box drawing, guillemets, the times sign, NBSP), which end a name as ASCII
# punctuation does.
_W = (
    r"0-9A-Za-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2c00-\u2dff\u2e80-\u2fdf"
    r"\u3040-\ud7ff\uf900-\ufdff\ufe70-\ufefe\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uffdc"
)
# A token: the host of a UNC path (`\\\\host\`); or a run of name characters with a dot or hyphen
# inside it, 32 to 64 hex digits, or an IPv6-shaped run (a `::` within 40 characters, or eight
# groups). Plain words, most of a chat, never leave C. Dotted quads and bare hex runs come out
# already classified (the `v4`, `hex` groups), so most log lines cost no Python per token.
_TOKEN = re.compile(
    rf"(?<![{_W}.\-\ue000])(?:(?P<unc>(?<=\\\\)(?<!\\\\\\)[{_W}.\-\ue000]++)"
    rf"|(?=[{_W}]*+[.:\-\ue000]|[0-9A-Fa-f]{{32}})(?:"
    r"(?P<v6>(?<!:)(?=[0-9A-Fa-f]{0,4}:)(?=[0-9A-Fa-f:.]{0,40}?::|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f])"
    rf"[0-9A-Fa-f:.]{{2,45}}+(?![{_W}:\ue000]))"
    rf"|(?P<v4>[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    rf"|(?P<hex>[0-9A-Fa-f]{{32,64}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    # anything else with a dot or hyphen inside; not a digit-led run without a dot (dates, phones)
    rf"|(?=[{_W}]*+[.\-\ue000]++[{_W}\ue000])(?![0-9][{_W}\-]*+(?![{_W}.\-\ue000]))"
    rf"[{_W}.\-\ue000]++))"
)
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,64}(?![0-9A-Za-z])")
_HEX = re.compile(r"[0-9a-f]++")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
# Labels cannot hold dots, so this is unambiguous: at most 63 characters of backtracking a label.
_FQDN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
)
_IPV4_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
_ALNUM = re.compile(r"[^\W_]")
_DIGIT = re.compile(r"[0-9]")
_SPACE = re.compile(r"\s")
_NOT_IN_NAMES = re.compile(r'[\x00-\x1f/\\:<>"|?*]')

_WORDS = re.compile(r"[a-z0-9]++")
_AUTHORITY_END = re.compile(r"[/?#]")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_URL_TRAILING = frozenset(".,;:!?*_~" + _MARK)
_EDGE = ".-_" + _MARK


# --------------------------------------------------------------------------- public helpers


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


class _Found:
    """Accumulates indicators for one message; the classification rules live here."""

    __slots__ = ("items", "suffixes")

    def __init__(self, suffixes: tuple[str, ...]) -> None:
        self.suffixes = suffixes
        # (type, value compared) → value as reported; file names compare case-insensitively.
        self.items: dict[tuple[IndicatorType, str], str] = {}

    def add(self, kind: IndicatorType, value: str) -> None:
        key = (kind, value.lower()) if kind is FILENAME else (kind, value)
        if key not in self.items:
            self.items[key] = value

    def slack_link(self, target: str, label: str | None) -> None:
        """`<target|label>` with Slack's escaping still on both parts."""
        if target[:7].lower() == "mailto:":
            self.scan(label if label is not None else target[7:])
            return
        url = _url(_unescape(target), self.suffixes)
        if url is None:
            self.scan(label or "")
            return
        host = _url_host(url)
        said = _Found(self.suffixes)
        said.scan(label or "")
        bare = label is not None and _unescape(label).lower() == host
        if bare and any(kind is FILENAME for kind, _ in said.items):
            self.items.update((k, v) for k, v in said.items.items() if k not in self.items)
            return  # Slack linkified a file name (`setup.zip`), not a site
        self.add(URL, url)
        self._url_hashes(url)
        for (kind, _), value in said.items.items():
            if value != host or kind is FILENAME:
                self.add(kind, value)

    def scan(self, text: str) -> None:
        if not text:
            return
        text = _refang_marked(_unescape(text))
        pos = 0
        for m in _URL.finditer(text) if "://" in text else ():
            start = m.start()
            start -= next(n for n in (5, 4, 3, 2) if text[start - n : start].lower() in _SCHEMES)
            raw = _trim_url(text[start : m.end()])
            url = _url(raw.replace(_MARK, "."), self.suffixes)
            if url is None:
                continue
            self._tokens(text, pos, start)
            self.add(URL, url)
            self._url_hashes(url)
            pos = start + len(raw)
        self._tokens(text, pos, len(text))

    def _url_hashes(self, url: str) -> None:
        rest = url.partition("://")[2]
        cut = _AUTHORITY_END.search(rest)
        if cut is None:
            return
        for m in _HEX_RUN.finditer(rest, cut.start()):
            self._hash(m.group())

    def _hash(self, word: str) -> bool:
        kind = _HASH_TYPES.get(len(word))
        if kind is None:
            return False
        low = word.lower()
        if _HEX.fullmatch(low) is None or low.isdigit() or low.isalpha():
            return False
        self.add(kind, low)
        return True

    def _ipv4_at(self, text: str, s: int, word: str) -> None:
        v4 = _ipv4(word)
        if v4 is not None and not _boring_ip(v4) and not _said_before(text, s, _VERSION_WORDS):
            self.add(IPV4, v4)

    def _tokens(self, text: str, start: int, end: int) -> None:
        for m in _TOKEN.finditer(text, start, end):
            fast = m.lastgroup
            if fast == "v4":
                self._ipv4_at(text, m.start(), m.group())
            elif fast == "hex":
                self._hash(m.group())
            elif fast == "v6":
                v6 = _ipv6(m.group().rstrip("."))
                if v6 is not None and not _boring_ip(v6):
                    self.add(IPV6, v6)
            else:
                self._word(text, m.start(), m.end(), end)

    def _word(self, text: str, s: int, e: int, end: int) -> None:
        """Classify one colon-free run `text[s:e]`; `end` bounds the look at what follows."""
        word = text[s:e]
        if word[0] in ".-_" or word[-1] in _EDGE:
            # Trim edge punctuation; a leading `_` only as the pair of a trailing one (italics).
            lead = len(word) - len(word.lstrip(".-_" if word[-1] == "_" else ".-"))
            trail = len(word) - len(word.rstrip(_EDGE))
            s, e = s + lead, e - trail
            if s >= e:
                return
            word = text[s:e]
        prev = text[s - 1] if s else " "
        nxt = text[e] if e < end else " "
        if nxt == "@":
            return  # the local part of an e-mail address
        unc = in_path = False
        if prev == "\\" or prev == "/":
            unc = s >= 2 and text[s - 2] == "\\" and (s < 3 or text[s - 3] != "\\")
            in_path = not unc
        defanged = _MARK in word
        if defanged:
            word = word.replace(_MARK, ".")
        elif "." not in word:
            self._bare(word, prev, unc)
            return
        if len(word) > 255:
            return
        if word.replace(".", "").isdigit():
            self._ipv4_at(text, s, word)
            return
        if not unc and (nxt == "\\" or (in_path and nxt == "/")):
            return  # a directory: `Microsoft.NET\Framework64`, `/opt/app.d/`
        labels = word.split(".")
        lower = word.lower()
        ext = labels[-1].lower()
        if not word.isascii():
            lower = _idna(lower)
        if not defanged and not unc and labels[-1].istitle() and labels[-2].islower():
            return  # `done.Next`, `it.So`: two sentences without a space
        kind = _fqdn_kind(lower, self.suffixes)
        if kind is not None and not defanged and nxt == "(":
            kind = None  # `subprocess.run(`: code
        if prev == "@" or unc:
            if kind is not None:
                self.add(kind, lower)
            return
        if ext in _FILE_EXTS and _ALNUM.search(word, 0, len(word) - len(ext) - 1) is not None:
            if lower in _NOT_FILES:
                return
            if (
                kind is None
                or in_path
                or (
                    not defanged
                    and _looks_like_file(labels)
                    and not _said_before(text, s, _DOMAIN_WORDS)
                )
            ):
                if len(labels) == 2:
                    self._hash(labels[0])  # a file named by its hash
                self.add(FILENAME, word)
                return
        if in_path:
            return
        if kind is not None:
            if defanged or len(labels) > 2 or ext not in _NOT_DOMAIN_EXTS:
                self.add(kind, lower)
            return
        if "-" in word:  # `10.0.0.1-10.0.0.9`
            i = s
            for part in text[s:e].split("-"):
                if "." in part or _MARK in part:
                    self._word(text, i, i + len(part), end)
                i += len(part) + 1

    def _bare(self, word: str, prev: str, unc: bool) -> None:
        """A run without dots: a hash, a machine name, or the host of a UNC path."""
        lower = word.lower()
        if "-" in word:
            if (unc or (prev != "\\" and _machine_name(word))) and _LABEL.fullmatch(lower):
                self.add(HOSTNAME, lower)
        elif not self._hash(word) and unc and _LABEL.fullmatch(lower) and not word.isdigit():
            self.add(HOSTNAME, lower)


# --------------------------------------------------------------------------- rules


def _looks_like_file(labels: list[str]) -> bool:
    """A name whose extension is also a TLD: a file when it has two labels or a file-type inside."""
    return len(labels) == 2 or any(p.lower() in _FILE_EXTS for p in labels[1:-1])


def _machine_name(word: str) -> bool:
    """`DESKTOP-7H3K2LQ`, `WS-FIN-042`, `SRV-01`; not `SHA-256`, `CVE-2024-3400`, `us-east-1`."""
    if len(word) > 63 or "_" in word or not word.isascii():
        return False
    upper = word.isupper()
    if not (upper or word.islower()):
        return False  # `X-Forwarded-For`
    segs = word.lower().split("-")
    first, last = segs[0], segs[-1]
    if not all(segs) or len(first) < 2 or not first.isalpha():
        return False
    if first in _NOT_MACHINE_PREFIXES or _DIGIT.search(last) is None:
        return False
    if first in _REGION_PREFIXES and segs[1] in _DIRECTIONS:
        return False
    if first in _MACHINE_PREFIXES:
        return True  # `SRV-01`, `dc-01`, `desktop-7h3k2lq`, `ip-10-0-3-17`
    if len(segs) == 2:
        return upper and not last.isdigit()  # `WIN-Q0KJ8N1B7GH`; not `COVID-19`, `gpt-4o`
    return not any(seg.isdigit() for seg in segs[1:-1])  # `WS-FIN-042`; not `part-2-of-3`


def _said_before(text: str, s: int, words: frozenset[str]) -> bool:
    """True when one of the two words before position `s` is in `words`."""
    return any(w in words for w in _WORDS.findall(text[max(0, s - 32) : s].lower())[-2:])


def _boring_ip(value: str) -> bool:
    """Addresses nobody looks up: unspecified, loopback, broadcast, netmasks."""
    if value in ("0.0.0.0", "255.255.255.255", "::"):  # noqa: S104 - a value, not a bind
        return True
    if value.startswith("127.") or value == "::1":
        return True
    if value.startswith("255."):
        bits = int(ipaddress.IPv4Address(value))
        inverted = ~bits & 0xFFFFFFFF
        return inverted & (inverted + 1) == 0
    return False


def _ipv4(value: str) -> str | None:
    """Dotted quad, leading zeros tolerated (`192.168.001.010` is how some IPS print it)."""
    m = _IPV4_RE.fullmatch(value)
    if m is None:
        return None
    octets = [int(p) for p in m.groups()]
    return None if max(octets) > 255 else ".".join(map(str, octets))


def _idna(name: str) -> str:
    """`münchen.de` → `xn--mnchen-3ya.de` (IDNA 2003, stdlib); unchanged when it cannot be."""
    if not all(c.isalnum() or c in ".-" for c in name):
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def _ipv6(value: str) -> str | None:
    """Compressed form; the shape rules look at that form, so re-validating it agrees."""
    if value.count(":") < 2 or len(value) > 45 or not value.isascii():
        return None
    try:
        compressed = ipaddress.IPv6Address(value).compressed
    except ValueError:
        return None
    if _DIGIT.search(compressed) is None:
        return None  # `dead::beef`, `Foo::Bar`, `::`
    if "::" not in compressed and max(map(len, compressed.split(":"))) <= 2:
        return None  # `00:16:3e:5a:4b:2c:00:1b`: octets of a MAC-like dump
    return compressed


def _fqdn_syntax(name: str) -> bool:
    return len(name) <= 253 and _FQDN.fullmatch(name) is not None


def _fqdn_kind(name: str, suffixes: tuple[str, ...]) -> IndicatorType | None:
    """`domain` for a name under a real TLD, `hostname` under an internal suffix, else None."""
    name = name.rstrip(".")
    if not _fqdn_syntax(name):
        return None
    for suffix in suffixes:
        if name == suffix or name.endswith("." + suffix):
            return HOSTNAME
    tld = name.rpartition(".")[2]
    if tld in _SPECIAL_PUBLIC:
        return DOMAIN
    if tld in _NONPUBLIC_TLDS or name.endswith(".home.arpa"):
        return HOSTNAME
    return DOMAIN if tld in IANA_TLDS else None


def _trim_url(raw: str) -> str:
    """Drop trailing punctuation and closing brackets that have no opener inside the URL."""
    opens = {o: raw.count(o) for o in "([{"}
    closes = {c: raw.count(c) for c in ")]}"}
    end = len(raw)
    while end:
        c = raw[end - 1]
        if c in _URL_TRAILING:
            end -= 1
        elif c in _CLOSERS and closes[c] > opens[_CLOSERS[c]]:
            closes[c] -= 1
            end -= 1
        else:
            break
    return raw[:end]


def _url(raw: str, suffixes: tuple[str, ...]) -> str | None:
    """Validate a URL and return its normal form (scheme and host lower-cased), else None."""
    scheme, sep, rest = raw.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _SCHEMES or _SPACE.search(rest):
        return None
    cut = _AUTHORITY_END.search(rest)
    end = cut.start() if cut else len(rest)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        host, bracket, port = hostport[1:].partition("]")
        if not bracket or _ipv6(host) is None or (port and not port.startswith(":")):
            return None
        port = port[1:]
        shown = f"[{host.lower()}]"
    else:
        host, _, port = hostport.partition(":")
        low = host.lower()
        if _ipv4(low) is None and _fqdn_kind(low, suffixes) is None:
            return None
        shown = low
    if port and not (port.isdigit() and port.isascii() and int(port) <= 65535):
        return None
    return f"{scheme}://{userinfo}{at}{shown}{':' + port if port else ''}{tail}"


def _url_host(url: str) -> str:
    authority = _AUTHORITY_END.split(url.partition("://")[2], maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        return _ipv6(hostport[1:].partition("]")[0]) or ""
    return hostport.partition(":")[0].rstrip(".")


def _unescape(text: str) -> str:
    """Slack escapes exactly these three; `&amp;` last so `&amp;lt;` stays `&lt;`."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _refang_marked(text: str) -> str:
    """Refang, writing refanged dots as `_MARK` so classification knows what was defanged."""
    text = _BRACKETED.sub(_bracketed, text)
    text = _HXXP.sub(_hxxp, text)  # after the brackets: `hxxp([:]` must refang the same twice
    if _MARK in text:  # `evil [.] com`: one space each side of a bracketed dot goes with it
        text = text.replace(" " + _MARK, _MARK).replace(_MARK + " ", _MARK)
    if " . " in text:
        text = _SPACED.sub(_spaced, text)
    return text


def _hxxp(m: re.Match[str]) -> str:
    return "ftp" if m.group()[0] in "fF" else "http"


def _bracketed(m: re.Match[str]) -> str:
    inner = m.group(1).lower()
    square = m.group()[0] == "["
    if not square and inner in (".", "dot", "at"):
        # `45(.)137`, `smtp(dot)relay`; but `a period (.) ends it` and `(at) noon` are prose.
        text, i, j = m.string, m.start(), m.end()
        if inner == "at" or not (
            i and text[i - 1].isalnum() and j < len(text) and text[j].isalnum()
        ):
            return m.group()
    if inner in (".", "dot"):
        return _MARK
    if inner in ("@", "at"):
        return "@"
    return {":/": "://"}.get(inner, inner)


def _spaced(m: re.Match[str]) -> str:
    """`evil . com` and `10 . 0 . 0 . 1` are joined only when the result is a real name."""
    parts = m.group().split(" . ")
    if all(p.isdigit() for p in parts):
        return _MARK.join(parts) if _ipv4(".".join(parts)) else m.group()
    tld = parts[-1]
    if tld.istitle() or not tld.isalpha() or tld.lower() not in IANA_TLDS:
        return m.group()
    name = ".".join(parts).lower()
    return _MARK.join(parts) if _fqdn_syntax(name) else m.group()


def _rich_elements(elements: object, lines: list[str]) -> None:
    if not isinstance(elements, list):
        return
    for section in elements:
        if not isinstance(section, Mapping):
            continue
        kind = section.get("type")
        if kind == "rich_text_list":
            _rich_elements(section.get("elements"), lines)
            continue
        inner = section.get("elements")
        items = inner if isinstance(inner, list) else []
        text = "".join(_rich_element(el) for el in items if isinstance(el, Mapping))
        lines.append(f"```{text}```" if kind == "rich_text_preformatted" else text)


def _rich_element(el: Mapping[str, object]) -> str:
    def field(name: str) -> str:
        value = el.get(name)
        return value if isinstance(value, str) else ""

    kind = field("type")
    if kind == "text":
        return _escape(field("text"))
    if kind == "link":
        label = field("text")
        return f"<{field('url')}|{_escape(label)}>" if label else f"<{field('url')}>"
    if kind == "user":
        return f"<@{field('user_id')}>"
    if kind == "channel":
        return f"<#{field('channel_id')}>"
    if kind == "usergroup":
        return f"<!subteam^{field('usergroup_id')}>"
    if kind == "broadcast":
        return f"<!{field('range')}>"
    if kind == "emoji":
        return f":{field('name')}:"
    return _escape(field("fallback") or field("text") or field("value"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
