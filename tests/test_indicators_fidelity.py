"""Real-world fidelity, class by class: what material written elsewhere looks like, and exactly
what comes out of it. Each table has cases that must be found and prose or code that must not."""

from __future__ import annotations

import pytest

from bot.indicators import (
    HASH_LENGTHS,
    HASH_TYPES,
    IndicatorType,
    hash_type,
    normalize,
    refang,
)
from tests.test_indicators import Pairs, case, pairs

MAC_ADDRESSES = [
    case("port 12 learned BC-24-11-5F-0A-9E", id="upper-dashes"),
    case("client 3c-22-fb-8a-91-0e roamed", id="lower-dashes"),
    case("EUI-64 0A-1B-2C-FF-FE-3D-4E-5F", id="eui-64"),
    case(
        "BC-24-11-5F-0A-9E on WS-FIN-042",
        ("hostname", "ws-fin-042"),
        id="machine-names-still-found",
    ),
]

CLOUD_IDS = [
    case("arn:aws:ec2:eu-west-1:210987654321:instance/i-07c1d2e3f4a5b6c7d", id="aws-instance"),
    case("arn:aws:rds:eu-central-1:210987654321:db:billing-replica2", id="aws-rds"),
    case("arn:aws-us-gov:lambda:us-gov-west-1:210987654321:function:sync-job7", id="aws-partition"),
    case(
        "/subscriptions/0f8e2c1a-5b7d-4e3f-9a6b-1c2d3e4f5a6b/resourceGroups/rg-soc-02/providers/"
        "Microsoft.Compute/virtualMachines/vm-jump-03",
        id="azure-resource-id",
    ),
    case("projects/sec-lab-17/zones/europe-west4-b/instances/edge-proxy-5", id="gcp-resource-name"),
    case(
        "role arn:aws:iam::210987654321:role/ir-responder assumed from 198.51.100.23 on SRV-DC01",
        ("ipv4", "198.51.100.23"),
        ("hostname", "srv-dc01"),
        id="indicators-around-an-arn",
    ),
    case(
        "arn:aws:iam::210987654321:role/ir-responder SRV-DC01\n"
        "/subscriptions/0f8e2c1a-5b7d-4e3f-9a6b-1c2d3e4f5a6b/x WS-FIN-042",
        ("hostname", "srv-dc01"),
        ("hostname", "ws-fin-042"),
        id="machines-after-cloud-ids",
    ),
]

MARKDOWN_LINKS = [
    case(
        "[report](https://files-sync.net/r/77)",
        ("url", "https://files-sync.net/r/77"),
        id="label-and-url",
    ),
    case(
        "[https://files-sync.net/a.exe](https://files-sync.net/a.exe)",
        ("url", "https://files-sync.net/a.exe"),
        id="url-as-label",
    ),
    case(
        "see [one](https://a-sync.net/1) and [two](hxxps://b-sync[.]net/2).",
        ("url", "https://a-sync.net/1"),
        ("url", "https://b-sync.net/2"),
        id="two-links-one-defanged",
    ),
    case(
        "[cdn-sync.org](https://cdn-sync.org/x)",
        ("domain", "cdn-sync.org"),
        ("url", "https://cdn-sync.org/x"),
        id="name-as-label",
    ),
    case(
        "https://en.wikipedia.org/wiki/Foo_(bar) stays whole",
        ("url", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        id="brackets-inside-a-url",
    ),
]

IPV6_AFTER_PUNCTUATION = [
    case("beacons to...2001:db8:7::15", ("ipv6", "2001:db8:7::15"), id="after-an-ellipsis"),
    case(
        ".2001:db8:7::16 and ,2001:db8:7::17",
        *[("ipv6", f"2001:db8:7::{n}") for n in (16, 17)],
        id="after-a-dot-and-a-comma",
    ),
    case("(2001:db8:7::18).", ("ipv6", "2001:db8:7::18"), id="in-brackets-before-a-dot"),
    case(
        "see...evil-sync.net and 10.2.3.4...",
        ("domain", "evil-sync.net"),
        ("ipv4", "10.2.3.4"),
        id="names-and-addresses-after-an-ellipsis",
    ),
    case("12:30:45 and ab:cd:ef:01:23:45 and std::map", id="not-addresses"),
]

UNICODE_CLOSERS = [
    case(
        "見て\uff1ahttps://evil-sync.net/a\u3002",
        ("url", "https://evil-sync.net/a"),
        id="ideographic-stop",
    ),
    case(
        "\uff08https://evil-sync.net/b\uff09",
        ("url", "https://evil-sync.net/b"),
        id="full-width-parens",
    ),
    case(
        "\u300chttps://evil-sync.net/c\u300d",
        ("url", "https://evil-sync.net/c"),
        id="corner-brackets",
    ),
    case(
        "\uff1chttps://evil-sync.net/d\uff1e",
        ("url", "https://evil-sync.net/d"),
        id="full-width-angles",
    ),
    case("»https://evil-sync.net/e« …", ("url", "https://evil-sync.net/e"), id="guillemets"),
    case(
        "https://evil-sync.net/f… and “https://evil-sync.net/g”",
        ("url", "https://evil-sync.net/f"),
        ("url", "https://evil-sync.net/g"),
        id="ellipsis-and-curly-quotes",
    ),
    case("\u276chttps://evil-sync.net/h\u276d", ("url", "https://evil-sync.net/h"), id="ornaments"),
    case(
        "https://evil-sync.net/wiki/東京 and http://foo.com/unicode_(✪)_x",
        ("url", "https://evil-sync.net/wiki/東京"),
        ("url", "http://foo.com/unicode_(✪)_x"),
        id="letters-and-symbols-stay",
    ),
]

OTHER_SCHEMES = [
    case(
        "beacon tcp://relay-sync[.]com:8443/in",
        ("url", "tcp://relay-sync.com:8443/in"),
        ("domain", "relay-sync.com"),
        id="tcp-defanged",
    ),
    case(
        "udp://203.0.113.77:53 and ssh://bastion.ops-sync.net",
        ("url", "udp://203.0.113.77:53"),
        ("ipv4", "203.0.113.77"),
        ("url", "ssh://bastion.ops-sync.net"),
        ("domain", "bastion.ops-sync.net"),
        id="udp-and-ssh",
    ),
    case(
        "smb://fs01.corp.local/share$ rdp://[2001:db8::44]:3389",
        ("url", "smb://fs01.corp.local/share$"),
        ("hostname", "fs01.corp.local"),
        ("url", "rdp://[2001:db8::44]:3389"),
        ("ipv6", "2001:db8::44"),
        id="smb-and-rdp",
    ),
    case(
        "sftp://drop-sync.org/in telnet://drop-sync.org",
        ("url", "sftp://drop-sync.org/in"),
        ("domain", "drop-sync.org"),
        ("url", "telnet://drop-sync.org"),
        id="host-reported-once",
    ),
    case(
        "ftp://drop-sync.org/pub https://drop-sync.org/x",
        ("url", "ftp://drop-sync.org/pub"),
        ("url", "https://drop-sync.org/x"),
        id="web-schemes-keep-their-host-quiet",
    ),
    case(
        "udp://010.000.000.077:53",
        ("url", "udp://010.000.000.077:53"),
        ("ipv4", "10.0.0.77"),
        id="host-address-in-normal-form",
    ),
    case("rdar://12345 and tcp://localhost:80", id="no-host"),
    case("ssh://127.0.0.1:22", ("url", "ssh://127.0.0.1:22"), id="loopback-host-not-reported"),
]

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

INTERNATIONAL_NAMES = [
    case("bücher.de and BÜCHER.DE", ("domain", "bücher.de"), id="as-written-lower-case"),
    case("xn--bcher-kva.de", ("domain", "xn--bcher-kva.de"), id="punycode-stays-punycode"),
    case(
        "пример.рф and 例子.中国",
        ("domain", "пример.рф"),
        ("domain", "例子.中国"),
        id="other-scripts",
    ),
    case(
        "http://☺.damowmow.com/ and ☺.damowmow.com",
        ("url", "http://☺.damowmow.com/"),
        id="never-cut-down",
    ),
    case("http://例子.测试/p", ("url", "http://例子.测试/p"), id="idn-tld-in-a-url"),
    case("evil-sync.net中 and example.cöm", id="not-names"),
]

HOST_CONTEXT = [
    case("isolate host dc01 now", ("hostname", "dc01"), id="host"),
    case("seen on DC01 and on FS02", ("hostname", "dc01"), ("hostname", "fs02"), id="on"),
    case("device wks7 is offline", ("hostname", "wks7"), id="device"),
    case("/mde host web3", ("hostname", "web3"), id="mde-host-argument"),
    case(
        "hostname: SQL01, DeviceName=`lt0042`",
        ("hostname", "sql01"),
        ("hostname", "lt0042"),
        id="key-value",
    ),
    case(
        "isolate PC22 and host dc01.corp.local",
        ("hostname", "pc22"),
        ("hostname", "dc01.corp.local"),
        id="isolate-and-a-dotted-name",
    ),
]

NOT_HOSTS = [
    case("on it; on call; host a meeting; the host is down; device is fine", id="prose"),
    case("on Win10, on EC2, on S3, on Q3, on P1 tickets, on day10", id="on-needs-a-machine-name"),
    case("on SHA256 and MD5, on T1059, on INC0012345, on KB5034441, on x64", id="on-tech-words"),
    case("host 443, device 2, host: 10, on 3rd floor", id="numbers"),
    case("hosting dc01 and devices wks7 and onboard pc22", id="longer-words"),
]

CODE = [
    case("System.IO and Microsoft.NET and System.Net.Http", id="namespaces"),
    case("Microsoft.Storage/storageAccounts and Microsoft.Compute", id="resource-providers"),
    case("os.path, os.name, req.host, self.app, this.name", id="attributes"),
    case("subprocess.run(x) and done.Next", id="calls-and-sentences"),
    case(
        "Google.com, EVIL.COM", ("domain", "google.com"), ("domain", "evil.com"), id="domains-stay"
    ),
    case(
        "res.zip and report.PDF",
        ("filename", "res.zip"),
        ("filename", "report.PDF"),
        id="files-stay",
    ),
]

NO_CUT_DOWN = [
    case("http__evil-cdn.net is read whole", ("url", "http://evil-cdn.net"), id="scheme-join"),
    case("build_42-evil.com", id="not-a-shorter-domain"),
    case("10.0.0.1-10.0.0.9", ("ipv4", "10.0.0.1"), ("ipv4", "10.0.0.9"), id="ranges-still-split"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    MAC_ADDRESSES
    + CLOUD_IDS
    + MARKDOWN_LINKS
    + IPV6_AFTER_PUNCTUATION
    + UNICODE_CLOSERS
    + OTHER_SCHEMES
    + DEFANG_FORMS
    + PROSE
    + INTERNATIONAL_NAMES
    + HOST_CONTEXT
    + NOT_HOSTS
    + CODE
    + NO_CUT_DOWN,
)
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


def test_international_names_revalidate() -> None:
    """Reported as written; `normalize` (used on button payloads) accepts them back."""
    assert normalize(IndicatorType.DOMAIN, "Bücher.DE") == "bücher.de"
    assert normalize(IndicatorType.HOSTNAME, "bücher.local") == "bücher.local"
    assert normalize(IndicatorType.DOMAIN, "bücher.cöm") is None


def test_one_hash_length_table() -> None:
    assert dict(HASH_LENGTHS) == {
        32: IndicatorType.MD5,
        40: IndicatorType.SHA1,
        64: IndicatorType.SHA256,
    }
    assert frozenset(HASH_LENGTHS.values()) == HASH_TYPES
    assert [hash_type("a" * n) for n in (32, 40, 64, 128)] == [*HASH_LENGTHS.values(), None]
