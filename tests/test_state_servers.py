"""The real servers the tests start (tests/servers.py): a Redis emptied for each test, one that
a test can stop and start again on its port, and a fresh PostgreSQL database per test that the
audit store migrates and writes to as it would in production."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import text

from bot.audit.database import open_engine
from bot.audit.records import Actor, AuditKind
from bot.audit.store import AuditStore
from tests.servers import RedisServer, ServerMissing


def test_each_test_gets_an_empty_redis_1(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", b"1")


def test_each_test_gets_an_empty_redis_2(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0


def test_a_tests_own_redis_starts_again_on_its_port(own_redis: RedisServer) -> None:
    port = own_redis.port
    own_redis.stop()
    assert not own_redis.running
    with pytest.raises(redis.ConnectionError), redis.Redis(port=port, socket_timeout=1) as down:
        down.ping()
    own_redis.start()
    with redis.Redis.from_url(own_redis.url) as client:
        assert client.ping()
    assert own_redis.url == f"redis://127.0.0.1:{port}/0"


def test_a_missing_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ServerMissing, match="apt-get install -y redis-server"):
        RedisServer()


async def test_each_test_gets_a_fresh_postgres_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://postgres@127.0.0.1:")
    engine = open_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
            assert tables.scalar_one() == 0
    finally:
        await engine.dispose()


async def test_the_audit_store_runs_on_the_test_database(postgres_url: str) -> None:
    async with await AuditStore.open(postgres_url) as store:
        await store.append(AuditKind.LOOKUP, actor=Actor("U1"), subject="203.0.113.7")
        report = await store.verify()
    assert report.ok
