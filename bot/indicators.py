"""PURE: chat text → indicators. (Walking-skeleton version: IPv4 only.)

The interface is what the rest of the bot relies on: `extract(text, ...) -> Extraction`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO


class IndicatorType(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    HOSTNAME = "hostname"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    FILENAME = "filename"


@dataclass(frozen=True, slots=True)
class Indicator:
    type: IndicatorType
    value: str  # refanged, normal form


@dataclass(frozen=True, slots=True)
class Extraction:
    indicators: tuple[Indicator, ...] = ()
    dropped: int = 0  # found beyond the cap


DEFAULT_CAP = 50
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}(?:\[\.\]|\.)){3}\d{1,3}(?![\d.])")


def extract(
    text: str, *, internal_suffixes: Iterable[str] = (), cap: int = DEFAULT_CAP
) -> Extraction:
    del internal_suffixes  # used by the full extractor
    found: dict[str, Indicator] = {}
    for match in _IPV4.finditer(text):
        value = match.group(0).replace("[.]", ".")
        try:
            normal = str(ipaddress.IPv4Address(value))
        except ValueError:
            continue
        found.setdefault(normal, Indicator(IndicatorType.IPV4, normal))
    items = tuple(found.values())
    return Extraction(items[:cap], max(0, len(items) - cap))


def extract_command(stdin: TextIO, stdout: TextIO, *, jsonl: bool) -> int:
    """`mde-bot extract`: stdin text → JSON array; `--jsonl`: objects with `text` → + indicators."""

    def as_json(text: str) -> list[dict[str, str]]:
        return [{"type": i.type.value, "value": i.value} for i in extract(text).indicators]

    if not jsonl:
        json.dump(as_json(stdin.read()), stdout)
        stdout.write("\n")
        return 0
    for line in stdin:
        record = json.loads(line)
        record["indicators"] = as_json(str(record.get("text", "")))
        stdout.write(json.dumps(record) + "\n")
    return 0
