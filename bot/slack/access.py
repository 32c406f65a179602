"""Who may use the bot, and which events were already answered.

`Access` answers "may this user, in this channel, use the bot?" from the allow-lists in the
settings: workspaces (the bot's own and the configured ones), channels, users, and members of
user groups (`usergroups.users.list`, cached in the process, and in `members`, a `bot.state`
store that the replicas share when REDIS_URL is set, so one replica's lookup serves them all).
It fails closed: if Slack cannot tell us a
group's members, or a request names no workspace, the answer is no.
`Seen` remembers the events and messages already handled, so Slack's retries and duplicate
deliveries never produce a second reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Iterable

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cache import TtlCache
from bot.logs import get_logger
from bot.settings import BotSettings
from bot.state.store import Codec, KeyValue, LocalKeyValue

log = get_logger(__name__)

GROUP_CACHE_SECONDS = 300.0
GROUP_LOOKUP_TIMEOUT = 1.5  # seconds; slower is a refusal (fail closed), not a late ack
MAX_GROUPS = 256
MEMBERS_CODEC: Codec[frozenset[str]] = Codec.of(frozenset[str])


def home_team(context: AsyncBoltContext) -> str | None:
    """The workspace the bot is installed in, as Slack's auth.test told Bolt."""
    result = context.authorize_result
    return result.team_id if result is not None else None


class Access:
    def __init__(
        self,
        settings: BotSettings,
        *,
        cache_ttl: float = GROUP_CACHE_SECONDS,
        members: KeyValue[frozenset[str]] | None = None,
    ) -> None:
        self._channels = frozenset(settings.allowed_channels)
        self._users = frozenset(settings.allowed_users)
        self._groups = tuple(settings.allowed_usergroups)
        self._teams = frozenset(settings.allowed_teams)
        self._ttl = cache_ttl
        # In the process: concurrent lookups of one group merged into one, and kept a while.
        self._members: TtlCache[frozenset[str]] = TtlCache(ttl=cache_ttl, max_entries=MAX_GROUPS)
        self._shared = members if members is not None else LocalKeyValue(max_entries=MAX_GROUPS)

    @property
    def restricts_users(self) -> bool:
        return bool(self._users or self._groups)

    def teams_allowed(self, teams: Iterable[str], home: str | None) -> bool:
        """Whether every workspace a request speaks for is served: `home`, the one the bot is
        installed in (from Slack's auth.test), or one configured besides it."""
        served = self._teams | ({home} if home else set())
        wanted = frozenset(teams)
        return bool(wanted) and wanted <= served

    def channel_allowed(self, channel: str | None) -> bool:
        return not self._channels or channel in self._channels

    async def allows(self, client: AsyncWebClient, user: str | None, channel: str | None) -> bool:
        return self.channel_allowed(channel) and await self.user_allowed(client, user)

    async def user_allowed(self, client: AsyncWebClient, user: str | None) -> bool:
        """Whether `user` may use the bot, wherever (their App Home, for one)."""
        if not self.restricts_users:
            return True
        if user is None:
            return False
        if user in self._users:
            return True
        for group in self._groups:
            if user in await self._group_members(client, group):
                return True
        return False

    async def groups_of(
        self, client: AsyncWebClient, user: str, groups: Iterable[str]
    ) -> frozenset[str]:
        """Which of the user groups `groups` (S… ids) `user` is a member of (cached lookups)."""
        return frozenset([g for g in groups if user in await self._group_members(client, g)])

    async def _group_members(self, client: AsyncWebClient, group: str) -> frozenset[str]:
        async def load() -> frozenset[str]:
            if (known := await self._shared.get(group)) is not None:
                return known  # another replica asked Slack within the TTL
            # Before the ack: Slack gives the whole request 3 s, this lookup gets half of it.
            async with asyncio.timeout(GROUP_LOOKUP_TIMEOUT):
                response = await client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in response.get("users") or [])
            await self._shared.put(group, members, self._ttl)
            return members

        try:
            return await self._members.get_or_load(group, load)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Not cached: the next request asks Slack again.
            log.warning("usergroup_lookup_failed", usergroup=group, error=type(exc).__name__)
            return frozenset()


class Seen:
    """A bounded, expiring set: `first(key)` is True once per key within the TTL."""

    def __init__(self, *, ttl: float = 3600.0, max_entries: int = 20_000) -> None:
        self._keys: TtlCache[bool] = TtlCache(ttl=ttl, max_entries=max_entries)

    def __contains__(self, key: Hashable) -> bool:
        return self._keys.get(key) is not None

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def max_entries(self) -> int:
        return self._keys.max_entries

    def first(self, *keys: Hashable) -> bool:
        """True if none of `keys` was seen before; all of them are remembered from now on."""
        fresh = all(k not in self for k in keys)
        for key in keys:
            self._keys.put(key, True)
        return fresh

    def forget(self, key: Hashable) -> None:
        self._keys.discard(key)


class Throttle:
    """At most `count` events per key within any `seconds` (per user, say); bounded: a key
    idle for `seconds` is forgotten, and at most `max_keys` are kept."""

    def __init__(
        self,
        count: int,
        seconds: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._seconds = seconds
        self._clock = clock
        self._events: TtlCache[tuple[float, ...]] = TtlCache(
            ttl=seconds, max_entries=max_keys, clock=clock
        )

    def allow(self, key: Hashable) -> bool:
        """True (and counted) if one more event for `key` fits now."""
        now = self._clock()
        recent = tuple(t for t in self._events.get(key) or () if t > now - self._seconds)
        if len(recent) >= self._count:
            return False
        self._events.put(key, (*recent, now))
        return True
