"""Slack's escapes and refanging: `[.]`, `hxxp`, `[:]`, `a . com`, … back to what they stand for,
refanged dots marked so the rules know a name was defanged. The forms read are listed in
`docs/indicators.md`."""

from __future__ import annotations

import re

from bot.indicators.rules import fqdn_syntax, parse_ipv4
from bot.indicators.tlds import IANA_TLDS
from bot.indicators.vocabulary import (
    DEFANG_BRACKETS,
    ESCAPED_BRACKET,
    ESCAPED_DOT,
    HXXP,
    MARK,
    MARK_SPACES,
    SPACED,
    SPACED_SPLIT,
)


def refang_marked(text: str) -> str:
    """Refang, writing refanged dots as `MARK` so classification knows what was defanged."""
    escaped = "\\" in text
    if escaped:  # `evil\(.\)com`, `https:\/\/evil.com\/a`
        text = ESCAPED_BRACKET.sub(r"\1\2\3", text)
    spaced: list[bool] = []  # set when a bracketed dot stands between spaces: `evil (.) com`
    text = DEFANG_BRACKETS.sub(lambda m: _bracketed(m, spaced), text)
    text = HXXP.sub(_hxxp, text)  # after the brackets: `hxxp([:]` must refang the same twice
    if escaped:  # `evil\.com`, and `evil\[.]com` refanged twice over
        text = ESCAPED_DOT.sub(MARK, text)
    if MARK in text and (" " + MARK in text or MARK + " " in text or "\t" in text):
        text = MARK_SPACES.sub("", text)  # `evil [.] com`: the spaces around it go with the dot
    if spaced or " . " in text or (escaped and " \\. " in text):
        text = SPACED.sub(_spaced, text)
    return text


def _hxxp(m: re.Match[str]) -> str:
    scheme = "ftp" if m.group()[0] in "fF" else "http"
    return scheme + m.group(1).lower() + ("://" if m.group(2) else "")


def _between_names(m: re.Match[str]) -> bool:
    text, i, j = m.string, m.start(), m.end()
    return bool(i and text[i - 1].isalnum() and j < len(text) and text[j].isalnum())


def _bracketed(m: re.Match[str], spaced: list[bool]) -> str:
    if m.group() == "[.]":
        return MARK  # by far the most common
    if m.lastgroup == "after":
        return ""  # `example.]com`: the dot before the closers stays
    if m.lastgroup != "full":
        return MARK  # `example[]com`, `example[.com`, `www].[example`
    inner = (m.group("inner") or "").lower()
    square = m.group()[0] == "["
    # Round and curly brackets, and the rarer square forms, only between name characters:
    # `45(.)137`, `foo[-]bar`; but `a period (.) ends it`, `(at) noon`, `f()`, `- [ ]` are prose
    # and code. Spaced ones (`evil (.) com`) are left to `_spaced`, which checks the name.
    guarded = ("", "-", ",") if square else ("", "-", ",", ".", "dot", "at")
    if inner in guarded and (inner == "at" or not _between_names(m)):
        if inner in (".", "dot"):
            spaced.append(True)
        return m.group()
    if inner in (".", "dot", ","):
        return MARK
    if inner in ("@", "at"):
        return "@"
    return {":/": "://"}.get(inner, inner)


def _spaced(m: re.Match[str]) -> str:
    """`evil . com`, `evil (.) com`, `10 (dot) 0 (dot) 0 (dot) 1` are joined only when the result
    is a real name or address: `a period (.) ends it` and `see you . Then` stay prose."""
    parts = SPACED_SPLIT.split(m.group())
    joined = MARK.join(parts)
    plain = joined.replace(MARK, ".")
    if plain.replace(".", "").isdigit():
        return joined if parse_ipv4(plain) else m.group()
    tld = plain.rpartition(".")[2]
    if tld.istitle() or not tld.isalpha() or tld.lower() not in IANA_TLDS:
        return m.group()
    return joined if fqdn_syntax(plain.lower()) else m.group()
