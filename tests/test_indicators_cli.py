"""`mde-bot extract [--jsonl]`, run on in-memory streams."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bot.cli.extract import extract_command


def run(stdin: str, *, jsonl: bool, **kwargs: object) -> tuple[int, str]:
    out = io.StringIO()
    status = extract_command(io.StringIO(stdin), out, jsonl=jsonl, **kwargs)  # type: ignore[arg-type]
    return status, out.getvalue()


def test_plain_mode_prints_one_json_array() -> None:
    status, out = run("C2 is 45[.]137[.]21[.]9, dropper C:\\x\\a.ps1\n", jsonl=False)
    assert status == 0
    assert out.endswith("\n")
    assert json.loads(out) == [
        {"type": "ipv4", "value": "45.137.21.9"},
        {"type": "filename", "value": "a.ps1"},
    ]


def test_plain_mode_empty_input() -> None:
    assert run("", jsonl=False) == (0, "[]\n")


def test_jsonl_adds_indicators_in_order_and_keeps_other_fields() -> None:
    lines = [
        {"id": "a", "text": "evil[.]com", "extra": [1, 2]},
        {"id": "b", "text": "nothing here"},
    ]
    status, out = run("\n".join(json.dumps(x) for x in lines) + "\n", jsonl=True)
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "id": "a",
            "text": "evil[.]com",
            "extra": [1, 2],
            "indicators": [{"type": "domain", "value": "evil.com"}],
        },
        {"id": "b", "text": "nothing here", "indicators": []},
    ]


def test_jsonl_bad_lines_become_error_objects_nothing_lost() -> None:
    stdin = "\n".join(
        [
            '{"text": "10.0.0.1"}',
            "not json",
            "[1, 2]",
            '{"id": 7}',
            "[" * 100_000,
            "",
            '{"text": "10.0.0.2"}\r',
        ]
    )
    status, out = run(stdin, jsonl=True)
    assert status == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 6  # the blank line carries nothing
    assert rows[0]["indicators"] == [{"type": "ipv4", "value": "10.0.0.1"}]
    assert rows[1] == {"error": "line 2: not JSON (JSONDecodeError)", "line": "not json"}
    assert rows[2] == {"error": "line 3: not a JSON object", "line": "[1, 2]"}
    assert rows[3] == {"id": 7, "error": 'line 4: no "text" string'}
    assert rows[4]["error"].startswith("line 5: not JSON")
    assert rows[5]["indicators"] == [{"type": "ipv4", "value": "10.0.0.2"}]


def test_options_are_passed_through() -> None:
    status, out = run(
        "a.corp.example.com 10.0.0.1 10.0.0.2",
        jsonl=False,
        internal_suffixes=["corp.example.com"],
        cap=2,
    )
    assert status == 0
    assert json.loads(out) == [
        {"type": "hostname", "value": "a.corp.example.com"},
        {"type": "ipv4", "value": "10.0.0.1"},
    ]


def test_the_console_script_reads_stdin_and_prints_json() -> None:
    """`mde-bot extract`, as tests and benchmarks call it: a process, stdin in, JSON out."""
    command = Path(sys.executable).with_name("mde-bot")
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(command), "extract"],
        input="beacon to 10[.]0[.]0[.]9 from WS-FIN-042",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"type": "ipv4", "value": "10.0.0.9"},
        {"type": "hostname", "value": "ws-fin-042"},
    ]
