"""A round-robin HTTP load balancer on loopback, in a process of its own, for section 11
(`bench.replicas`): `python -m bench.balancer PORT BACKEND_PORT...`. It prints one line (its
URL) when it listens.

Each request goes to the next replica in turn, body and Slack's headers as they came; the
answer comes back with `X-Bench-Replica` (which replica answered: 0, 1, …). Like HAProxy with
`option redispatch`, a replica that refuses the connection (stopped, killed, restarting) is
skipped for the next one: nothing was sent, so trying again is safe. A replica that fails after
the request was sent (killed mid-request) is not tried again: the answer is 502 and the sender
(Slack) decides whether to retry. `X-Bench-Avoid: 0,2` keeps a request off those replicas: the
benchmark's way to send Slack's retry of a delivery to another replica than the first attempt.

GET /_balancer answers its counters as JSON: requests answered per replica, redispatches (a
replica refused), failures (502, 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections import Counter

import aiohttp
from aiohttp import web

AVOID = "X-Bench-Avoid"
REPLICA = "X-Bench-Replica"
UPSTREAM_TIMEOUT = 30.0  # seconds; Slack gives up after 3, the sender times that itself
FORWARDED = ("content-type", "x-slack-signature", "x-slack-request-timestamp")


class Balancer:
    def __init__(self, ports: list[int]) -> None:
        self.backends = [f"http://127.0.0.1:{port}" for port in ports]
        self._turn = itertools.cycle(range(len(ports)))
        self.counts: Counter[str] = Counter()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _order(self, avoid: set[int]) -> list[int]:
        first = next(self._turn)
        count = len(self.backends)
        ring = [(first + i) % count for i in range(count)]
        return [i for i in ring if i not in avoid] or ring

    async def proxy(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(FORWARDED)}
        headers |= {k: v for k, v in request.headers.items() if k.lower().startswith("x-slack-")}
        avoid = {int(i) for i in request.headers.get(AVOID, "").split(",") if i.strip()}
        for attempt, index in enumerate(self._order(avoid)):
            url = self.backends[index] + request.path_qs
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers
                ) as answer:
                    content = await answer.read()
                    kind = answer.headers.get("Content-Type")
            except aiohttp.ClientConnectorError:
                self.counts["redispatched"] += 1
                continue  # refused: nothing was sent, the next replica may take it
            except (aiohttp.ClientError, TimeoutError):
                self.counts["failed_502"] += 1
                return web.Response(status=502, text="replica failed mid-request")
            self.counts[f"replica_{index}"] += 1
            if attempt:
                self.counts["redispatched_then_answered"] += 1
            out = {REPLICA: str(index)}
            if kind:
                out["Content-Type"] = kind
            return web.Response(status=answer.status, body=content, headers=out)
        self.counts["failed_503"] += 1
        return web.Response(status=503, text="no replica took the connection")

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(dict(self.counts))


async def _main(port: int, backends: list[int]) -> None:
    balancer = Balancer(backends)
    await balancer.start()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/_balancer", balancer.stats)
    app.router.add_route("*", "/{tail:.*}", balancer.proxy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # A backlog as deep as the bench's largest burst (600 at once), as a real balancer has.
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=2048)
    await site.start()
    print(f"http://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.Event().wait()  # until the parent terminates us
    finally:
        await runner.cleanup()
        await balancer.close()


if __name__ == "__main__":
    listen, *ports = (int(a) for a in sys.argv[1:])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(listen, list(ports)))
