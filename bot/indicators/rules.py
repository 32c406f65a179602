"""Validation of one candidate: addresses, names under a TLD, URLs."""

from __future__ import annotations

import ipaddress

from bot.indicators.tlds import IANA_TLDS
from bot.indicators.types import DOMAIN, HOSTNAME, IPV4, IPV6, IndicatorType
from bot.indicators.vocabulary import (
    AUTHORITY_END,
    CLOSERS,
    DIGIT,
    FILE_EXTS,
    FQDN,
    IPV4_RE,
    NONPUBLIC_TLDS,
    OPENERS,
    SCHEMES,
    SPACE,
    SPECIAL_PUBLIC,
    URL_TRAILING,
    WORDS,
)


def looks_like_file(labels: list[str]) -> bool:
    """A name whose extension is also a TLD: a file when it has two labels or a file-type inside."""
    return len(labels) == 2 or any(p.lower() in FILE_EXTS for p in labels[1:-1])


def said_before(text: str, s: int, words: frozenset[str]) -> bool:
    """True when one of the two words before position `s` is in `words`."""
    return any(w.lower() in words for w in WORDS.findall(text, max(0, s - 32), s)[-2:])


def boring_ip(value: str) -> bool:
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


def dotted_quad(value: str) -> str | None:
    """`parse_ipv4` for a value already known to be four runs of one to three ASCII digits."""
    a, b, c, d = map(int, value.split("."))
    return None if max(a, b, c, d) > 255 else f"{a}.{b}.{c}.{d}"


def parse_ipv4(value: str) -> str | None:
    """Dotted quad, leading zeros tolerated (`192.168.001.010` is how some IPS print it)."""
    m = IPV4_RE.fullmatch(value)
    if m is None:
        return None
    octets = [int(p) for p in m.groups()]
    return None if max(octets) > 255 else ".".join(map(str, octets))


def to_ascii(name: str) -> str | None:
    """`münchen.de` → `xn--mnchen-3ya.de` (IDNA 2003, stdlib), or None when it is no name.

    Used to validate international names; they are reported as written (`docs/indicators.md`).
    """
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def parse_ipv6(value: str) -> str | None:
    """Compressed form; the shape rules look at that form, so re-validating it agrees."""
    if value.count(":") < 2 or len(value) > 45 or not value.isascii():
        return None
    try:
        compressed = ipaddress.IPv6Address(value).compressed
    except ValueError:
        return None
    if DIGIT.search(compressed) is None:
        return None  # `dead::beef`, `Foo::Bar`, `::`
    if "::" not in compressed and max(map(len, compressed.split(":"))) <= 2:
        return None  # `00:16:3e:5a:4b:2c:00:1b`: octets of a MAC-like dump
    return compressed


def fqdn_syntax(name: str) -> bool:
    """A dotted name in DNS syntax; international ones are checked in their `xn--` form."""
    if not name.isascii():
        name = to_ascii(name) or ""
    return len(name) <= 253 and FQDN.fullmatch(name) is not None


def name_kind(name: str, suffixes: tuple[str, ...]) -> IndicatorType | None:
    """`domain` for a name under a real TLD, `hostname` under an internal suffix, else None."""
    name = name.rstrip(".")
    if not name.isascii():
        name = to_ascii(name) or ""
    tld = name.rpartition(".")[2]  # looked at first: most dotted words end in no TLD at all
    if tld in IANA_TLDS or tld in SPECIAL_PUBLIC:
        kind: IndicatorType | None = DOMAIN
    elif tld in NONPUBLIC_TLDS:
        kind = HOSTNAME
    elif not suffixes:
        return None
    else:
        kind = None
    if len(name) > 253 or FQDN.fullmatch(name) is None:
        return None
    for suffix in suffixes:
        if name == suffix or name.endswith("." + suffix):
            return HOSTNAME
    return HOSTNAME if name.endswith(".home.arpa") else kind


def idn_host(host: str) -> bool:
    """A host under a top-level domain in another script that the IANA list does not have (the
    test names of the IDN examples, `例子.测试`): a URL's scheme says it is a host all the same."""
    tld = host.rpartition(".")[2]
    if not tld or tld.isascii():
        return False
    ascii_host = to_ascii(host)
    return ascii_host is not None and "." in ascii_host and fqdn_syntax(ascii_host)


def trim_url(raw: str) -> str:
    """Drop trailing punctuation, closing brackets that have no opener inside the URL, and
    opening brackets at its end."""
    opens = {o: raw.count(o) for o in "([{"}
    closes = {c: raw.count(c) for c in ")]}"}
    end = len(raw)
    while end:
        c = raw[end - 1]
        if c in URL_TRAILING:
            end -= 1
        elif c in CLOSERS and closes[c] > opens[CLOSERS[c]]:
            closes[c] -= 1
            end -= 1
        elif c in OPENERS:  # `http://evil.com/[`: an opener that closes nothing
            end -= 1
        else:
            break
    return raw[:end]


def parse_url(raw: str, suffixes: tuple[str, ...]) -> str | None:
    """Validate a URL and return its normal form (scheme and host lower-cased), else None."""
    scheme, sep, rest = raw.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES or SPACE.search(rest):
        return None
    cut = AUTHORITY_END.search(rest)
    end = cut.start() if cut else len(rest)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        host, bracket, port = hostport[1:].partition("]")
        if not bracket or parse_ipv6(host) is None or (port and not port.startswith(":")):
            return None
        port = port[1:]
        shown = f"[{host.lower()}]"
    else:
        host, _, port = hostport.partition(":")
        low = host.lower()
        if parse_ipv4(low) is None and name_kind(low, suffixes) is None and not idn_host(low):
            return None
        shown = low
    if port and not (port.isdigit() and port.isascii() and int(port) <= 65535):
        return None
    return f"{scheme}://{userinfo}{at}{shown}{':' + port if port else ''}{tail}"


def host_kind(host: str, suffixes: tuple[str, ...]) -> IndicatorType | None:
    """What the host of a valid URL is: an address, a domain or a host name."""
    if ":" in host:
        return IPV6
    return IPV4 if parse_ipv4(host) is not None else name_kind(host, suffixes)


def url_host(url: str) -> str:
    authority = AUTHORITY_END.split(url.partition("://")[2], maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        return parse_ipv6(hostport[1:].partition("]")[0]) or ""
    return hostport.partition(":")[0].rstrip(".")
