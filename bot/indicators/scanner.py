"""`Found`: the indicators of one message, accumulated as the text is scanned."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from bot.indicators.fang import refang_marked
from bot.indicators.names import (
    code_like,
    context_name,
    glued_symbol,
    in_cloud_id,
    machine_name,
)
from bot.indicators.rules import (
    boring_ip,
    dotted_quad,
    host_kind,
    looks_like_file,
    name_kind,
    parse_ipv4,
    parse_ipv6,
    parse_url,
    said_before,
    trim_url,
    url_host,
)
from bot.indicators.types import FILENAME, HASH_LENGTHS, HOSTNAME, IPV4, IPV6, URL, IndicatorType
from bot.indicators.vocabulary import (
    ALNUM,
    AUTHORITY_END,
    CODE_SELF,
    CONTEXT_NAME,
    DOMAIN_WORDS,
    EDGE,
    FILE_EXTS,
    HEX,
    HEX_RUN,
    HOST_SCHEMES,
    IPV6_AT,
    LABEL,
    MARK,
    NON_ASCII,
    NOT_DOMAIN_EXTS,
    NOT_FILES,
    SCHEME_LENGTHS,
    SCHEMES,
    TOKEN,
    TOKEN_UNC,
    URL_RUN,
    VERSION_WORDS,
    WEAK_HOST_WORDS,
)
from bot.slack.mrkdwn import unescape

# Where a word sits once trimmed: start, end, the characters before and after it, whether it is
# the host of a UNC path (`\\host\share`), whether it is a segment of a Windows or POSIX path.
# A plain tuple: one is made for every word with a dot or a hyphen.
Spot = tuple[int, int, str, str, bool, bool]


def spot(text: str, word: str, s: int, e: int, end: int) -> Spot | None:
    """Where `word` (`text[s:e]`) sits once edge punctuation is trimmed (a leading `_` only as the
    pair of a trailing one: italics); None when nothing but punctuation is left. `end` bounds the
    look at what follows."""
    if word[0] in ".-_" or word[-1] in EDGE:
        lead = len(word) - len(word.lstrip(".-_" if word[-1] == "_" else ".-"))
        s, e = s + lead, e - (len(word) - len(word.rstrip(EDGE)))
        if s >= e:
            return None
    prev = text[s - 1] if s else " "
    unc = in_path = False
    if prev == "\\" or prev == "/":
        unc = s >= 2 and text[s - 2] == "\\" and (s < 3 or text[s - 3] != "\\")
        in_path = not unc
    return s, e, prev, text[e] if e < end else " ", unc, in_path


def url_ends(text: str, colon: int, stop: int) -> list[int]:
    """Where URLs end inside the run of URL characters `text[colon:stop]`, in order, `stop` last:
    where a Markdown link's label ends (`[x](http://y)`), and at punctuation, spaces and format
    characters of other scripts that the URL pattern lets through (U+276F, U+27E9)."""
    ends = []
    md = text.find("](", colon, stop)
    while md >= 0:
        ends.append(md)
        md = text.find("](", md + 2, stop)
    ends.extend(
        c.start()
        for c in NON_ASCII.finditer(text, colon, stop)
        if unicodedata.category(c.group())[:2] in _URL_ENDS
    )
    ends.sort()
    ends.append(stop)
    return ends


def scheme_length(text: str, colon: int) -> int:
    """The length of the known scheme that ends at `colon` (the `://` there), or 0."""
    for n in SCHEME_LENGTHS:
        before = text[colon - n - 1 : colon - n]
        if text[colon - n : colon].lower() in SCHEMES and not (
            before.isascii() and before.isalnum()
        ):
            return n
    return 0


_URL_ENDS = frozenset(("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Zs", "Zl", "Zp", "Cf"))


class Found:
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
        url = parse_url(unescape(target), self.suffixes)
        if url is None:
            self.scan(label or "")
            return
        host = url_host(url)
        said = Found(self.suffixes)
        said.scan(label or "")
        bare = label is not None and unescape(label).lower() == host
        if bare and any(kind is FILENAME for kind, _ in said.items):
            self.items.update((k, v) for k, v in said.items.items() if k not in self.items)
            return  # Slack linkified a file name (`setup.zip`), not a site
        self._url(url)
        for (kind, _), value in said.items.items():
            if value != host or kind is FILENAME:
                self.add(kind, value)

    def scan(self, text: str) -> None:
        if not text:
            return
        text = refang_marked(unescape(text))
        token = TOKEN_UNC if "\\\\" in text else TOKEN
        pos = 0
        for start, stop, url in self._urls(text) if "://" in text else ():
            self._tokens(token, text, pos, start)
            self._url(url)
            pos = stop
        self._tokens(token, text, pos, len(text))

    def _urls(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Each valid URL in `text`: where it starts and stops, and its normal form.

        A run of URL characters may hold several URLs (`[https://a](https://a)`, other scripts'
        punctuation between them); each is read from its scheme to its own end, so a long run is
        read about once, whatever it holds."""
        for run in URL_RUN.finditer(text):
            colon, stop = run.start(), run.end()
            ends = url_ends(text, colon, stop)
            i = 0
            while colon >= 0:
                start = colon - scheme_length(text, colon)
                while ends[i] <= colon:
                    i += 1
                end = ends[i]
                raw = trim_url(text[start:end])
                url = parse_url(raw.replace(MARK, ".").replace(":// ", "://", 1), self.suffixes)
                if url is not None:
                    yield start, start + len(raw), url
                colon = text.find("://", max(end, colon + 3), stop)
                while colon >= 0 and not scheme_length(text, colon):
                    colon = text.find("://", colon + 3, stop)

    def _url(self, url: str) -> None:
        """A URL, the hashes in its path, and for other protocols than the web's its host."""
        self.add(URL, url)
        scheme, _, rest = url.partition("://")
        cut = AUTHORITY_END.search(rest)
        if cut is not None:
            for m in HEX_RUN.finditer(rest, cut.start()):
                self._hash(m.group())
        if scheme in HOST_SCHEMES:
            host = url_host(url)
            kind = host_kind(host, self.suffixes)
            if kind is IPV4:
                host = parse_ipv4(host) or host  # `udp://010.0.0.7` is `10.0.0.7`
            if kind is not None and not boring_ip(host):
                self.add(kind, host)

    def _hash(self, word: str) -> bool:
        kind = HASH_LENGTHS.get(len(word))
        if kind is None:
            return False
        low = word.lower()
        if HEX.fullmatch(low) is None or low.isdigit() or low.isalpha():
            return False
        self.add(kind, low)
        return True

    def _ipv4_at(self, text: str, s: int, v4: str | None) -> None:
        """An IPv4 address (normal form, or None) found at `s`, unless it is a version number."""
        if v4 is not None and not boring_ip(v4) and not said_before(text, s, VERSION_WORDS):
            self.add(IPV4, v4)

    def _ipv6(self, run: str) -> bool:
        """Report an IPv6 address unless it is `::1` or `::`; False when `run` is none."""
        v6 = parse_ipv6(run.rstrip("."))
        if v6 is not None and not boring_ip(v6):
            self.add(IPV6, v6)
        return v6 is not None

    def _tokens(self, token: re.Pattern[str], text: str, start: int, end: int) -> None:
        """Classify the tokens of `text[start:end]` that `token` (`TOKEN` or `TOKEN_UNC`) finds."""
        for m in token.finditer(text, start, end):
            fast = m.lastgroup  # None for a run of name characters, the most common token
            if fast is None or fast == "unc":
                self._word(text, m.start(), m.end(), end)
            elif fast == "v4":
                self._ipv4_at(text, m.start(), dotted_quad(m.group()))
            elif fast == "hex":
                self._hash(m.group())
            elif fast == "v6":
                self._ipv6(m.group())
            else:
                self._context(text, m, end)

    def _context(self, text: str, m: re.Match[str], end: int) -> None:
        """`host dc01`, `on DC01`: a dot-less name right after a word that says it is a host."""
        name = CONTEXT_NAME.match(text, m.end(), end)
        if name is not None and context_name(name.group(1), m.group().lower() in WEAK_HOST_WORDS):
            self.add(HOSTNAME, name.group(1).lower())

    def _word(self, text: str, s: int, e: int, end: int) -> None:
        """Classify one colon-free run `text[s:e]`; `end` bounds the look at what follows."""
        word = text[s:e]
        if ".." in word:
            self._ellipsis(text, s, word, end)
            return
        before, after = text[s - 1] if s else " ", text[e] if e < end else " "
        if (before > "\x7f" or after > "\x7f") and (glued_symbol(before) or glued_symbol(after)):
            return  # `☺.damowmow.com`: the tail of a name we cannot read whole
        where = spot(text, word, s, e, end)
        if where is None:
            return  # only punctuation
        s, e, _, nxt, _, _ = where
        if nxt == "@":
            return  # the local part of an e-mail address
        if nxt == ":" and e - s <= 4:
            v6 = IPV6_AT.match(text, s, end)  # `see...2001:db8::1`, `.2001:db8::1`
            if v6 is not None and self._ipv6(v6.group()):
                return
        if e - s != len(word):
            word = text[s:e]
        defanged = MARK in word
        if defanged:
            word = word.replace(MARK, ".")
        if "." not in word:
            self._bare(text, word, where)
        elif len(word) <= 255:
            self._dotted(text, word, defanged, where, end)

    def _ellipsis(self, text: str, s: int, word: str, end: int) -> None:
        """`see...evil.com`: an ellipsis is no part of a name; each side is read on its own."""
        for part in word.split(".."):
            if part.strip("."):
                self._word(text, s, s + len(part), end)
            s += len(part) + 2

    def _dotted(self, text: str, word: str, defanged: bool, where: Spot, end: int) -> None:
        """A word with dots: an IPv4 address or range, a domain or host name, a file name."""
        s, _, prev, nxt, unc, in_path = where
        if word.replace(".", "").isdigit():
            self._ipv4_at(text, s, parse_ipv4(word))
            return
        if not unc and (nxt == "\\" or (in_path and nxt == "/")):
            return  # a directory: `Microsoft.NET\Framework64`, `/opt/app.d/`
        labels = word.split(".")
        lower = word.lower()
        if (
            not defanged
            and not unc
            and (
                (labels[-1].istitle() and labels[-2].islower())
                or (len(labels) == 2 and labels[0] in CODE_SELF)
            )
        ):
            return  # `done.Next`, `it.So`: two sentences without a space; `self.app`: code
        kind = name_kind(lower, self.suffixes)
        if prev == "@" or unc:
            if kind is not None:
                self.add(kind, lower)
            return
        if kind is not None and not defanged and (nxt == "(" or code_like(word, labels)):
            kind = None  # `subprocess.run(`, `System.IO`, `os.name`: code
        if self._file(text, s, word, labels, None if in_path else kind, defanged) or in_path:
            return
        if kind is not None:
            if defanged or len(labels) > 2 or labels[-1].lower() not in NOT_DOMAIN_EXTS:
                self.add(kind, lower)
        elif "-" in word:
            self._range(text, where, end)

    def _file(
        self,
        text: str,
        s: int,
        word: str,
        labels: list[str],
        kind: IndicatorType | None,
        defanged: bool,
    ) -> bool:
        """True when `word` is settled as a file name (reported) or a product (`node.js`).

        `kind` is what the name is as a domain (None in a path); a name that is both is a file
        unless it was defanged, has a file type nowhere inside, or a word before says domain."""
        ext = labels[-1].lower()
        if ext not in FILE_EXTS or ALNUM.search(word, 0, len(word) - len(ext) - 1) is None:
            return False
        if word.lower() in NOT_FILES:
            return True
        if kind is not None and (
            defanged or not looks_like_file(labels) or said_before(text, s, DOMAIN_WORDS)
        ):
            return False
        if len(labels) == 2:
            self._hash(labels[0])  # a file named by its hash
        self.add(FILENAME, word)
        return True

    def _range(self, text: str, where: Spot, end: int) -> None:
        """`10.0.0.1-10.0.0.9`: each address on its own. Names are not split (`a-b.evil.com` is
        not `b.evil.com`)."""
        s, e = where[0], where[1]
        parts = text[s:e].split("-")
        dotted = [p.replace(MARK, ".") for p in parts if "." in p or MARK in p]
        if not all(p.replace(".", "").isdigit() for p in dotted):
            return
        for part in parts:
            if "." in part or MARK in part:
                self._word(text, s, s + len(part), end)
            s += len(part) + 1

    def _bare(self, text: str, word: str, where: Spot) -> None:
        """A run without dots: a hash, a machine name, or the host of a UNC path."""
        s, _, prev, _, unc, _ = where
        lower = word.lower()
        if "-" in word:
            machine = prev != "\\" and machine_name(word) and not in_cloud_id(text, s)
            if (unc or machine) and LABEL.fullmatch(lower):
                self.add(HOSTNAME, lower)
        elif not self._hash(word) and unc and LABEL.fullmatch(lower) and not word.isdigit():
            self.add(HOSTNAME, lower)
