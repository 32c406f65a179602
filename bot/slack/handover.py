"""Acknowledged work another replica finishes when this one dies: Slack never delivers an
acknowledged event again, so an answer being looked up when its replica is killed would be
lost. Around such work the verified payload is recorded (`bot.state.pending`) with a beat
every BEAT s; done, it is forgotten. Every replica looks every SWEEP s for work whose holder
has been silent for STALE s and finishes it with the resumer the handlers registered for its
kind. A replica shut down gracefully cancels what it could not finish within its grace: that
too is left for another replica.

One instance (no Redis) has nobody to hand over to: the calls do nothing. A replica that stalls
for longer than STALE while still alive may see its work done twice; one killed after it
answered and before it said so, too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import get_logger
from bot.state.pending import Pending

log = get_logger(__name__)

BEAT, STALE, SWEEP = 5.0, 20.0, 5.0  # seconds
Resumer = Callable[[dict[str, Any], AsyncWebClient], Awaitable[None]]


@contextlib.asynccontextmanager
async def handed_over_if_lost(
    pending: Pending, key: str, kind: str, payload: Mapping[str, Any], *, beat: float = BEAT
) -> AsyncIterator[None]:
    """Around acknowledged work: recorded for another replica while it runs, forgotten when
    it ends; left recorded when it is cancelled (a shutdown past its grace)."""
    if not await pending.accept(key, {"kind": kind, "payload": dict(payload)}):
        yield
        return
    beating = asyncio.create_task(_beat(pending, key, beat), name=f"pending-beat:{kind}")
    cancelled = False
    try:
        yield
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        if not cancelled:
            await pending.done(key)


async def _beat(pending: Pending, key: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        if not await pending.beat(key):
            return


async def keep_resuming(
    pending: Pending,
    resumers: Mapping[str, Resumer],
    client: AsyncWebClient,
    spawn: Callable[[Coroutine[Any, Any, None]], None],
    *,
    every: float = SWEEP,
    stale: float = STALE,
) -> None:
    """Every `every` seconds, take over the work whose holder went silent."""
    while True:
        await asyncio.sleep(every)
        while (claimed := await pending.claim(stale)) is not None:
            key, record = claimed
            resumer = resumers.get(str(record.get("kind")))
            payload = record.get("payload")
            if resumer is None or not isinstance(payload, dict):
                await pending.done(key)
                continue
            log.warning("work_taken_over", kind=record.get("kind"))
            spawn(_resume(pending, key, str(record["kind"]), payload, resumer, client))


async def _resume(
    pending: Pending,
    key: str,
    kind: str,
    payload: dict[str, Any],
    resumer: Resumer,
    client: AsyncWebClient,
) -> None:
    async with handed_over_if_lost(pending, key, kind, payload):
        await resumer(payload, client)
