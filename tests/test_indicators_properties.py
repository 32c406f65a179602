"""Properties of the extractor over generated chat: it never raises, refanging is idempotent,
every value it reports re-validates, and every value comes from the input (up to refanging and
normal form)."""

from __future__ import annotations

import contextlib
import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.indicators import DEFAULT_CAP, defang, extract, normalize, refang

# Pieces that chat is made of, so that generated text often contains near-indicators.
FRAGMENTS = [
    "10",
    ".",
    "[.]",
    "(.)",
    "{.}",
    "[dot]",
    " . ",
    "0",
    "1",
    "255",
    "256",
    "001",
    "::",
    ":",
    "2001",
    "db8",
    "fe80",
    "%eth0",
    "hxxp",
    "hxxps",
    "http",
    "://",
    "[:]",
    "[://]",
    "/",
    "\\",
    "\\\\",
    "com",
    "zip",
    "exe",
    "local",
    "corp",
    "evil",
    "xn--p1ai",
    "-",
    "_",
    "@",
    "[@]",
    "WS",
    "FIN",
    "042",
    "DESKTOP",
    "SHA",
    "256",
    "version",
    "build",
    "<",
    ">",
    "|",
    "<@U1>",
    "<http://a.com|a.com>",
    "<mailto:x@y.com|x@y.com>",
    "&amp;",
    "&lt;",
    "&gt;",
    "`",
    "```",
    "*",
    "~",
    "(",
    ")",
    "[",
    "]",
    " ",
    "\n",
    "d41d8cd98f00b204e9800998ecf8427e",
    "a1" * 20,
    "é",
    "ü",
    "Ж",
    "\ue000",
    "\ufffd",
    "é.de",
    "İ",
]
chat = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join)
SLACK_MARKUP = re.compile(r"<([^<>|\n]*)(?:\|([^<>\n]*))?>")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _haystack(text: str) -> str:
    """The message as the extractor reads it: each piece refanged on its own."""
    pieces = SLACK_MARKUP.split(text)
    return "\n".join(refang(_unescape(p)) for p in pieces if p)


def _as_idna(hay: str) -> str:
    """The text's names as IDNA writes them (`é.de` → `xn--9ca.de`), label by label."""
    out = []
    # Runs cut at least where the extractor cuts them: symbols (micro, times, arrows) and non-BMP
    # characters end a name like punctuation does.
    for run in re.split(r"[^\w.\-]|[^\x00-\u1fff\u2c00-\uffff]|[\u0080-\u00bf\u00d7\u00f7]", hay):
        for name in (run, run.strip(".-_"), *run.split("-")):  # `a-b.c` is also read as `b.c`
            labels = []
            for label in name.split("."):
                try:
                    labels.append(label.encode("idna").decode("ascii"))
                except UnicodeError:
                    labels.append(label)
            out.append(".".join(labels))
    return "\n".join(out)


def _ipv6_in(hay: str) -> set[str]:
    found = set()
    for run in re.findall(r"[0-9A-Fa-f:.]{2,}", hay):
        for cand in (run, run.rstrip(".")):
            with contextlib.suppress(ValueError):
                found.add(ipaddress.IPv6Address(cand).compressed)
    return found


@settings(max_examples=400, deadline=None)
@given(chat)
def test_never_raises_and_every_value_revalidates(text: str) -> None:
    found = extract(text)
    assert len(found.indicators) <= DEFAULT_CAP
    assert found.dropped == 0 or len(found.indicators) == DEFAULT_CAP  # dropped only at the cap
    for item in found.indicators:
        assert normalize(item.type, item.value) == item.value, item
        assert refang(defang(item.value, item.type)) == item.value, item


@settings(max_examples=400, deadline=None)
@given(chat)
def test_every_value_comes_from_the_input(text: str) -> None:
    hay = _haystack(text)
    low = hay.lower()
    unpadded = re.sub(r"(?<![0-9])0+(?=[0-9])", "", hay)
    for item in extract(text, cap=1000).indicators:
        kind, value = item.type.value, item.value
        if kind == "ipv4":
            assert value in unpadded, item
        elif kind == "ipv6":
            assert value in _ipv6_in(hay), item
        elif kind == "filename":
            assert value in hay, item
        elif value not in low and kind in ("domain", "hostname"):  # written in Unicode
            assert value in _as_idna(low), item
        else:
            assert value in low, item


@settings(max_examples=400, deadline=None)
@given(chat)
def test_refang_is_idempotent(text: str) -> None:
    once = refang(text)
    assert refang(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_unicode_never_raises(text: str) -> None:
    extract(text, internal_suffixes=["corp.example.com"], cap=5)
    refang(text)


@settings(max_examples=200, deadline=None)
@given(chat, st.integers(min_value=0, max_value=5))
def test_cap_keeps_a_prefix(text: str, cap: int) -> None:
    full = extract(text, cap=1000).indicators
    capped = extract(text, cap=cap)
    assert capped.indicators == full[:cap]
    assert capped.dropped == max(0, len(full) - cap)
