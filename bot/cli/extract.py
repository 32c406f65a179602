"""`mde-bot extract [--jsonl]`: the indicator extractor over standard input.

- plain: all of stdin is one message; writes a JSON array of `{"type": T, "value": V}`.
- `--jsonl`: one JSON object a line, with a `text` string; writes each object back on its own line,
  in the same order, with an added `indicators` array. A line that is not such an object comes
  back on its line as an object with an `error` field (and the raw line, or the object itself),
  so nothing is lost and nothing raises. Blank lines carry nothing and are skipped.

Exit status: 0, or 1 when at least one line had an error (its output is still complete).
The streams are passed in, so the command is tested on `io.StringIO`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from bot.indicators import DEFAULT_CAP, Extraction, extract

__all__ = ["extract_command"]


def extract_command(
    stdin: TextIO,
    stdout: TextIO,
    *,
    jsonl: bool,
    internal_suffixes: Iterable[str] = (),
    cap: int = DEFAULT_CAP,
) -> int:
    suffixes = tuple(internal_suffixes)
    if not jsonl:
        found = extract(stdin.read(), internal_suffixes=suffixes, cap=cap)
        stdout.write(json.dumps(_pairs(found)) + "\n")
        return 0
    status = 0
    for number, raw in enumerate(stdin, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        record, text = _record(line, number)
        if text is None:
            status = 1
        else:
            found = extract(text, internal_suffixes=suffixes, cap=cap)
            record["indicators"] = _pairs(found)
        stdout.write(json.dumps(record) + "\n")
    return status


def _pairs(found: Extraction) -> list[dict[str, str]]:
    return [{"type": i.type.value, "value": i.value} for i in found.indicators]


def _record(line: str, number: int) -> tuple[dict[str, object], str | None]:
    """The line's object and its text, or an object that says what is wrong with the line."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too-long ints, deep nesting
        return {"error": f"line {number}: not JSON ({exc.__class__.__name__})", "line": line}, None
    if not isinstance(value, dict):
        return {"error": f"line {number}: not a JSON object", "line": line}, None
    text = value.get("text")
    if not isinstance(text, str):
        return {**value, "error": f'line {number}: no "text" string'}, None
    return value, text
