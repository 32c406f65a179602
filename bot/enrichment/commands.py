"""PURE: the text after `/mde` → a `Command`.

    /mde <free text>                 every indicator in the text
    /mde ip <address> [at <time>]    devices with that IP (then: ±15 min around <time>)
    /mde host <name>                 a device by host name (exact, then prefix)
    /mde hash <md5|sha1|sha256>      a file's profile, alerts and devices
    /mde file <name>                 alerts whose evidence names the file
    /mde alerts <host or device id>  a device's alerts, all of them
    /mde device <host or device id>  a device's details
    /mde check                       test every connection
    /mde help
    --tenant <alias>[,<alias>]       anywhere: ask only these tenants

Times: ISO 8601 (`2026-11-27T21:58Z`, `2026-11-27 21:58`, UTC unless an offset is given), or
relative (`90m ago`, `2h ago`, `3d ago`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.errors import InputError
from bot.indicators import Indicator, IndicatorType, refang
from bot.mde import query


class Verb(StrEnum):
    LOOKUP = "lookup"
    IP = "ip"
    HOST = "host"
    HASH = "hash"
    FILE = "file"
    ALERTS = "alerts"
    DEVICE = "device"
    CHECK = "check"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    argument: str = ""  # the free text, or the one value the verb takes
    tenants: tuple[str, ...] = ()
    at: datetime | None = None
    indicator: Indicator | None = None  # for ip/host/hash/file: the validated value


# mrkdwn, with Slack's control characters escaped.
HELP = """\
*/mde* looks indicators up in Defender for Endpoint.
• `/mde &lt;any text&gt;` — every IP, host name, URL, domain, hash and file name in it
  (defanged is fine)
• `/mde ip 10.1.2.3 [at 2026-11-27T21:58Z | 2h ago]` — the device that had the IP (then)
• `/mde host WS-FIN-042` · `/mde hash &lt;md5/sha1/sha256&gt;` · `/mde file invoice.js`
• `/mde alerts &lt;host or device id&gt;` · `/mde device &lt;host or device id&gt;`
• `/mde check` — test the MDE connections · add `--tenant &lt;alias&gt;` to ask one tenant"""

_TENANT = re.compile(r"(?:^|\s)--tenant(?:=|\s+)(\S+)")
_RELATIVE = re.compile(r"^(\d{1,4})\s*(m|min|mins|h|hr|hrs|d|day|days)\s+ago$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: datetime) -> datetime:
    """An absolute or relative time, in UTC; never in the future."""
    text = text.strip()
    if match := _RELATIVE.match(text):
        amount, unit = int(match.group(1)), match.group(2)[0].lower()
        moment = now - timedelta(**{_UNITS[unit]: amount})
    else:
        try:
            moment = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
        except ValueError:
            raise InputError(
                f"{text!r} is not a time I understand",
                hint="use 2026-11-27T21:58Z, 2026-11-27 21:58 (UTC) or 2h ago",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    if moment > now + timedelta(minutes=1):
        raise InputError("that time is in the future")
    if moment < now - query.FINDBYIP_WINDOW:
        raise InputError(
            "MDE keeps which device had which IP for 30 days only",
            hint="ask about the last 30 days, or drop 'at …' for the device that has it now",
        )
    return moment.astimezone(UTC)


def _single(verb: Verb, rest: str) -> str:
    value = rest.strip()
    if not value or len(value.split()) != 1:
        raise InputError(f"/mde {verb} takes one value", hint=f"for example: {_EXAMPLES[verb]}")
    return value


_EXAMPLES = {
    Verb.IP: "/mde ip 10.1.2.3 at 2h ago",
    Verb.HOST: "/mde host WS-FIN-042",
    Verb.HASH: "/mde hash 8563f95b2f8a284fc99da44500cd51a77c1ff36c",
    Verb.FILE: "/mde file invoice.js",
    Verb.ALERTS: "/mde alerts WS-FIN-042",
    Verb.DEVICE: "/mde device WS-FIN-042",
}


def _indicator(verb: Verb, value: str) -> Indicator:
    value = refang(value)
    if verb is Verb.IP:
        address = query.ip(value)
        kind = IndicatorType.IPV6 if ":" in address else IndicatorType.IPV4
        return Indicator(kind, address)
    if verb is Verb.HOST:
        name = query.hostname_or_prefix(value)
        return Indicator(IndicatorType.HOSTNAME, name)
    if verb is Verb.HASH:
        hash_kind, normal = query.file_hash(value)
        return Indicator(IndicatorType(hash_kind), normal)
    return Indicator(IndicatorType.FILENAME, query.file_name(value))


def parse_command(text: str, *, now: datetime | None = None) -> Command:
    now = now or datetime.now(UTC)
    tenants: list[str] = []
    for match in _TENANT.finditer(text):
        tenants.extend(a for a in match.group(1).lower().split(",") if a)
    text = _TENANT.sub(" ", text).strip()
    head, _, rest = text.partition(" ")
    verb = next((v for v in Verb if v.value == head.lower()), None)
    if not text or verb is Verb.HELP:
        return Command(Verb.HELP, tenants=tuple(tenants))
    if verb is None or verb is Verb.LOOKUP:
        return Command(Verb.LOOKUP, text, tuple(tenants))
    if verb is Verb.CHECK:
        return Command(Verb.CHECK, tenants=tuple(tenants))
    at: datetime | None = None
    if verb is Verb.IP and (split := re.split(r"\s+at\s+", rest.strip(), maxsplit=1))[1:]:
        rest, at = split[0], parse_time(split[1], now)
    value = _single(verb, rest)
    if verb in {Verb.ALERTS, Verb.DEVICE}:
        try:
            value = query.machine_id(value)
        except InputError:
            value = query.hostname(refang(value))
        return Command(verb, value, tuple(tenants))
    indicator = _indicator(verb, value)
    return Command(verb, indicator.value, tuple(tenants), at, indicator)
