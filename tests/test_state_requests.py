"""Action requests shared on a real Redis, with `ActionStore`'s interface: created once per
idempotency key, advanced one step at a time by exactly one of any number of racing
replicas, noted without a step, listed while open; the in-process store behaves the same."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from bot.actions.requests import FINAL, ActionRequest, Stage
from bot.mde.actions import ActionKind
from bot.state.link import RedisLink
from bot.state.requests import LocalRequestStore, RedisRequestStore, RequestStore

Links = Callable[..., RedisLink]
FINAL_STAGES = {str(s) for s in FINAL}


def request(request_id: str = "r1", stage: Stage = Stage.AWAITING) -> dict[str, Any]:
    return {"id": request_id, "stage": stage, "requester": "U1", "options": {}, "created": 1.5}


@pytest.fixture(params=["local", "redis"])
def store(request: pytest.FixtureRequest, redis_links: Links) -> RequestStore:
    if request.param == "local":
        return LocalRequestStore(final=FINAL_STAGES)
    return RedisRequestStore(redis_links(), "actions", final=FINAL_STAGES)


async def test_one_idempotency_key_makes_one_request(store: RequestStore) -> None:
    made, created = await store.create("r1", request("r1"), key="view-1")
    assert created
    assert made == {**request("r1"), "stage": "awaiting approval"}
    again, created = await store.create("r2", request("r2"), key="view-1")
    assert not created
    assert again["id"] == "r1"
    assert await store.get("r2") is None


async def test_a_step_is_taken_only_from_an_expected_stage(store: RequestStore) -> None:
    await store.create("r1", request(), key="k")
    taken = await store.advance("r1", Stage.AWAITING, stage=Stage.SUBMITTING, approver="U2")
    assert taken is not None
    assert (taken["stage"], taken["approver"]) == ("submitting", "U2")
    assert await store.advance("r1", Stage.AWAITING, stage=Stage.REJECTED) is None
    assert await store.advance("r1", frozenset({Stage.SUBMITTING}), stage=Stage.SUBMITTED)
    assert await store.advance("unknown", Stage.AWAITING, stage=Stage.REJECTED) is None
    assert (await store.get("r1") or {})["stage"] == "submitted"


async def test_a_note_changes_what_is_not_a_step(store: RequestStore) -> None:
    await store.create("r1", request(), key="k")
    noted = await store.note("r1", message_ts="1700000000.000100")
    assert noted is not None
    assert (noted["stage"], noted["message_ts"]) == ("awaiting approval", "1700000000.000100")
    assert await store.note("unknown", message_ts="1") is None


async def test_open_requests_leave_out_finished_ones(store: RequestStore) -> None:
    for n in range(3):
        await store.create(f"r{n}", request(f"r{n}"), key=f"k{n}")
    await store.advance("r1", Stage.AWAITING, stage=Stage.REJECTED)
    await store.create("r9", request("r9", Stage.DONE), key="k9")
    assert sorted(r["id"] for r in await store.open_requests()) == ["r0", "r2"]


async def test_replicas_racing_on_one_step_have_one_winner(redis_links: Links) -> None:
    """Five replicas, each clicked four times at once, approve or reject one request: one
    change wins, and the request shows that one."""
    replicas = [RedisRequestStore(redis_links(), "actions", final=FINAL_STAGES) for _ in range(5)]
    await replicas[0].create("r1", request(), key="k")
    attempts = [
        r.advance("r1", Stage.AWAITING, stage=stage, approver=f"U{n}")
        for n, r in enumerate(replicas)
        for stage in (Stage.SUBMITTING, Stage.REJECTED) * 2
    ]
    results = await asyncio.gather(*attempts)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await replicas[1].get("r1") == winners[0]


async def test_replicas_racing_to_create_make_one_request(redis_links: Links) -> None:
    replicas = [RedisRequestStore(redis_links(), "actions", final=FINAL_STAGES) for _ in range(5)]
    results = await asyncio.gather(
        *(r.create(f"r{n}", request(f"r{n}"), key="view-1") for n, r in enumerate(replicas))
    )
    assert sum(created for _, created in results) == 1
    assert len({value["id"] for value, _ in results}) == 1


async def test_every_key_expires(redis_links: Links) -> None:
    link = redis_links()
    store = RedisRequestStore(link, "actions", final=FINAL_STAGES, ttl=60)
    await store.create("r1", request(), key="view-1")
    keys = await link.client.keys("test:requests:actions:*")
    assert len(keys) == 3  # the request, its idempotency key, the open index
    for key in keys:
        assert 0 < await link.client.pttl(key) <= 60_000


def _to_value(action: ActionRequest) -> dict[str, Any]:
    return {**dataclasses.asdict(action), "options": dict(action.options)}


def _from_value(value: dict[str, Any]) -> ActionRequest:
    return ActionRequest(
        **{**value, "kind": ActionKind(value["kind"]), "stage": Stage(value["stage"])}
    )


async def test_an_action_request_round_trips_as_a_value(store: RequestStore) -> None:
    """How the caller converts: a dict of the dataclass's fields in, the dataclass out."""
    action = ActionRequest(
        id="r1",
        kind=next(iter(ActionKind)),
        tenant="contoso",
        subject="d" * 40,
        subject_name="ws-001",
        comment="contain",
        requester="U1",
        team="T1",
        channel="C1",
        thread="",
        created=1_764_000_000.123456,
        stage=Stage.AWAITING,
        options={"isolation": "Full"},
        expires=1_764_000_900.5,
    )
    await store.create(action.id, _to_value(action), key="view-1")
    taken = await store.advance(action.id, Stage.AWAITING, stage=Stage.SUBMITTING, approver="U2")
    assert taken is not None
    assert _from_value(taken) == dataclasses.replace(action, stage=Stage.SUBMITTING, approver="U2")
