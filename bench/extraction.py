"""Indicator extraction: accuracy, throughput and worst case, ours against three peers.

`run(quick=False) -> dict` measures, in one go:

1. accuracy on the labelled dev corpus (`bench.scoring`): precision, recall, F1 per type and
   overall, for `bot.indicators.extract` and for iocextract, ioc-finder and iocsearcher, each
   judged only on the types it supports;
2. throughput in MB/s on a chat-like corpus generated here, deterministically (5 MB; 1 MB when
   quick): about half people talking, the rest defanged IOCs, Slack markup, code blocks, log
   lines, paths, hashes, versions, ids and base64. One call per message, as the bot makes them.
   Ours: the median of three passes. Each peer: as much of the corpus as it gets through in 30 s
   (10 s when quick). Then our ratio to each;
3. worst case: seconds for each hostile input, ours against each peer, which is cut off at 20 s
   (5 s when quick) and reported as "> 20 s": enough to show minutes against our milliseconds.

Peers run in child processes (`python -m bench.extraction --child …`), so a peer that backtracks
for minutes is killed instead of hanging the run, and a peer that is not installed shows as
"n/a". They are bench-only dependencies: `pip install -r bench/requirements.txt`.

`python -m bench.extraction [--quick]` prints the tables as markdown.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.scoring import BUCKETS, Counts, Score, load_corpus, score_corpus
from bot.indicators import extract

ROOT = Path(__file__).resolve().parent.parent

# What each peer reports natively, in corpus buckets.
PEER_BUCKETS: dict[str, tuple[str, ...]] = {
    "iocextract": ("ipv4", "ipv6", "url", "md5", "sha1", "sha256"),
    "ioc-finder": ("ipv4", "ipv6", "fqdn", "url", "md5", "sha1", "sha256"),
    "iocsearcher": ("ipv4", "ipv6", "fqdn", "url", "md5", "sha1", "sha256"),
}
PEERS = tuple(PEER_BUCKETS)

Pairs = list[tuple[str, str]]


# --------------------------------------------------------------------------- inputs


def hostile_inputs() -> dict[str, str]:
    """The issue's five worst cases, built deterministically."""
    rnd = random.Random(7)
    return {
        '"a." * 100000': "a." * 100_000,
        '"1." * 100000': "1." * 100_000,
        "1 MB hex run": rnd.randbytes(500_000).hex(),
        '1 MB of "[.]"': "[.]" * 333_334,
        "200 KB base64": base64.b64encode(rnd.randbytes(150_000)).decode(),
    }


_WORDS = str.split(
    "the a we it is was on to of and for from with after before host user alert process "
    "network traffic blocked isolated triage incident timeline escalate confirm seen looks like "
    "suspicious benign beacon callback payload dropper loader lateral movement credential dump "
    "please check can someone pivot on this also still waiting approval containment scope ticket "
    "updated rule detection sensor tenant mailbox phish lure attachment clicked opened ran"
)
_TLDS = ("com", "net", "org", "info", "xyz", "top", "ru", "io", "cc", "online", "site", "zip")
_EXTS = ("exe", "dll", "ps1", "js", "vbs", "bat", "zip", "iso", "lnk", "docm", "xlsm", "msi")
_HOSTS = ("WS-FIN-042", "DESKTOP-7H3K2LQ", "SRV-DC01", "LAPTOP-AB12CD34", "srv-sql01")


def chat_corpus(total_bytes: int, seed: int = 20261127) -> list[str]:
    """Deterministic chat-like messages: prose, defanged IOCs, Slack markup, code, logs, noise."""
    rnd = random.Random(seed)

    def words(n: int) -> str:
        return " ".join(rnd.choice(_WORDS) for _ in range(n))

    def ip() -> str:
        return ".".join(str(rnd.randint(1, 254)) for _ in range(4))

    def name() -> str:
        return f"{rnd.choice(_WORDS)}-{rnd.choice(_WORDS)}{rnd.randint(1, 99)}"

    def domain() -> str:
        return f"{name()}.{rnd.choice(_TLDS)}"

    def hexs(n: int) -> str:
        return "".join(rnd.choice("0123456789abcdef") for _ in range(n))

    def fang(v: str) -> str:
        return v.replace(".", rnd.choice(("[.]", "(.)", "[dot]", "."))) if rnd.random() < 0.6 else v

    def prose() -> str:
        return words(rnd.randint(3, 30)).capitalize() + rnd.choice((".", "?", "!", "", " :eyes:"))

    pieces: list[Callable[[], str]] = [
        # people talking: about half of what an incident channel carries
        prose,
        prose,
        prose,
        prose,
        prose,
        lambda: f"{prose()} {prose()}\n{prose()}",
        lambda: f"<@U0{hexs(8).upper()}> {prose()}",
        lambda: f"> {prose()}\n{prose()}",
        lambda: f"re: {rnd.choice(_HOSTS)} — {prose()} (ETA {rnd.randint(5, 90)} min)",
        lambda: f"C2 is {fang(ip())}:{rnd.randint(1, 65535)} and {fang(domain())}",
        lambda: (
            f"hxxps://{fang(domain())}/{rnd.choice(_WORDS)}/{name()}.php?id={rnd.randint(1, 9999)}"
        ),
        lambda: (lambda d: f"<http://{d}|{d}>")(domain()),
        lambda: (
            f"<@U0{hexs(8).upper()}> {words(4)} "
            f"<#C0{hexs(8).upper()}|incident-{rnd.randint(1, 9999)}>"
        ),
        lambda: "<!here> " + words(6),
        lambda: f"<mailto:{rnd.choice(_WORDS)}@{domain()}|{rnd.choice(_WORDS)}@{domain()}>",
        lambda: f"sha256 {hexs(64)} md5 {hexs(32)} sha1 {hexs(40).upper()}",
        lambda: (
            f"C:\\Users\\{rnd.choice(_WORDS)}\\AppData\\Local\\Temp\\{name()}.{rnd.choice(_EXTS)}"
        ),
        lambda: f"/tmp/.cache/{rnd.choice(_WORDS)}/{name()}.sh and /var/log/syslog",  # noqa: S108
        lambda: f"isolate {rnd.choice(_HOSTS)} and {name()}.corp.contoso.local",
        lambda: (
            f"Chrome {rnd.randint(100, 130)}.0.{rnd.randint(1000, 9999)}.{rnd.randint(1, 200)}, "
            f"build 10.0.{rnd.randint(10000, 30000)}.{rnd.randint(1, 5000)}, version {ip()}"
        ),
        lambda: (
            f"CVE-2024-{rnd.randint(1000, 49999)} T1059.00{rnd.randint(1, 9)} SHA-256 UTF-8 "
            f"KB{rnd.randint(4000000, 5999999)} INC{rnd.randint(10**6, 10**7)}"
        ),
        lambda: (
            '```DeviceNetworkEvents\n| where Timestamp &gt; ago(7d)\n| where RemoteIP == "'
            + ip()
            + '"\n| project Timestamp, DeviceName, RemoteUrl```'
        ),
        lambda: (
            f"Nov 27 0{rnd.randint(0, 9)}:1{rnd.randint(0, 9)}:22 bastion-01 "
            f"sshd[{rnd.randint(100, 99999)}]: "
            f"Failed password for root from {ip()} port {rnd.randint(1024, 65535)} ssh2"
        ),
        lambda: (
            f"2001:db8:{hexs(4)}::{hexs(3)} and fe80::{hexs(4)}:{hexs(4)} MAC 3c:22:fb:8a:91:0e"
        ),
        lambda: (
            f'{{"eventName":"ConsoleLogin","sourceIPAddress":"{ip()}","id":"{hexs(8)}-{hexs(4)}"}}'
        ),
        lambda: "token " + base64.b64encode(rnd.randbytes(rnd.randint(30, 300))).decode(),
        lambda: (
            f"{rnd.choice(_WORDS).capitalize()} {words(3)}: {name()}.{rnd.choice(_EXTS)} "
            f"&amp; {rnd.choice(_WORDS)}.exe -&gt; cmd.exe /c whoami"
        ),
        lambda: (
            f"*{words(2)}* _{words(3)}_ ~{words(1)}~ `{rnd.choice(_WORDS)}` :tada: 99.7% 3.5 GB"
        ),
    ]
    out: list[str] = []
    size = 0
    while size < total_bytes:
        msg = " ".join(rnd.choice(pieces)() for _ in range(rnd.randint(1, 8)))
        if rnd.random() < 0.3:
            msg = msg.replace(". ", ".\n")
        out.append(msg)
        size += len(msg.encode())
    return out


# --------------------------------------------------------------------------- peers (child side)


def _peer(name: str) -> Callable[[str], Pairs]:
    """An adapter: text → (type, value) pairs, using the peer the way its README shows."""
    if name == "iocextract":
        import iocextract  # type: ignore[import-not-found]  # bench-only peer, imported in the child

        def run_iocextract(text: str) -> Pairs:
            out: Pairs = [("url", u) for u in iocextract.extract_urls(text, refang=True)]
            out += [("ipv4", v) for v in iocextract.extract_ipv4s(text, refang=True)]
            out += [("ipv6", v) for v in iocextract.extract_ipv6s(text)]
            out += [("md5", v) for v in iocextract.extract_md5_hashes(text)]
            out += [("sha1", v) for v in iocextract.extract_sha1_hashes(text)]
            out += [("sha256", v) for v in iocextract.extract_sha256_hashes(text)]
            return out

        return run_iocextract
    if name == "ioc-finder":
        from ioc_finder import find_iocs  # type: ignore[import-not-found]

        keys = {
            "urls": "url",
            "domains": "domain",
            "ipv4s": "ipv4",
            "ipv6s": "ipv6",
            "md5s": "md5",
            "sha1s": "sha1",
            "sha256s": "sha256",
        }

        def run_ioc_finder(text: str) -> Pairs:
            found = find_iocs(text)
            return [(kind, v) for key, kind in keys.items() for v in found.get(key, ())]

        return run_ioc_finder
    if name == "iocsearcher":
        from iocsearcher.searcher import Searcher  # type: ignore[import-not-found]

        searcher = Searcher()
        kinds = {
            "url": "url",
            "fqdn": "domain",
            "ip4": "ipv4",
            "ip6": "ipv6",
            "md5": "md5",
            "sha1": "sha1",
            "sha256": "sha256",
        }

        def run_iocsearcher(text: str) -> Pairs:
            found = searcher.search_data(text)
            return [(kinds[i.name], str(i.value)) for i in found if i.name in kinds]

        return run_iocsearcher
    if name == "ours":
        return _ours
    raise SystemExit(f"unknown peer {name!r}")


def _ours(text: str) -> Pairs:
    return [(i.type.value, i.value) for i in extract(text).indicators]


def _child(argv: list[str]) -> None:
    """`--child PEER MODE INFILE [BUDGET]`: run one peer, print one JSON result."""
    name, mode, infile = argv[:3]
    fn = _peer(name)
    data = json.loads(Path(infile).read_text(encoding="utf-8"))
    if mode == "accuracy":
        print(json.dumps([fn(text) for text in data]))
    elif mode == "throughput":
        budget = float(argv[3])
        fn(data[0])  # warm-up: lazy compilation is not throughput
        done = 0
        t0 = time.perf_counter()
        for text in data:
            fn(text)
            done += len(text.encode())
            if time.perf_counter() - t0 > budget:
                break
        print(json.dumps({"bytes": done, "seconds": time.perf_counter() - t0}))
    elif mode == "hostile":
        fn("warm up 10.0.0.1")
        t0 = time.perf_counter()
        fn(data)
        print(json.dumps({"seconds": time.perf_counter() - t0}))


TIMED_OUT = "timeout"


def _in_child(name: str, mode: str, payload: object, timeout: float, *extra: str) -> object:
    """Run a peer in a child: its JSON answer, `TIMED_OUT`, or None when it failed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(payload, fh)
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "bench.extraction", "--child", name, mode, fh.name, *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT
    finally:
        Path(fh.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        print(f"bench: {name} {mode} failed: {proc.stderr.strip()[-400:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------- measuring


def _counts(c: Counts) -> dict[str, float]:
    return {
        "precision": round(c.precision, 4),
        "recall": round(c.recall, 4),
        "f1": round(c.f1, 4),
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
    }


def _summary(score: Score, buckets: Iterable[str]) -> dict[str, object]:
    buckets = tuple(buckets)
    return {
        "per_type": {b: _counts(score.per_bucket[b]) for b in buckets},
        "overall": _counts(score.overall(buckets)),
    }


def accuracy() -> dict[str, object]:
    """Ours and each peer on the dev corpus; peers only on the buckets they support."""
    records = load_corpus()
    texts = [str(r["text"]) for r in records]
    ours = score_corpus(records, [_ours(t) for t in texts])
    result: dict[str, object] = {"messages": len(records), "ours": _summary(ours, BUCKETS)}
    for peer, buckets in PEER_BUCKETS.items():
        found = _in_child(peer, "accuracy", texts, 600)
        if not isinstance(found, list):
            result[peer] = None
            continue
        pairs = [[(str(k), str(v)) for k, v in msg] for msg in found]
        result[peer] = _summary(score_corpus(records, pairs, buckets), buckets)
        result[f"ours_on_{peer}_types"] = _counts(ours.overall(buckets))
    return result


def throughput(quick: bool) -> dict[str, object]:
    messages = chat_corpus(1_000_000 if quick else 5_000_000)
    size = sum(len(m.encode()) for m in messages)
    extract(messages[0])
    runs = []
    for _ in range(3):  # the median of three passes: the machine is shared, the figure is not
        t0 = time.perf_counter()
        for m in messages:
            extract(m)
        runs.append(time.perf_counter() - t0)
    ours = size / sorted(runs)[1] / 1e6
    budget = 10.0 if quick else 30.0
    result: dict[str, object] = {"corpus_mb": round(size / 1e6, 2), "ours_mb_s": round(ours, 2)}
    for peer in PEERS:
        got = _in_child(peer, "throughput", messages, budget * 4 + 60, str(budget))
        if not isinstance(got, dict) or not got.get("seconds"):
            result[peer] = None
            continue
        mb_s = got["bytes"] / got["seconds"] / 1e6
        result[peer] = {
            "mb_s": round(mb_s, 3),
            "measured_mb": round(got["bytes"] / 1e6, 2),
            "ratio": round(ours / mb_s, 1),
        }
    return result


def worst_case(quick: bool) -> dict[str, object]:
    limit = 5.0 if quick else 20.0
    result: dict[str, object] = {"limit_s": limit}
    for label, text in hostile_inputs().items():
        t0 = time.perf_counter()
        extract(text)
        row: dict[str, object] = {"ours_s": round(time.perf_counter() - t0, 4)}
        for peer in PEERS:
            # The child's start-up (imports) is outside its own clock; allow for it.
            got = _in_child(peer, "hostile", text, limit + 15)
            secs = got.get("seconds") if isinstance(got, dict) else None
            if isinstance(secs, float) and secs <= limit:
                row[peer] = round(secs, 4)
            else:  # ran past the limit (None), or could not run at all
                row[peer] = None if got == TIMED_OUT or isinstance(secs, float) else "error"
        result[label] = row
    return result


def run(quick: bool = False) -> dict[str, object]:
    """Everything, as one JSON-able dict (None marks a peer that failed or timed out)."""
    return {
        "accuracy": accuracy(),
        "throughput": throughput(quick),
        "worst_case": worst_case(quick),
    }


# --------------------------------------------------------------------------- reporting


def markdown(result: dict[str, object]) -> str:
    acc = result["accuracy"]
    thr = result["throughput"]
    worst = result["worst_case"]
    assert isinstance(acc, dict)
    assert isinstance(thr, dict)
    assert isinstance(worst, dict)
    names = ["ours", *PEERS]
    lines = [
        f"### Accuracy on the dev corpus ({acc['messages']} messages): P / R / F1",
        "",
        "| type | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def cell(summary: object, bucket: str | None) -> str:
        if not isinstance(summary, dict):
            return "n/a"
        c = summary["overall"] if bucket is None else summary["per_type"].get(bucket)
        if c is None:
            return "—"
        return f"{c['precision']:.2f} / {c['recall']:.2f} / **{c['f1']:.3f}**"

    lines += [f"| {b} | " + " | ".join(cell(acc.get(n), b) for n in names) + " |" for b in BUCKETS]
    lines.append("| **overall** | " + " | ".join(cell(acc.get(n), None) for n in names) + " |")
    same = [acc.get(f"ours_on_{p}_types") for p in PEERS]
    lines.append(
        "| ours on that peer's types | | "
        + " | ".join(f"**{c['f1']:.3f}**" if isinstance(c, dict) else "n/a" for c in same)
        + " |"
    )
    lines += [
        "",
        f"### Throughput on a generated chat corpus ({thr['corpus_mb']} MB, one call a message)",
        "",
        "| extractor | MB/s | ours ÷ it |",
        "|---|---|---|",
        f"| ours | {thr['ours_mb_s']} | 1 |",
    ]
    for p in PEERS:
        r = thr.get(p)
        lines.append(
            f"| {p} | {r['mb_s']} | {r['ratio']} x |" if isinstance(r, dict) else f"| {p} | n/a | |"
        )
    limit = worst["limit_s"]
    lines += [
        "",
        "### Worst case: seconds per hostile input",
        "",
        "| input | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, row in worst.items():
        if label == "limit_s" or not isinstance(row, dict):
            continue
        cells = [f"{row['ours_s']:.3f}"]
        cells += [
            f"{row[p]:.3f}" if isinstance(row[p], float) else row[p] or f"> {limit:g}"
            for p in PEERS
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        outcome = run(quick="--quick" in sys.argv[1:])
        print(markdown(outcome))
