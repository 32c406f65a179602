"""REDIS_URL chooses where state lives: unset, every store is in-process and the state says
"single instance"; set, every store is shared on Redis. Bad values stop start-up with one line
naming the variable."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.mde.limits import API_WINDOWS
from bot.state.cache import LocalCache, SharedCache
from bot.state.dedupe import LocalDedupe, RedisDedupe
from bot.state.lease import LocalLeases, RedisLeases
from bot.state.settings import StateSettings, load_state_settings
from bot.state.shared import open_state
from bot.state.store import Codec, LocalKeyValue, RedisKeyValue
from bot.state.window import LocalRateWindow, RedisRateWindow


@pytest.fixture(autouse=True)
def _no_state_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "REDIS_PREFIX", "BOT_REPLICAS"):
        monkeypatch.delenv(name, raising=False)


def test_unset_means_a_single_instance() -> None:
    settings = load_state_settings(None)
    assert (settings.redis_url, settings.redis_prefix, settings.replicas) == (None, "mde-bot", 1)
    assert not settings.shared


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:secret@redis.internal:6379/2")
    monkeypatch.setenv("REDIS_PREFIX", "bot-prod")
    monkeypatch.setenv("BOT_REPLICAS", "3")
    settings = load_state_settings(None)
    assert settings.shared
    assert settings.redis_prefix == "bot-prod"
    assert settings.replicas == 3
    assert "secret" not in repr(settings)


def test_an_empty_url_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    assert not load_state_settings(None).shared


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("REDIS_URL", "http://redis:6379", "REDIS_URL is not a redis://"),
        ("BOT_REPLICAS", "0", "BOT_REPLICAS"),
        ("REDIS_PREFIX", "a b", "REDIS_PREFIX"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_state_settings(None)
    assert refused.value.message.startswith(says)
    assert refused.value.hint


async def test_without_redis_every_store_is_in_process() -> None:
    async with open_state(StateSettings(_env_file=None)) as state:
        assert state.mode == "single instance"
        assert await state.healthy()
        assert isinstance(state.dedupe("deliveries"), LocalDedupe)
        assert isinstance(state.key_value("reports", Codec.of(str)), LocalKeyValue)
        assert isinstance(state.cache("contoso"), LocalCache)
        assert isinstance(state.rate_window("contoso:api", API_WINDOWS), LocalRateWindow)
        assert isinstance(state.leases("follow"), LocalLeases)


async def test_with_redis_every_store_is_shared(redis_url: str) -> None:
    settings = StateSettings(_env_file=None, REDIS_URL=redis_url, BOT_REPLICAS=3)  # type: ignore[call-arg]
    async with open_state(settings) as state:
        assert state.mode == "shared on Redis"
        assert await state.healthy()
        seen = state.dedupe("deliveries")
        assert isinstance(seen, RedisDedupe)
        assert await seen.first("Ev1")
        assert isinstance(state.key_value("reports", Codec.of(str)), RedisKeyValue)
        assert isinstance(state.cache("contoso"), SharedCache)
        window = state.rate_window("contoso:api", API_WINDOWS)
        assert isinstance(window, RedisRateWindow)
        assert [w.calls for w in window.share] == [33, 500]
        assert isinstance(state.leases("follow"), RedisLeases)


async def test_a_redis_that_is_not_there_starts_on_the_fallbacks() -> None:
    settings = StateSettings(_env_file=None, REDIS_URL="redis://127.0.0.1:9/0")  # type: ignore[call-arg]
    async with open_state(settings) as state:
        assert state.mode == "shared on Redis"
        assert not await state.healthy()
        assert await state.dedupe("deliveries").first("Ev1")
