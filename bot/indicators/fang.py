"""Slack's escapes and refanging: `[.]`, `hxxp`, `[:]`, `a . com`, … back to what they stand for,
refanged dots marked so the rules know a name was defanged."""

from __future__ import annotations

import re

from bot.indicators.rules import fqdn_syntax, parse_ipv4
from bot.indicators.tlds import IANA_TLDS
from bot.indicators.vocabulary import BRACKETED, HXXP, MARK, SPACED


def unescape(text: str) -> str:
    """Slack escapes exactly these three; `&amp;` last so `&amp;lt;` stays `&lt;`."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def refang_marked(text: str) -> str:
    """Refang, writing refanged dots as `MARK` so classification knows what was defanged."""
    text = BRACKETED.sub(_bracketed, text)
    text = HXXP.sub(_hxxp, text)  # after the brackets: `hxxp([:]` must refang the same twice
    if MARK in text:  # `evil [.] com`: one space each side of a bracketed dot goes with it
        text = text.replace(" " + MARK, MARK).replace(MARK + " ", MARK)
    if " . " in text:
        text = SPACED.sub(_spaced, text)
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
        return MARK
    if inner in ("@", "at"):
        return "@"
    return {":/": "://"}.get(inner, inner)


def _spaced(m: re.Match[str]) -> str:
    """`evil . com` and `10 . 0 . 0 . 1` are joined only when the result is a real name."""
    parts = m.group().split(" . ")
    if all(p.isdigit() for p in parts):
        return MARK.join(parts) if parse_ipv4(".".join(parts)) else m.group()
    tld = parts[-1]
    if tld.istitle() or not tld.isalpha() or tld.lower() not in IANA_TLDS:
        return m.group()
    name = ".".join(parts).lower()
    return MARK.join(parts) if fqdn_syntax(name) else m.group()


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
