"""Response actions at the Slack edge: who is asking (with their responder groups), and the
request's message in its thread, posted once and then updated as the action goes.

When a request ends, its thread hears it with the requester named (so they are told), and an
investigation package's link goes to the requester alone, by direct message.

Exactly one replica follows each submitted action (`follow`): it holds the request's lease
(`bot.state.lease`: on Redis when the replicas share state) and renews it while it polls; a
replica that loses it stops, and a replica shutting down stops at once (its task is named
`FOLLOWING…`: `bot.runtime` cancels those first) and gives the lease back. Every replica
also looks, at start-up and then every `SWEEP_EVERY`, for submitted requests that nobody
follows (`keep_following`): a request whose follower died, or stopped in a rolling restart,
is taken over within a lease's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.policy import Policy
from bot.actions.requests import ActionRequest, Stage
from bot.actions.service import FOLLOW_FOR, ActionService, Asker
from bot.audit.database import DatabaseUnavailable
from bot.cache import TtlCache
from bot.errors import MdeError
from bot.logs import get_logger
from bot.mde.actions import ActionKind
from bot.mde.limits import Priority, Requester, requested_by
from bot.metrics import Metrics
from bot.render.actions import package_message, request_message
from bot.slack.access import Access
from bot.slack.mrkdwn import mention
from bot.slack.payloads import clicker, requester_teams
from bot.state.lease import Held, Leases

log = get_logger(__name__)

FOLLOW_PRIORITY_FOR = 5 * 3600.0  # the polling of one action may wait for budget this long
LEASE_TTL = 30.0  # seconds a follower's lease lasts unless renewed (a dead one's is free then)
RENEW_EVERY = LEASE_TTL / 3
SWEEP_EVERY = LEASE_TTL  # how often a replica looks for submitted requests nobody follows
FOLLOWING = "following:"  # the name of a task that follows a request (then its id)


async def asker(
    access: Access, policy: Policy, client: AsyncWebClient, body: Mapping[str, Any]
) -> Asker:
    """Who clicked (or submitted), their workspace, and the responder groups they are in."""
    user = clicker(body) or ""
    groups = {g for responders in policy.responders.values() for g in responders.groups}
    member_of = await access.groups_of(client, user, sorted(groups)) if groups else frozenset()
    team = next(iter(sorted(requester_teams(body))), "")
    return Asker(user, team, member_of)


class Notifier:
    """Keeps each request's message in step with the request (`ActionService.on_change`)."""

    def __init__(
        self, service: ActionService, client: AsyncWebClient, metrics: Metrics | None = None
    ) -> None:
        self._service = service
        self._client = client
        self._metrics = metrics or Metrics()
        self._locks: TtlCache[asyncio.Lock] = TtlCache(ttl=6 * 3600.0, max_entries=5000)

    async def changed(self, request: ActionRequest) -> None:
        """Post the request's message the first time, update it after; tell the thread (and
        the requester) when it ends. Slack failing here never fails the action."""
        self._metrics.actions.labels(action=str(request.kind), stage=str(request.stage)).inc()
        lock = self._locks.get(request.id) or asyncio.Lock()
        self._locks.put(request.id, lock)
        async with lock:
            current = await self._service.store.get(request.id) or request
            try:
                await self._show(current)
                if current.stage.final:
                    await self._ended(current)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("action_message_failed", request=request.id, error=type(exc).__name__)

    async def _show(self, request: ActionRequest) -> None:
        message = request_message(request)
        if request.message_ts is None:
            posted = await self._client.chat_postMessage(
                channel=request.channel,
                thread_ts=request.thread or None,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            await self._service.store.note(request.id, message_ts=str(posted["ts"]))
            return
        await self._client.chat_update(
            channel=request.channel, ts=request.message_ts, text=message.text, blocks=message.blocks
        )

    async def _ended(self, request: ActionRequest) -> None:
        """Once per request: a reply in its thread naming the requester, and for a collected
        package, its link to the requester alone."""
        current = await self._service.store.get(request.id) or request
        thread = request.thread or current.message_ts
        summary = request_message(current).text
        await self._client.chat_postMessage(
            channel=request.channel,
            thread_ts=thread,
            text=f"{mention(request.requester)} {summary}",
            unfurl_links=False,
            unfurl_media=False,
        )
        if (
            request.kind is ActionKind.COLLECT
            and request.stage is Stage.DONE
            and request.mde_status == "Succeeded"
            and not request.dry_run
        ):
            await self._send_package(request)

    async def _send_package(self, request: ActionRequest) -> None:
        try:
            url = await self._service.package_link(request)
        except MdeError as exc:
            log.warning("package_link_failed", request=request.id, error=type(exc).__name__)
            return
        message = package_message(request, url, link_expiry(url))
        opened = await self._client.conversations_open(users=request.requester)
        await self._client.chat_postMessage(
            channel=str(opened["channel"]["id"]),
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )


def link_expiry(url: str) -> int | None:
    """When a shared-access link stops working (epoch ms): its `se` (signed expiry) parameter,
    as Azure Storage writes it; None when it has none."""
    values = parse_qs(urlsplit(url).query).get("se")
    if not values:
        return None
    try:
        moment = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


async def follow(service: ActionService, request: ActionRequest) -> None:
    """Follow a submitted action to its end, its MDE calls at the budget's lower priority,
    unless another replica does (its lease): renewed while polling, released at the end;
    lost (another replica took it while this one could not renew), the polling stops."""
    if request.stage is not Stage.SUBMITTED:
        return
    held = await service.leases.acquire(f"request:{request.id}", LEASE_TTL)
    if held is None:
        return  # followed elsewhere (or already here)
    if (task := asyncio.current_task()) is not None:
        task.set_name(f"{FOLLOWING}{request.id}")  # at shutdown: cancelled, not waited for
    deadline = time.monotonic() + FOLLOW_PRIORITY_FOR
    try:
        with requested_by(Requester(f"action:{request.id}", Priority.AUTO, deadline)):
            polling = asyncio.create_task(service.follow(request), name=f"follow-{request.id}")
        keeper = asyncio.create_task(_keep(service.leases, held), name=f"lease-{request.id}")
        try:
            await asyncio.wait((polling, keeper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (polling, keeper):
                task.cancel()
            await asyncio.gather(polling, keeper, return_exceptions=True)
        if not polling.cancelled():
            polling.result()  # the follower's own error, if it had one
    finally:
        await service.leases.release(held)


async def _keep(leases: Leases, held: Held) -> None:
    """Renew `held` until it is lost (then return: the follower stops)."""
    while True:
        await asyncio.sleep(RENEW_EVERY)
        if not await leases.renew(held, LEASE_TTL):
            log.warning("action_follow_lost", lease=held.name)
            return


async def keep_following(
    service: ActionService,
    spawn: Callable[[Coroutine[Any, Any, None]], None],
    *,
    every: float = SWEEP_EVERY,
) -> None:
    """Forever: follow (`spawn(follow(…))`) every submitted request nobody follows, now and
    every `every` seconds (with jitter, so replicas started together do not ask together),
    unless it was asked for longer ago than an action is followed at all (FOLLOW_FOR: its
    card says to look in Defender). A database that does not answer is tried again at the
    next sweep."""
    while True:
        with contextlib.suppress(DatabaseUnavailable):
            for request in await service.store.open_requests():
                recent = time.time() - request.created < FOLLOW_FOR
                if request.stage is Stage.SUBMITTED and request.mde_id is not None and recent:
                    spawn(follow(service, request))
        await asyncio.sleep(every * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret
