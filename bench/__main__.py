"""`python -m bench [--quick] [--only 1,3] [--skip 6]`: the benchmark suite (`make bench`).

Runs the sections in order, each with its own simulator, Slack stand-in and bot process
(`bench.common`), and writes `bench/results/latest.json` (every figure, the raw details, the
machine) and `bench/results/latest.md` (the table), and prints the table. Every figure is a
ratio or a count from this one run; absolute times are printed beside them, labelled. A quick
run writes `latest-quick.*`, a partial one (`--only`, `--skip`) `latest-partial.*`.

    1 ack          bench.ack          5 faults       bench.faults
    2 end to end   bench.e2e          6 extraction   bench.extraction (another module's run())
    3 API economy  bench.economy      7 memory       bench.memory
    4 budget       bench.budget       8 abuse        bench.abuse
    9 phone        bench.phone (the cards at phone size, drawn by headless Chromium)
   10 actions      bench.actions (response actions: confirm → MDE, exactly once, refusals)
   11 replicas     bench.replicas (3 `mde-bot serve` behind a balancer, real Redis and PostgreSQL)

`--quick` runs a smaller version of each section (about a minute in all, extraction aside).
The exit status is 0 even when a figure misses its target: the table says so; it is 1 when a
section could not run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.child import ROOT
from bench.common import Figure, SectionResult, rounded

RESULTS = ROOT / "bench" / "results"
SECTIONS: dict[str, tuple[str, str]] = {
    "1": ("ack", "bench.ack"),
    "2": ("end to end", "bench.e2e"),
    "3": ("API economy", "bench.economy"),
    "4": ("budget", "bench.budget"),
    "5": ("faults", "bench.faults"),
    "6": ("extraction", "bench.extraction"),
    "7": ("memory", "bench.memory"),
    "8": ("abuse", "bench.abuse"),
    "9": ("phone", "bench.phone"),
    "10": ("actions", "bench.actions"),
    "11": ("replicas", "bench.replicas"),
}


# --------------------------------------------------------------------------- section 6


def _extraction(quick: bool) -> SectionResult:
    """Section 6 is another module's: `bench.extraction.run(quick) -> dict`. Its figures are
    reported as it measures them; its own markdown follows the table."""
    section = "6 extraction"
    try:
        extraction = importlib.import_module("bench.extraction")
        run: Callable[[bool], dict[str, Any]] = extraction.run
    # Any failure to import another engineer's module means the same thing here.
    except Exception as exc:  # noqa: BLE001
        note = f"{type(exc).__name__}: {exc}"
        return SectionResult(
            [Figure(section, "extraction benchmark", "not available", "", None, note)]
        )
    raw = run(quick)
    result = SectionResult(details=raw)
    try:
        result.markdown = str(extraction.markdown(raw))
    # Their report may lag behind their data; the JSON keeps the data either way.
    except Exception as exc:  # noqa: BLE001
        result.markdown = f"(bench.extraction.markdown failed: {type(exc).__name__}: {exc})"
    throughput = raw.get("throughput") if isinstance(raw, dict) else None
    if isinstance(throughput, dict):
        ours = throughput.get("ours_mb_s")
        result.add(
            Figure(
                section,
                "our throughput (MB/s)",
                ours if isinstance(ours, int | float) else "n/a",
                absolute="chat-like corpus",
            )
        )
        for peer, row in throughput.items():
            if isinstance(row, dict) and isinstance(row.get("ratio"), int | float):
                result.add(
                    Figure(
                        section,
                        f"throughput: ours ÷ {peer}",
                        row["ratio"],
                        absolute=f"{peer} {row.get('mb_s')} MB/s",
                    )
                )
    worst = raw.get("worst_case") if isinstance(raw, dict) else None
    if isinstance(worst, dict):
        rows = [r for r in worst.values() if isinstance(r, dict)]
        ours_worst = max(
            (r["ours_s"] for r in rows if isinstance(r.get("ours_s"), float)), default=None
        )
        if ours_worst is not None:
            peers = {
                k: v
                for r in rows
                for k, v in r.items()
                if k != "ours_s" and isinstance(v, int | float)
            }
            result.add(
                Figure(
                    section,
                    "worst case over the hostile inputs (s): ours",
                    rounded(ours_worst, 4),
                    absolute=f"{len(rows)} hostile inputs; peers per input in the table below"
                    if peers
                    else "peers: not measured (see below)",
                )
            )
    return result


# --------------------------------------------------------------------------- running


def _machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            out = subprocess.run(  # noqa: S603 - a fixed git command line
                ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip()

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_at_start": [rounded(x, 2) for x in os.getloadavg()],
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def _run_section(key: str, quick: bool) -> tuple[SectionResult, float, str | None]:
    name, module_name = SECTIONS[key]
    started = time.monotonic()
    try:
        if key == "6":
            result = _extraction(quick)
        else:
            module = importlib.import_module(module_name)
            result = module.run(quick)
    # One broken section must not lose the others' figures; it is reported as a MISS.
    except Exception as exc:  # noqa: BLE001
        trace = traceback.format_exc(limit=6)
        result = SectionResult(
            [Figure(f"{key} {name}", "section ran", "failed", "ran", False, str(exc)[:200])]
        )
        return result, time.monotonic() - started, trace
    return result, time.monotonic() - started, None


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def markdown(
    figures: list[Figure], extras: dict[str, str], machine: dict[str, Any], meta: dict[str, Any]
) -> str:
    lines = [
        f"# Benchmarks{' (quick)' if meta['quick'] else ''}",
        "",
        f"{meta['finished']} · {machine['cpus']} CPUs · Python {machine['python']} · "
        f"{machine['platform']} · commit {machine['git_commit'][:10]}"
        f"{' (uncommitted changes)' if machine['git_dirty'] else ''} · load average at start "
        f"{machine['load_average_at_start'][0]} · run took {meta['seconds']:.0f} s",
        "",
        "Values are ratios or counts from this run; absolute times and sizes are labelled (abs.).",
        "",
        "| § | figure | value | target | status | absolute |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        section = f.section.split(" ", 1)[0]
        lines.append(
            f"| {section} | {_cell(f.name)} | {_cell(f.value)} | {_cell(f.target)} "
            f"| {f.status} | {_cell(f.absolute)} |"
        )
    for title, text in extras.items():
        if text:
            lines += ["", f"## {title}", "", text]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller version of each section")
    parser.add_argument("--only", default="", help="sections to run, e.g. 1,2 (default: all)")
    parser.add_argument("--skip", default="", help="sections to leave out, e.g. 6")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args(argv)
    chosen = [k for k in SECTIONS if not args.only or k in args.only.split(",")]
    chosen = [k for k in chosen if k not in args.skip.split(",")]
    machine = _machine()
    started = time.monotonic()
    figures: list[Figure] = []
    extras: dict[str, str] = {}
    sections: dict[str, Any] = {}
    failed = False
    for key in chosen:
        name = SECTIONS[key][0]
        print(f"bench: {key} {name} …", file=sys.stderr, flush=True)
        result, seconds, trace = _run_section(key, args.quick)
        failed |= trace is not None
        if trace:
            print(trace, file=sys.stderr)
        figures += result.figures
        extras[f"{key} {name}"] = result.markdown
        sections[f"{key} {name}"] = {
            "seconds": rounded(seconds, 1),
            "figures": [f.as_dict() for f in result.figures],
            "details": result.details,
            "bot_log": result.bot_log,
            "error": trace,
        }
        misses = sum(1 for f in result.figures if f.passed is False)
        print(f"bench: {key} {name}: {seconds:.0f} s, {misses} missed", file=sys.stderr)
    machine["load_average_at_end"] = [rounded(x, 2) for x in os.getloadavg()]
    meta = {
        "quick": args.quick,
        "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.monotonic() - started,
    }
    table = markdown(figures, extras, machine, meta)
    # A quick or partial run never overwrites the full run's results.
    stem = (
        "latest-quick" if args.quick else "latest-partial" if args.only or args.skip else "latest"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        **meta,
        "seconds": rounded(meta["seconds"], 1),
        "machine": machine,
        "figures": [f.as_dict() for f in figures],
        "sections": sections,
    }
    (args.out / f"{stem}.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
