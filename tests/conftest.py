"""Shared fixtures: the MDE simulator, the Slack stand-in and the bot between them, all real
servers on loopback. Nothing here mocks the bot's own code.

`MDE_TEST_REDIS=1` runs every bot these fixtures start with its state shared on the session's
real Redis (`tests.servers`), as a replica with REDIS_URL set: the whole suite, shared
(`make test-redis`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from bot.demo.simulator import Simulator
from bot.demo.standin import SlackStandIn
from bot.runtime import Backend, SlackRuntime, open_backend, serve_slack
from bot.settings import BotSettings, SlackSettings
from bot.state.settings import StateSettings
from handlers import register

_SCRUBBED_PREFIXES = ("SLACK_", "MDE_", "BOT_", "REDIS_", "DATABASE_URL", "AUDIT_DATABASE")
# Read at import: the environment is scrubbed of MDE_* before each test runs.
SHARED_REDIS = os.environ.get("MDE_TEST_REDIS", "") == "1"
_default_state: list[StateSettings] = []  # set per test when SHARED_REDIS (`default_state`)


def redis_state(url: str, *, replicas: int = 1, prefix: str | None = None) -> StateSettings:
    """State settings for a bot on the Redis at `url` (a prefix of its own unless given)."""
    return StateSettings(
        _env_file=None,
        REDIS_URL=url,  # type: ignore[call-arg]
        REDIS_PREFIX=prefix or f"test-{secrets.token_hex(4)}",  # type: ignore[call-arg]
        BOT_REPLICAS=replicas,  # type: ignore[call-arg]
    )


@pytest.fixture(autouse=True)
def default_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """With MDE_TEST_REDIS=1, the bots `open_stack` starts share the session's Redis."""
    if not SHARED_REDIS:
        yield
        return
    _default_state.append(redis_state(request.getfixturevalue("redis_url")))
    yield
    _default_state.clear()


@pytest.fixture(autouse=True)
def scrubbed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Slack, MDE or bot settings."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name == "PORT":
            monkeypatch.delenv(name)


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator() as sim:
        yield sim


@pytest.fixture
def signing_secret() -> str:
    return secrets.token_hex(16)


@pytest.fixture
async def slack(signing_secret: str) -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(signing_secret=signing_secret) as standin:
        yield standin


@dataclass
class Stack:
    """The bot wired to the simulator and the stand-in, as the demo runs it."""

    simulator: Simulator
    slack: SlackStandIn
    backend: Backend
    runtime: SlackRuntime

    @property
    def url(self) -> str:
        return self.runtime.url


def bot_settings(**overrides: object) -> BotSettings:
    return BotSettings(_env_file=None, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings() -> BotSettings:
    return bot_settings()


@contextlib.asynccontextmanager
async def open_stack(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    *,
    app_token: str = "",
    state: StateSettings | None = None,
    database: str | None = None,
) -> AsyncIterator[Stack]:
    """The bot between a started simulator and a started stand-in, on loopback (and connected
    to the stand-in in Socket Mode when an app token is given). `state`: where it shares state
    (None: in the process, or the session's Redis with MDE_TEST_REDIS=1); `database`: its
    audit trail and action requests (None: a temporary SQLite file of its own)."""
    slack_settings = SlackSettings(
        bot_token="xoxb-test-0000000000-local",  # type: ignore[arg-type]
        signing_secret=slack.signing_secret,  # type: ignore[arg-type]
        app_token=app_token or None,  # type: ignore[arg-type]
        api_url=slack.api_url,
        _env_file=None,
    )
    async with (
        open_backend(
            [],
            settings,
            simulator=simulator,
            audit_database=database,
            state=state or next(iter(_default_state), None),
        ) as backend,
        serve_slack(backend, slack_settings, settings, register, host="127.0.0.1", port=0) as rt,
    ):
        yield Stack(simulator, slack, backend, rt)


@pytest.fixture
async def stack(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> AsyncIterator[Stack]:
    async with open_stack(simulator, slack, settings) as running:
        yield running
