"""`_Found`: the indicators of one message, accumulated as the text is scanned."""

from __future__ import annotations

from bot.indicators.fang import _refang_marked, _unescape
from bot.indicators.rules import (
    _boring_ip,
    _fqdn_kind,
    _idna,
    _ipv4,
    _ipv6,
    _looks_like_file,
    _machine_name,
    _said_before,
    _trim_url,
    _url,
    _url_host,
)
from bot.indicators.types import _HASH_TYPES, FILENAME, HOSTNAME, IPV4, IPV6, URL, IndicatorType
from bot.indicators.vocabulary import (
    _ALNUM,
    _AUTHORITY_END,
    _DOMAIN_WORDS,
    _EDGE,
    _FILE_EXTS,
    _HEX,
    _HEX_RUN,
    _LABEL,
    _MARK,
    _NOT_DOMAIN_EXTS,
    _NOT_FILES,
    _SCHEMES,
    _TOKEN,
    _URL,
    _VERSION_WORDS,
)


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
