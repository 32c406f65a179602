"""The bot process of the benchmarks, both sides. `BotProcess` (the parent's) starts and steers
it; `python -m bench.child` (the child's) runs the bot as `mde-bot serve`
does (open_backend + serve_slack + handlers, tune_gc), configured by one JSON line on stdin, and
then answers control lines (JSON on stdin → JSON on stdout): `stats` (RSS, caches, in-flight
work), `cold` (empty the MDE caches), `stop` (drain and exit). See `bench.common` for the
parent's side."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import types
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_NOT_WALKED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


def deep_size(*roots: object) -> int:
    """Bytes held by `roots` and everything they reach (classes, modules, functions excluded;
    each object counted once)."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_WALKED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # seconds for the bot process to listen
STOP_TIMEOUT = 40.0  # the bot drains its work for up to 20 s (bot.runtime.SHUTDOWN_GRACE)


# ---------------------------------------------------------------------- the parent's side


def _child_env() -> dict[str, str]:
    """This environment without the developer's Slack, MDE and bot settings."""
    scrubbed = ("SLACK_", "MDE_", "BOT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(scrubbed) and k != "PORT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass
class BotLog:
    """The child's stderr: JSON log lines at WARNING and above, counted, a few kept."""

    levels: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        try:
            entry = json.loads(line)
            level, event = str(entry.get("level", "?")), str(entry.get("event", "?"))
        except ValueError:
            level, event = "raw", line[:80]
        self.levels[level] += 1
        self.events[event] += 1
        if len(self.samples) < 5:
            self.samples.append(line[:3000])

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines_by_level": dict(self.levels),
            "events": dict(self.events.most_common(10)),
            "samples": self.samples,
        }


class BotProcess:
    """The bot in a child process; `call(op)` sends it one control line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._lock = asyncio.Lock()
        self.log = BotLog()
        self.url = ""
        self.ready: dict[str, Any] = {}  # the child's first line: its URL and RSS at start-up
        self._stderr = asyncio.create_task(self._drain_stderr())

    @property
    def pid(self) -> int:
        return self._process.pid

    @classmethod
    async def start(cls, config: Mapping[str, Any]) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=_child_env(),
        )
        bot = cls(process)
        try:
            ready = await asyncio.wait_for(bot._exchange(config), START_TIMEOUT)
        except BaseException:
            await bot.kill()
            raise
        bot.url, bot.ready = str(ready["url"]), ready
        return bot

    async def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self.log.add(raw.decode(errors="replace").rstrip())

    async def _exchange(self, message: Mapping[str, Any]) -> dict[str, Any]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        async with self._lock:
            stdin.write(json.dumps(message).encode() + b"\n")
            await stdin.drain()
            line = await stdout.readline()
        if not line:
            await asyncio.sleep(0.2)  # let stderr be read, for the message below
            raise RuntimeError(f"the bot process exited; its log: {self.log.samples}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        return await self._exchange({"op": op, **args})

    async def stats(self, *, deep: bool = False) -> dict[str, Any]:
        return await self.call("stats", deep=deep)

    async def cold(self) -> None:
        """Empty the MDE answer caches: the next lookup asks MDE again."""
        await self.call("cold")

    async def stop(self) -> int:
        """Stop serving; the bot drains the work it accepted, then exits."""
        with contextlib.suppress(RuntimeError, ConnectionError, TimeoutError):
            await asyncio.wait_for(self.call("stop"), STOP_TIMEOUT)
        try:
            code = await asyncio.wait_for(self._process.wait(), 10.0)
        except TimeoutError:
            await self.kill()
            code = -9
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stderr, 5.0)
        return code

    async def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._stderr.cancel()


# =============================================================================== the world


# ---------------------------------------------------------------------- the child's side


async def _child() -> None:
    """The bot, configured by the first control line; answers control lines until `stop`."""
    # Imported here: the parent never needs the listeners or the Slack runtime.
    from bot import logs
    from bot.runtime import open_backend, serve_slack, tune_gc
    from bot.settings import BotSettings, ConnectorSettings, SlackSettings
    from bot.slack.services import Services
    from handlers import register

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(message: Mapping[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    config = json.loads(await reader.readline())
    settings = BotSettings(_env_file=None, **config["settings"])
    logs.configure(settings.log_level, settings.log_format)
    connectors = [ConnectorSettings.model_validate(c) for c in config["connectors"]]
    slack = SlackSettings(
        bot_token="xoxb-bench-0000000000-local",  # noqa: S106 - stand-in only
        signing_secret=config["slack"]["signing_secret"],
        api_url=config["slack"]["api_url"],
        _env_file=None,
    )
    kept: list[Services] = []

    def registrar(app: Any, services: Services) -> None:
        register(app, services)
        kept.append(services)

    async with (
        open_backend(connectors, settings) as backend,
        serve_slack(backend, slack, settings, registrar, host="127.0.0.1", port=0) as runtime,
    ):
        services = kept[0]
        tune_gc()  # as `mde-bot serve` does once it is up
        say({"url": runtime.url, "rss_kb": _rss_kb()})
        while line := await reader.readline():
            request = json.loads(line)
            op = request.get("op")
            if op == "stop":
                break
            if op == "cold":
                for client in backend.clients:
                    client.cache.clear()
                say({"ok": True})
            elif op == "stats":
                say(_stats(backend.clients, services, deep=bool(request.get("deep"))))
            else:
                say({"error": f"unknown op {op!r}"})
    say({"stopped": True})


def _stats(clients: Sequence[Any], services: Any, *, deep: bool) -> dict[str, Any]:
    """What the benchmarks read from inside the bot."""
    gc.collect()
    seen = services.seen
    bounded = {
        "mde_cache": ([c.cache for c in clients], sum(c.cache.max_entries for c in clients)),
        "reports": ([services.reports], services.reports.max_entries),
        "seen": ([seen], seen.max_entries),
    }
    result: dict[str, Any] = {
        "rss_kb": _rss_kb(),
        "inflight": services.inflight.count,
        "clients": [
            {
                "alias": c.alias,
                "calls": c.calls,
                "cache_entries": len(c.cache),
                "cache_cost_bytes": c.cache.bytes,
                "cache_max_bytes": c.cache.max_bytes,
                "cache_hits": c.cache.hits,
                "cache_misses": c.cache.misses,
                "budget_waiting": c.budget.waiting,
            }
            for c in clients
        ],
        "bounded": {
            name: {"entries": sum(len(c) for c in caches), "limit": limit}
            for name, (caches, limit) in bounded.items()
        },
    }
    if deep:
        for name, (caches, _) in bounded.items():
            result["bounded"][name]["bytes"] = deep_size(*caches)
    return result


if __name__ == "__main__":
    asyncio.run(_child())
