"""Real-world fidelity, class by class: what material written elsewhere looks like, and exactly
what comes out of it. Each table has cases that must be found and prose or code that must not."""

from __future__ import annotations

import pytest

from bot.indicators import extract, refang

Pairs = list[tuple[str, str]]


def pairs(text: str) -> Pairs:
    return [(i.type.value, i.value) for i in extract(text).indicators]


def case(text: str, *expected: tuple[str, str], id: str) -> object:
    return pytest.param(text, list(expected), id=id)


DEFANG_FORMS = [
    case(
        "block pay-sync (.) com and 10 (.) 0 (.) 7 (.) 1",
        ("domain", "pay-sync.com"),
        ("ipv4", "10.0.7.1"),
        id="spaced-round",
    ),
    case(
        "pay-sync [ . ] net, pay-sync  [.]  org, pay-sync ( dot ) io, pay-sync {.} cc",
        ("domain", "pay-sync.net"),
        ("domain", "pay-sync.org"),
        ("domain", "pay-sync.io"),
        ("domain", "pay-sync.cc"),
        id="spaced-inside-and-out",
    ),
    case(
        "pay-sync (dot) biz and 192 [dot] 0 [dot] 2 [dot] 9",
        ("domain", "pay-sync.biz"),
        ("ipv4", "192.0.2.9"),
        id="dot-words-with-spaces",
    ),
    case(
        "http__pay-sync.net/a h__ps://pay-sync.net/b https__pay-sync.net/c",
        ("url", "http://pay-sync.net/a"),
        ("url", "https://pay-sync.net/b"),
        ("url", "https://pay-sync.net/c"),
        id="underscore-schemes",
    ),
    case(
        "hxxp:\\\\pay-sync.net and hxxps:\\\\pay-sync.org",
        ("url", "http://pay-sync.net"),
        ("url", "https://pay-sync.org"),
        id="backslash-schemes",
    ),
    case(
        "hxxps[:]//pay-sync[.]net[/]gate[/]in.php",
        ("url", "https://pay-sync.net/gate/in.php"),
        id="bracketed-colon-and-slashes",
    ),
    case(
        "pay-sync[.net, pay-sync.]org, 172[.16.]5[.9",
        ("domain", "pay-sync.net"),
        ("domain", "pay-sync.org"),
        ("ipv4", "172.16.5.9"),
        id="half-brackets",
    ),
    case(
        "www].[pay-sync].[com and pay-sync}.{io",
        ("domain", "www.pay-sync.com"),
        ("domain", "pay-sync.io"),
        id="odd-brackets",
    ),
    case(
        "pay-sync\\.net and 10\\.4\\.4\\.4 and pay-sync \\. org and http:\\/\\/pay-sync.biz\\/x",
        ("domain", "pay-sync.net"),
        ("ipv4", "10.4.4.4"),
        ("domain", "pay-sync.org"),
        ("url", "http://pay-sync.biz/x"),
        id="escaped-dots-and-slashes",
    ),
    case("pay-sync\\(.\\)net", ("domain", "pay-sync.net"), id="escaped-brackets"),
    case(
        "pay[-]sync.net, pay-sync[,]org, pay-sync[]info",
        ("domain", "pay-sync.net"),
        ("domain", "pay-sync.org"),
        ("domain", "pay-sync.info"),
        id="dash-comma-and-empty",
    ),
    case("http:// pay-sync.net/y", ("url", "http://pay-sync.net/y"), id="space-after-scheme"),
    case("h**ps://pay-sync.net/z", ("url", "https://pay-sync.net/z"), id="starred-scheme"),
]

PROSE = [
    case("a period (.) ends it; it goes [ . ] there", id="bracketed-dots-in-prose"),
    case("meet at (dot) noon, or at (.) ten; see (a) and (b).", id="round-brackets-in-prose"),
    case("he said . Then left . Ok", id="spaced-dots-in-prose"),
    case("the dot com era; a DOT com; evil dot com", id="dot-as-a-word"),
    case("version 2.4.1 (dot) release, build 10.0.19045.2965", id="versions"),
    case("T1059.001, T1566.002 and TA0001", id="attack-ids"),
    case("f(x).y and a[0].b and (see x.)Next and - [ ] todo and f() and []", id="code-and-lists"),
    case("http__init__ and __hxxp__ and the http:// prefix", id="scheme-look-alikes"),
]


@pytest.mark.parametrize(("text", "expected"), DEFANG_FORMS + PROSE)
def test_extracts_exactly(text: str, expected: Pairs) -> None:
    assert pairs(text) == expected


@pytest.mark.parametrize(
    ("text", "refanged"),
    [
        ("pay-sync (.) com", "pay-sync.com"),
        ("pay-sync[.net", "pay-sync.net"),
        ("pay-sync\\.net", "pay-sync.net"),
        ("h__ps://x", "https://x"),
        ("hxxp:\\\\x", "http://x"),
        ("a period (.) ends it", "a period (.) ends it"),
    ],
)
def test_refang_reads_the_same_forms(text: str, refanged: str) -> None:
    """`refang` (used on `/mde` arguments) reads the forms `extract` reads."""
    assert refang(text) == refanged
