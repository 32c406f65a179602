"""`mde-bot enrich`: what a message would trigger, as OCSF events, text or Block Kit — on the
embedded simulator when no connector is configured. Run as a process, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.demo.simulator.data import DEMO_SHA256, SHARED_IP
from tests.blockkit import assert_valid_blocks
from tests.ocsf_validation import ocsf_errors

TEXT = f"beacon from 10[.]1[.]2[.]3, dropped {DEMO_SHA256}"


def run_enrich(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`mde-bot enrich ARGS` as a process, without the developer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDE_", "SLACK_", "BOT_"))}
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(Path(sys.executable).with_name("mde-bot")), "enrich", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def enrich(tmp_path: Path, *args: str) -> str:
    done = run_enrich(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ocsf_format_prints_one_valid_event_per_line(tmp_path: Path) -> None:
    events = [json.loads(line) for line in enrich(tmp_path, TEXT, "--format", "ocsf").splitlines()]
    kinds = Counter(e["class_name"] for e in events)
    assert kinds["Device Inventory Info"] >= 1
    assert kinds["Detection Finding"] >= 3
    assert "Security Finding" not in kinds
    for event in events:
        assert ocsf_errors(event) == []


def test_legacy_adds_a_security_finding_per_alert(tmp_path: Path) -> None:
    lines = enrich(tmp_path, TEXT, "--format", "ocsf", "--legacy").splitlines()
    events = [json.loads(line) for line in lines]
    kinds = Counter(e["class_name"] for e in events)
    assert kinds["Security Finding"] == kinds["Detection Finding"] >= 3
    for event in events:
        assert ocsf_errors(event) == []


def test_text_format_reads_like_the_card(tmp_path: Path) -> None:
    text = enrich(tmp_path, TEXT, "--format", "text")
    assert text.startswith("🔴 ")
    assert "ws-fin-042 · contoso" in text
    assert "demo data from the embedded MDE simulator" in text


def test_blocks_format_is_the_payload_the_bot_posts(tmp_path: Path) -> None:
    payload = json.loads(enrich(tmp_path, TEXT, "--format", "blocks"))
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == payload["blocks"][0]["text"]["text"].strip("*")  # the headline
    assert_valid_blocks(payload["blocks"])
    menus = [b["accessory"] for b in payload["blocks"] if "accessory" in b]
    assert menus
    assert all(m["action_id"] == "mde_device_menu" for m in menus)


def test_text_from_stdin_and_a_tenant(tmp_path: Path) -> None:
    done = run_enrich(tmp_path, "--tenant", "nowhere", stdin="10.1.2.3")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "mde-bot: no tenant called 'nowhere' — known tenants: contoso, fabrikam"
    )
    assert "Traceback" not in done.stderr


def mde_bot() -> str:
    return str(Path(sys.executable).with_name("mde-bot"))


def test_ocsf_version_chooses_the_schema_of_every_event(tmp_path: Path) -> None:
    lines = enrich(tmp_path, TEXT, "--format", "ocsf", "--ocsf-version", "1.5.0").splitlines()
    events = [json.loads(line) for line in lines]
    assert {e["metadata"]["version"] for e in events} == {"1.5.0"}
    for event in events:
        assert ocsf_errors(event, version="1.5.0") == []


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """Before: `mde-bot enrich … | head -1` ended in a BrokenPipeError traceback. (The output
    must outgrow the pipe's buffer for the writer to meet the closed end: many devices, and
    every alert twice with --legacy, make about 120 KB.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MDE_", "SLACK_", "BOT_"))}
    many = f"{SHARED_IP} {TEXT} " + " ".join(f"ws-fin-{n:03d}" for n in range(1, 7))
    producer = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [mde_bot(), "enrich", many, "--format", "ocsf", "--legacy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert producer.stdout is not None
    first = producer.stdout.readline()
    producer.stdout.close()  # what `head -1` does once it has its line
    _, errors = producer.communicate(timeout=120)

    assert json.loads(first)["class_uid"] in {5001, 2004}
    assert errors.decode() == ""
    assert producer.returncode == 0


def test_version_is_printed(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [mde_bot(), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "mde-bot 0.1.0"
