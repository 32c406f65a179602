"""Action requests in the bot's database, on SQLite and on a real PostgreSQL through the same
code: created once per idempotency key, advanced one step at a time by exactly one of any
number of racing callers (separate engines, as separate replicas have), noted without a step,
listed while open, and kept across a restart."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.requests import ActionRequest, Stage
from bot.actions.store import ActionStore
from bot.audit.database import open_engine
from bot.mde.actions import ActionKind

Stores = Callable[[], Awaitable[ActionStore]]


def request(request_id: str = "r1", stage: Stage = Stage.AWAITING) -> ActionRequest:
    return ActionRequest(
        id=request_id,
        kind=ActionKind.ISOLATE,
        tenant="contoso",
        subject="d" * 40,
        subject_name="ws-001",
        comment="contain it",
        requester="U1",
        team="T1",
        channel="C1",
        thread="1700000000.000100",
        created=1_764_000_000.123456,
        stage=stage,
        options={"isolation": "Full"},
        needs_approval=True,
        expires=1_764_000_900.5,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "bot.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def stores(database: str) -> AsyncIterator[Stores]:
    """Makes stores on `database`, each on an engine of its own (a replica each)."""
    engines: list[AsyncEngine] = []

    async def store() -> ActionStore:
        engines.append(open_engine(database))
        return await ActionStore.open(engines[-1])

    yield store
    for engine in engines:
        await engine.dispose()


async def test_one_idempotency_key_makes_one_request(stores: Stores) -> None:
    store = await stores()
    made, created = await store.create(request("r1"), key="view:V1")
    assert created
    assert made == request("r1")
    again, created = await store.create(request("r2"), key="view:V1")
    assert not created
    assert again == request("r1")
    assert await store.get("r2") is None


async def test_a_step_is_taken_only_from_an_expected_stage(stores: Stores) -> None:
    store = await stores()
    await store.create(request(), key="k")
    taken = await store.advance("r1", Stage.AWAITING, stage=Stage.SUBMITTING, approver="U2")
    assert taken == dataclasses.replace(request(), stage=Stage.SUBMITTING, approver="U2")
    assert await store.advance("r1", Stage.AWAITING, stage=Stage.REJECTED) is None
    assert await store.advance("r1", frozenset({Stage.SUBMITTING}), stage=Stage.SUBMITTED)
    assert await store.advance("unknown", Stage.AWAITING, stage=Stage.REJECTED) is None
    assert (await store.get("r1") or request()).stage is Stage.SUBMITTED


async def test_a_note_changes_what_is_not_a_step(stores: Stores) -> None:
    store = await stores()
    await store.create(request(), key="k")
    noted = await store.note("r1", message_ts="1700000000.000200", mde_status="Pending")
    assert noted == dataclasses.replace(
        request(), message_ts="1700000000.000200", mde_status="Pending"
    )
    assert await store.note("unknown", message_ts="1") is None


async def test_who_asked_for_what_cannot_be_changed(stores: Stores) -> None:
    store = await stores()
    await store.create(request(), key="k")
    with pytest.raises(ValueError, match="subject"):
        await store.note("r1", subject="another device")


async def test_open_requests_leave_out_finished_ones(stores: Stores) -> None:
    store = await stores()
    for n in range(3):
        await store.create(request(f"r{n}"), key=f"k{n}")
    await store.advance("r1", Stage.AWAITING, stage=Stage.REJECTED)
    await store.create(request("r9", Stage.DONE), key="k9")
    assert [r.id for r in await store.open_requests()] == ["r0", "r2"]


async def test_replicas_racing_on_one_step_have_one_winner(stores: Stores) -> None:
    """Four replicas, each clicked four times at once, approve or reject one request: one
    change wins, and the request shows that one."""
    replicas = [await stores() for _ in range(4)]
    await replicas[0].create(request(), key="k")
    attempts = [
        r.advance("r1", Stage.AWAITING, stage=stage, approver=f"U{n}")
        for n, r in enumerate(replicas)
        for stage in (Stage.SUBMITTING, Stage.REJECTED) * 2
    ]
    results = await asyncio.gather(*attempts)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await replicas[1].get("r1") == winners[0]


async def test_replicas_racing_to_create_make_one_request(stores: Stores) -> None:
    replicas = [await stores() for _ in range(4)]
    results = await asyncio.gather(
        *(r.create(request(f"r{n}"), key="view:V1") for n, r in enumerate(replicas))
    )
    assert sum(created for _, created in results) == 1
    assert len({made.id for made, _ in results}) == 1


async def test_requests_outlive_the_process(stores: Stores) -> None:
    """A restart (a new engine, the migration run again) finds the open request as it was."""
    await (await stores()).create(request(), key="k")
    assert await (await stores()).open_requests() == [request()]


async def test_a_key_of_any_length_makes_one_request(stores: Stores) -> None:
    store = await stores()
    key = "view:V1:" + "x" * 2000
    assert (await store.create(request("r1"), key=key))[1]
    assert not (await store.create(request("r2"), key=key))[1]
