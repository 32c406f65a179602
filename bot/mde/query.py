"""Validation and OData building: nothing from a user reaches a URL path or a `$filter` unless it
passed one of these checks first. Pure functions."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import timedelta

from bot.errors import InputError
from bot.indicators import hash_type

_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MACHINE_ID = re.compile(r"^[0-9a-f]{40}$")
_ALERT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")

# How far back MDE answers "which device had this IP at time T" (findbyip).
FINDBYIP_WINDOW = timedelta(days=30)

# Longest `$filter` we send: comfortably below URL limits of proxies and of MDE itself.
MAX_FILTER_CHARS = 2000


def odata_string(value: str) -> str:
    """An OData string literal: quoted, with embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def any_equal(field: str, values: Iterable[str]) -> str:
    """`field eq 'a' or field eq 'b' ...` for a validated field name."""
    return " or ".join(f"{field} eq {odata_string(v)}" for v in values)


def any_prefix(field: str, values: Iterable[str]) -> str:
    return " or ".join(f"startswith({field},{odata_string(v)})" for v in values)


def chunks_for_filter(values: list[str], clause_chars: int) -> list[list[str]]:
    """Split `values` so that each `or` filter built from them stays under MAX_FILTER_CHARS."""
    chunks: list[list[str]] = []
    current: list[str] = []
    length = 0
    for value in values:
        cost = clause_chars + len(value) + 4  # " or " between clauses
        if current and length + cost > MAX_FILTER_CHARS:
            chunks.append(current)
            current, length = [], 0
        current.append(value)
        length += cost
    if current:
        chunks.append(current)
    return chunks


def ip(value: str) -> str:
    """An IPv4 or IPv6 address in its compressed form. IPv6 zone ids (`fe80::1%eth0`) are
    refused: an interface name means nothing to MDE, and the `%` would start an escape (and
    whatever follows it a query string) in the URL paths the address goes into."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise InputError(f"{value!r} is not an IP address") from None
    if "%" in value or getattr(address, "scope_id", None):
        raise InputError(f"{value!r} is not an IP address MDE knows (it names a zone)")
    return address.compressed


# Addresses that only exist inside a network. Python's `is_private` also counts documentation
# and benchmarking ranges, which on the internet are as public as any: not those.
_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def is_internal_ip(value: str) -> bool:
    """An address that names a device inside a network (a NIC's `lastIpAddress`), not one seen
    on the internet (`lastExternalIpAddress`)."""
    address = ipaddress.ip_address(value)
    return any(address in network for network in _INTERNAL_NETWORKS)


def hostname(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InputError(f"{value!r} is not a host name")
    return name


_PREFIX = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}$")


def hostname_or_prefix(value: str) -> str:
    """A host name, or the start of one (`ws-fin-`): the characters of host names only."""
    name = value.strip().lower()
    try:
        return hostname(name)
    except InputError:
        if not _PREFIX.match(name) or ".." in name:
            raise InputError(f"{value!r} is not a host name") from None
        return name


def file_hash(value: str) -> tuple[str, str]:
    """(kind, lower-case hex) for an MD5, SHA-1 or SHA-256: `("sha1", "…")`."""
    kind = hash_type(value)
    if kind is None or not _HEX_RE.match(value):
        raise InputError(f"{value!r} is not an MD5, SHA-1 or SHA-256 hash")
    return kind.value, value.lower()


_FILE_NAME = re.compile(r"^[^\x00-\x1f\x7f/\\:*?\"<>|]{1,255}$")


def file_name(value: str) -> str:
    """A bare file name (no path, no characters Windows forbids in names)."""
    name = value.strip()
    if not _FILE_NAME.match(name) or name in {".", ".."}:
        raise InputError(f"{value!r} is not a file name")
    return name


def machine_id(value: str) -> str:
    value = value.lower()
    if not _MACHINE_ID.match(value):
        raise InputError(f"{value!r} is not an MDE device id")
    return value


def alert_id(value: str) -> str:
    if not _ALERT_ID.match(value):
        raise InputError(f"{value!r} is not an MDE alert id")
    return value
