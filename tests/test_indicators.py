"""Indicator extraction, rule by rule: each case states the text and exactly what comes out."""

from __future__ import annotations

import pytest

from bot.indicators import (
    DEFAULT_CAP,
    Extraction,
    Indicator,
    IndicatorType,
    defang,
    extract,
    extract_from_blocks,
    normalize,
    refang,
    text_of_rich_text,
)

Pairs = list[tuple[str, str]]


def pairs(text: str, **kwargs: object) -> Pairs:
    found = extract(text, **kwargs)  # type: ignore[arg-type]
    return [(i.type.value, i.value) for i in found.indicators]


def case(text: str, *expected: tuple[str, str], id: str) -> object:
    return pytest.param(text, list(expected), id=id)


SLACK = [
    case(
        "<http://x.evil.com/p|x.evil.com/p>", ("url", "http://x.evil.com/p"), id="link-is-one-url"
    ),
    case("<http://cdn-sync.info|cdn-sync.info>", ("url", "http://cdn-sync.info"), id="auto-link"),
    case("<https://a.com/q?x=1&amp;y=2>", ("url", "https://a.com/q?x=1&y=2"), id="link-amp"),
    case(
        "<https://evil.com|Click 10.1.2.3>",
        ("url", "https://evil.com"),
        ("ipv4", "10.1.2.3"),
        id="label-is-read",
    ),
    case(
        "<http://setup.zip|setup.zip> then ran it",
        ("filename", "setup.zip"),
        id="linkified-file-name-is-a-file",
    ),
    case(
        "hxxp://<http://update.site/i|update.site/i>",
        ("url", "http://update.site/i"),
        id="defanged-scheme-before-a-link",
    ),
    case("<mailto:bob@evil.com|bob@evil.com>", ("domain", "evil.com"), id="mailto-is-its-label"),
    case(
        "<@U04QK8ZP2M1> <#C05KX2R7N3Q|incident-2291> <!here> <!subteam^S04|@ir-oncall>",
        id="mentions-are-never-indicators",
    ),
    case(
        "&lt;b&gt; 10.0.0.1 &amp;&amp; 10.0.0.2",
        ("ipv4", "10.0.0.1"),
        ("ipv4", "10.0.0.2"),
        id="entities",
    ),
    case('```| where RemoteIP == "10.9.8.7"```', ("ipv4", "10.9.8.7"), id="code-block"),
    case("`C:\\Temp\\a.ps1`", ("filename", "a.ps1"), id="code-span"),
    case("&gt; quoted 198.51.100.7", ("ipv4", "198.51.100.7"), id="quote"),
]

DEFANG = [
    case(
        "evil[.]com evil(.)net evil{.}org evil[dot]io evil(dot)xyz evil [.] top",
        ("domain", "evil.com"),
        ("domain", "evil.net"),
        ("domain", "evil.org"),
        ("domain", "evil.io"),
        ("domain", "evil.xyz"),
        ("domain", "evil.top"),
        id="dots",
    ),
    case(
        "hxxp://a[.]com/x hXXps[:]//b[.]com/y hxxps[://]c[.]com/z fxp://d[.]com/",
        ("url", "http://a.com/x"),
        ("url", "https://b.com/y"),
        ("url", "https://c.com/z"),
        ("url", "ftp://d.com/"),
        id="schemes",
    ),
    case(
        "45(.)137(.)21(.)9 and 1[.]2[.]3[.]4",
        ("ipv4", "45.137.21.9"),
        ("ipv4", "1.2.3.4"),
        id="ipv4",
    ),
    case(
        "payroll-update . online and 203 . 0 . 113 . 58",
        ("domain", "payroll-update.online"),
        ("ipv4", "203.0.113.58"),
        id="spaced-dots",
    ),
    case("x[@]evil[.]com", ("domain", "evil.com"), id="at"),
    case("see hxxps://Evil[.]Com/Path", ("url", "https://evil.com/Path"), id="host-lowered-only"),
    case("a period (.) ends it; meet (at) noon; see you . Then", id="prose-is-left-alone"),
]

URLS = [
    case(
        "(see hxxp://files-drop[.]cc/u/payload[.]exe).",
        ("url", "http://files-drop.cc/u/payload.exe"),
        id="trailing-punctuation",
    ),
    case(
        "https://en.wikipedia.org/wiki/Foo_(bar) x",
        ("url", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        id="balanced-parens-kept",
    ),
    case('href="https://a.com/x">', ("url", "https://a.com/x"), id="quoted"),
    case(
        "http://[2001:db8::15]:8080/admin/",
        ("url", "http://[2001:db8::15]:8080/admin/"),
        id="ipv6-host",
    ),
    case("ftp://203.0.113.5:2121/pub/", ("url", "ftp://203.0.113.5:2121/pub/"), id="ip-host-port"),
    case("http://localhost:8080/ http://1.2.3/ http://a.com:99999/", id="invalid-hosts-and-ports"),
    case(
        "https://www.virustotal.com/gui/file/" + "a1" * 32 + "/detection",
        ("url", "https://www.virustotal.com/gui/file/" + "a1" * 32 + "/detection"),
        ("sha256", "a1" * 32),
        id="hash-in-url-path",
    ),
    case(
        "HTTPS://CDN.Example.NET/Download/Setup.EXE",
        ("url", "https://cdn.example.net/Download/Setup.EXE"),
        id="case",
    ),
]

IPS = [
    case(
        "10.20.1.15:51522 -> 203.0.113.45:443",
        ("ipv4", "10.20.1.15"),
        ("ipv4", "203.0.113.45"),
        id="ports",
    ),
    case("src=192.168.001.010", ("ipv4", "192.168.1.10"), id="leading-zeros"),
    case(
        "10.20.1.0/24, 100.64.3.20.",
        ("ipv4", "10.20.1.0"),
        ("ipv4", "100.64.3.20"),
        id="cidr-and-period",
    ),
    case("1.2.3 and 1.3.6.1.4.1.311 and 256.1.1.1 and 1.2.3.4.5", id="not-addresses"),
    case("version 1.2.3.4, build 10.0.0.1, v2.0.1.15", id="versions"),
    case("0.0.0.0 127.0.0.1 255.255.255.255 255.255.240.0 ::1", id="boring-addresses"),
    case("10.0.0.1-10.0.0.9", ("ipv4", "10.0.0.1"), ("ipv4", "10.0.0.9"), id="range"),
    case("\\\\10.20.4.22\\C$", ("ipv4", "10.20.4.22"), id="unc"),
    case(
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        ("ipv6", "2001:db8:85a3::8a2e:370:7334"),
        id="ipv6-compressed",
    ),
    case(
        "[2a0d:5600:24:1a3::7]:443 fe80::1%eth0",
        ("ipv6", "2a0d:5600:24:1a3::7"),
        ("ipv6", "fe80::1"),
        id="ipv6-bracket-zone",
    ),
    case(
        "12:30:45 3c:22:fb:8a:91:0e 00:16:3e:5a:4b:2c:00:1b std::vector dead::beef",
        id="ipv6-look-alikes",
    ),
]

HASHES = [
    case(
        "MD5=F38DA7B26CAF8661FBF1111FA9F1CB31,SHA1:" + "a1" * 20 + " (" + "0f" * 32 + ").",
        ("md5", "f38da7b26caf8661fbf1111fa9f1cb31"),
        ("sha1", "a1" * 20),
        ("sha256", "0f" * 32),
        id="by-length",
    ),
    case(
        "serial 5c3a9f01b27e44d8, id 6564a1f2c9e77b0012ab34cd, " + "a1" * 24 + " " + "c3" * 64,
        id="other-lengths",
    ),
    case("x" + "a1" * 16 + " " + "a1" * 16 + "_x " + "0" * 32, id="boundaries-and-all-digits"),
    case("checkout@" + "5a" * 20, ("sha1", "5a" * 20), id="after-at"),
]

NAMES = [
    case(
        "block github-releases[.]zip",
        ("domain", "github-releases.zip"),
        id="defanged-zip-is-domain",
    ),
    case("ran setup.zip and readme.md", ("filename", "setup.zip"), id="zip-file"),
    case("the domain update.zip", ("domain", "update.zip"), id="said-domain"),
    case("cdn.evil.zip", ("domain", "cdn.evil.zip"), id="three-labels-is-domain"),
    case(
        "Invoice.pdf.zip and Invoice_77812.pdf.exe",
        ("filename", "Invoice.pdf.zip"),
        ("filename", "Invoice_77812.pdf.exe"),
        id="double-extension",
    ),
    case(
        "update.js notes.py clip.mov Zoom.app",
        ("filename", "update.js"),
        ("filename", "notes.py"),
        ("filename", "clip.mov"),
        ("filename", "Zoom.app"),
        id="extension-that-is-a-tld",
    ),
    case("the node.js app", id="product-names"),
    case("done.Next time", id="sentence-join"),
    case("subprocess.run(cmd)", id="code-call"),
    case(
        "Microsoft.NET\\Framework64\\InstallUtil.exe",
        ("filename", "InstallUtil.exe"),
        id="directory-is-not-a-domain",
    ),
    case("j.doe@contoso.com", ("domain", "contoso.com"), id="email-domain-only"),
    case(
        "xn--micrsoft-qbh.com and München.de",
        ("domain", "xn--micrsoft-qbh.com"),
        ("domain", "münchen.de"),
        id="idn-as-written",
    ),
    case(
        "mail-relay.bulk-notify[.]net.", ("domain", "mail-relay.bulk-notify.net"), id="trailing-dot"
    ),
    case("e.g. i.e. a.m. 3.5 GB T1059.001 foo.bar.baz", id="not-names"),
]

INTERNAL = [
    case(
        "srv-sql01.corp.contoso.local ip-10-0-3-17.ec2.internal nas.lan",
        ("hostname", "srv-sql01.corp.contoso.local"),
        ("hostname", "ip-10-0-3-17.ec2.internal"),
        ("hostname", "nas.lan"),
        id="non-public-tlds",
    ),
    case(
        "wiki.corp.contoso.com and contoso.com",
        ("domain", "wiki.corp.contoso.com"),
        ("domain", "contoso.com"),
        id="public-without-suffix-setting",
    ),
]

MACHINES = [
    case(
        "DESKTOP-7H3K2LQ LAPTOP-AB12CD34 WS-FIN-042 SRV-DC01 MAC-MKTG-07 SRV-01",
        ("hostname", "desktop-7h3k2lq"),
        ("hostname", "laptop-ab12cd34"),
        ("hostname", "ws-fin-042"),
        ("hostname", "srv-dc01"),
        ("hostname", "mac-mktg-07"),
        ("hostname", "srv-01"),
        id="machines",
    ),
    case(
        "build-runner-07 and WIN-Q0KJ8N1B7GH",
        ("hostname", "build-runner-07"),
        ("hostname", "win-q0kj8n1b7gh"),
        id="more-machines",
    ),
    case(
        "SHA-256 UTF-8 CVE-2024-3400 T1059.001 COVID-19 X-Forwarded-For ISO-8601 PR-1234 "
        "us-east-1 gpt-4o 2026-11-27 00-1A-2B-3C-4D-5E 5f1c2d3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f "
        "i-0a1b2c3d4e5f67890 follow-up part-2-of-3 MS17-010",
        id="look-alikes",
    ),
    case(
        "\\\\SRV-FS02\\ADMIN$ and \\\\fileserver\\share",
        ("hostname", "srv-fs02"),
        ("hostname", "fileserver"),
        id="unc-hosts",
    ),
    case("CONTOSO\\svc-backup01", id="domain-user-is-not-a-host"),
]

FILES = [
    case("C:\\ProgramData\\Intel\\igfxsvc.dll", ("filename", "igfxsvc.dll"), id="windows-path"),
    case(
        "/var/tmp/kinsing.sh and ~/Downloads/ChromeUpdate.dmg",  # noqa: S108 - chat text
        ("filename", "kinsing.sh"),
        ("filename", "ChromeUpdate.dmg"),
        id="posix-path",
    ),
    case("/tmp/.X11-unix/.x/xmrig /etc/ld.so.preload", id="no-extension"),  # noqa: S108
    case(
        'cmd /c powershell -c "iwr x -OutFile $env:TEMP\\a.ps1; & $env:TEMP\\a.ps1"',
        ("filename", "a.ps1"),
        id="command-line",
    ),
    case("EXCEL.EXE then excel.exe", ("filename", "EXCEL.EXE"), id="dedupe-case-insensitive"),
    case(
        "_evil.exe_ and *drop.dll*",
        ("filename", "evil.exe"),
        ("filename", "drop.dll"),
        id="slack-formatting",
    ),
    case(
        "d41d8cd98f00b204e9800998ecf8427e.exe",
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("filename", "d41d8cd98f00b204e9800998ecf8427e.exe"),
        id="named-by-hash",
    ),
    case("config.json data.csv image.png rclone.conf", id="not-searched-for"),
]


@pytest.mark.parametrize(
    ("text", "expected"), SLACK + DEFANG + URLS + IPS + HASHES + NAMES + INTERNAL + MACHINES + FILES
)
def test_extracts_exactly(text: str, expected: Pairs) -> None:
    assert pairs(text) == expected


def test_internal_suffixes_make_hostnames() -> None:
    """Configured suffixes (any case, with or without dots) turn public-looking names internal."""
    text = "wiki.corp.contoso.com, corp.contoso.com, contoso.com, http://hr.corp.contoso.com/x"
    assert pairs(text, internal_suffixes=[".CORP.contoso.com."]) == [
        ("hostname", "wiki.corp.contoso.com"),
        ("hostname", "corp.contoso.com"),
        ("domain", "contoso.com"),
        ("url", "http://hr.corp.contoso.com/x"),
    ]


def test_first_seen_order_and_dedupe() -> None:
    text = "10.0.0.2 evil.com 10.0.0.1 10[.]0[.]0[.]2 EVIL.COM"
    assert pairs(text) == [("ipv4", "10.0.0.2"), ("domain", "evil.com"), ("ipv4", "10.0.0.1")]


def test_cap_reports_dropped() -> None:
    text = " ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(60))
    found = extract(text)
    assert len(found.indicators) == DEFAULT_CAP == 50
    assert found.dropped == 10
    assert found.indicators[0] == Indicator(IndicatorType.IPV4, "10.0.0.1")
    small = extract(text, cap=3)
    assert (len(small.indicators), small.dropped) == (3, 57)
    assert extract(text, cap=-1) == Extraction((), 60)


def test_empty_and_quiet_messages() -> None:
    assert extract("") == Extraction()
    assert extract("joining the bridge in 2, grabbing coffee first") == Extraction()


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("ipv4", "10.0.0.1", "10[.]0[.]0[.]1"),
        ("domain", "evil.com", "evil[.]com"),
        ("url", "https://evil.com/a.php?x=1.2", "hxxps://evil[.]com/a.php?x=1.2"),
        ("url", "ftp://1.2.3.4/x", "fxp://1[.]2[.]3[.]4/x"),
        ("filename", "setup.zip", "setup[.]zip"),
        ("filename", "a.exe", "a.exe"),
        ("sha256", "a1" * 32, "a1" * 32),
        ("ipv6", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_defang_for_output_and_back(kind: str, value: str, shown: str) -> None:
    assert defang(value, kind) == shown
    assert refang(shown) == value


def test_defang_guesses_without_a_type() -> None:
    assert defang("http://a.b/c") == "hxxp://a[.]b/c"
    assert defang("a.b.c") == "a[.]b[.]c"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ipv4", "010.001.002.003", "10.1.2.3"),
        ("ipv4", "1.2.3", None),
        ("ipv6", "2001:0DB8::0001", "2001:db8::1"),
        ("domain", "Evil.COM.", "evil.com"),
        ("domain", "evil.notatld", None),
        ("domain", "host.local", None),
        ("hostname", "WS-FIN-042", "ws-fin-042"),
        ("hostname", "host.local", "host.local"),
        ("hostname", "bad_name", None),
        ("url", "HTTP://A.COM/X", "http://a.com/X"),
        ("url", "javascript:alert(1)", None),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "d41d8cd98f00b204e9800998ecf8427e", None),
        ("filename", "Invoice.pdf.exe", "Invoice.pdf.exe"),
        ("filename", "C:\\x\\a.exe", None),
        ("filename", "notes.txt", "notes.txt"),
        ("filename", "photo.png", None),
    ],
)
def test_normalize_revalidates_values(kind: str, value: str, expected: str | None) -> None:
    """What a handler uses on values that come back in button payloads."""
    assert normalize(kind, value) == expected


def test_rich_text_blocks() -> None:
    """Blocks become `event.text`'s encoding: escaped text, `<url|text>` links, mentions."""
    blocks = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "user", "user_id": "U1"},
                        {"type": "text", "text": " see "},
                        {"type": "link", "url": "http://evil.com/x", "text": "evil.com/x"},
                        {"type": "text", "text": " & 10[.]0[.]0[.]1 <b>"},
                        {"type": "emoji", "name": "eyes"},
                    ],
                },
                {
                    "type": "rich_text_preformatted",
                    "elements": [{"type": "text", "text": "C:\\Temp\\drop.dll"}],
                },
                {
                    "type": "rich_text_list",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "text", "text": "WS-FIN-042"}],
                        },
                        "junk",
                    ],
                },
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "ignored 9.9.9.9"}},
    ]
    assert text_of_rich_text(blocks) == (
        "<@U1> see <http://evil.com/x|evil.com/x> &amp; 10[.]0[.]0[.]1 &lt;b&gt;:eyes:\n"
        "```C:\\Temp\\drop.dll```\n"
        "WS-FIN-042"
    )
    assert [(i.type.value, i.value) for i in extract_from_blocks(blocks).indicators] == [
        ("url", "http://evil.com/x"),
        ("ipv4", "10.0.0.1"),
        ("filename", "drop.dll"),
        ("hostname", "ws-fin-042"),
    ]


def test_rich_text_tolerates_junk() -> None:
    assert text_of_rich_text([{"type": "rich_text", "elements": "nope"}, {}]) == ""
    assert (
        text_of_rich_text([{"type": "rich_text", "elements": [{"type": "x", "elements": 3}]}]) == ""
    )
