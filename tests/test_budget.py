"""The call budget's scheduler in virtual time (an injected clock and wait): windows, people
before auto-enrichment, turns between users, bounds, deadlines, pauses (hardening issue,
findings 2 and 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.mde.limits import (
    Budget,
    DeadlinePassed,
    Priority,
    QueueFull,
    Requester,
    SlidingWindow,
    WaitingCount,
    Window,
    guard_band,
    requested_by,
)


class VirtualTime:
    """A clock that moves only when the budget waits: each wait lets every ready task run
    first (arrivals), then jumps to the wake-up time unless something changed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        if not event.is_set():
            self.now += seconds


def budget(
    time: VirtualTime, windows: Sequence[Window] = (Window(10, 60.0),), **options: object
) -> Budget:
    return Budget(windows, clock=time.clock, wait=time.wait, **options)  # type: ignore[arg-type]


Grant = tuple[float, str]


async def calls(
    b: Budget,
    requester: Requester,
    count: int,
    granted: list[Grant],
    time: VirtualTime,
    *,
    hold: bool = False,
) -> None:
    """`count` calls for `requester`, their grants noted; each ends as it starts, or keeps
    its place in flight (`hold`) until the test releases it."""

    async def one() -> None:
        await b.acquire()
        granted.append((time.now, requester.user))
        if not hold:
            b.release()

    with requested_by(requester):
        await asyncio.gather(*(one() for _ in range(count)))


async def queued(b: Budget, count: int) -> None:
    """Until `count` calls wait (tasks need a few turns of the loop to reach the budget)."""
    for _ in range(1000):
        if b.waiting >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{b.waiting} calls wait, not {count}")


SPAN = 60.0 + guard_band(60.0)


async def test_a_window_never_starts_more_calls_than_it_allows() -> None:
    time = VirtualTime()
    b = budget(time, (Window(5, 60.0),), reserve=0)
    granted: list[Grant] = []

    await calls(b, Requester("U1"), 17, granted, time)

    starts = [t for t, _ in granted]
    assert len(starts) == 17
    for first in starts:
        assert sum(1 for s in starts if first <= s < first + SPAN) <= 5
    assert starts[-1] - starts[0] == pytest.approx(3 * SPAN)


async def test_a_second_users_command_is_served_next_not_after_the_first_users_flood() -> None:
    """Before: one user's ten pastes of 50 hashes queued an hour of calls, and another
    responder's /mde waited behind all of them (first come, first served)."""
    time = VirtualTime()
    b = budget(time, (Window(10, 60.0),))
    granted: list[Grant] = []
    flood = asyncio.create_task(calls(b, Requester("U1", Priority.AUTO), 100, granted, time))
    await queued(b, 1)

    await calls(b, Requester("U2", Priority.COMMAND), 1, granted, time)

    users = [u for _, u in granted]
    assert users.index("U2") <= 10  # in the first window's reserve, not after 100 calls
    assert granted[users.index("U2")][0] - 1000.0 < SPAN
    await b.close()
    flood.cancel()
    await asyncio.gather(flood, return_exceptions=True)


async def test_users_of_one_priority_take_turns() -> None:
    time = VirtualTime()
    b = budget(time, (Window(1, 60.0),), reserve=0)
    granted: list[Grant] = []
    first = asyncio.create_task(calls(b, Requester("A"), 5, granted, time))
    await asyncio.sleep(0)
    second = asyncio.create_task(calls(b, Requester("B"), 3, granted, time))

    await asyncio.gather(first, second)

    # A's first call found the window free; from then on the waiting users take turns
    assert [u for _, u in granted] == ["A", "A", "B", "A", "B", "A", "B", "A"]


async def test_auto_enrichment_leaves_the_reserve_to_people() -> None:
    time = VirtualTime()
    b = budget(time, (Window(10, 60.0),), reserve=0.2)
    granted: list[Grant] = []

    await calls(b, Requester("bot", Priority.AUTO), 8, granted, time)
    assert b.delay(1, Requester("bot", Priority.AUTO)) == pytest.approx(SPAN)  # window full
    assert b.delay(1, Requester("U1", Priority.COMMAND)) == 0  # two slots kept for people
    await calls(b, Requester("U1", Priority.COMMAND), 2, granted, time)

    assert all(t == 1000.0 for t, _ in granted)  # all ten in the first window, none waited


async def test_the_estimate_counts_what_is_served_before() -> None:
    """What "queued, about N s" says: higher priority first, then the other users' turns."""
    time = VirtualTime()
    b = budget(time, (Window(10, 60.0),), reserve=0)
    granted: list[Grant] = []
    await calls(b, Requester("A"), 10, granted, time)  # the window is full
    waiting = [
        asyncio.create_task(calls(b, Requester("A"), 25, granted, time)),
        asyncio.create_task(calls(b, Requester("bot", Priority.AUTO), 30, granted, time)),
    ]
    await queued(b, 55)

    # B's 3 calls take turns with A's 25: A goes 3 times (and B's last is the 6th)
    assert b.delay(3, Requester("B")) == pytest.approx(SPAN)
    # B's 12 calls: 12 turns of A's, 24 calls in all: the third window
    assert b.delay(12, Requester("B")) == pytest.approx(3 * SPAN)
    # auto-enrichment waits behind all 25 of A's, then its own 30
    assert b.delay(1, Requester("bot", Priority.AUTO)) == pytest.approx(6 * SPAN)
    await b.close()
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_a_call_past_its_deadline_is_refused_not_sent() -> None:
    """Work whose answer can no longer be delivered (a response URL lives 30 minutes) spends
    no MDE call: it is refused when its turn comes."""
    time = VirtualTime()
    b = budget(time, (Window(2, 60.0),), reserve=0)
    late = Requester("U1", deadline=time.now + 30.0)

    with requested_by(late):
        results = await asyncio.gather(*(b.acquire() for _ in range(3)), return_exceptions=True)

    assert results[:2] == [None, None]
    assert isinstance(results[2], DeadlinePassed)  # its slot would have come at ~63 s
    assert b.waiting == 0
    time.now += 60  # past the deadline: refused before it even queues
    with requested_by(late), pytest.raises(DeadlinePassed):
        await b.acquire()


@pytest.mark.parametrize(
    ("bounds", "refused_after"),
    [
        pytest.param({"max_waiting": 8, "max_waiting_per_user": 100}, 8, id="per budget"),
        pytest.param({"max_waiting": 100, "max_waiting_per_user": 3}, 3, id="per user"),
        pytest.param({"total": WaitingCount(limit=5)}, 5, id="in total"),
    ],
)
async def test_the_queue_is_bounded(bounds: dict[str, object], refused_after: int) -> None:
    """Before: a flood of 3,000 events queued eight hours of calls and doubled the memory."""
    time = VirtualTime()
    b = budget(time, (Window(1, 60.0),), reserve=0, **bounds)
    with requested_by(Requester("U1")):
        await b.acquire()  # the window is full from here on
        waiting = [asyncio.create_task(b.acquire()) for _ in range(refused_after)]
        await asyncio.sleep(0)
        assert b.waiting == refused_after
        with pytest.raises(QueueFull):
            await b.acquire()
    await b.close()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert b.waiting == 0


async def test_a_cancelled_caller_leaves_the_queue_at_once() -> None:
    time = VirtualTime()
    b = budget(time, (Window(1, 60.0),), reserve=0)
    with requested_by(Requester("U1")):
        await b.acquire()
        waiter = asyncio.create_task(b.acquire())
        await asyncio.sleep(0)
    assert b.waiting == 1

    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)

    assert b.waiting == 0


async def test_a_pause_holds_every_call_and_people_still_go_first_after_it() -> None:
    """A 429's Retry-After pauses the budget; the scheduler sleeps without holding a lock,
    so a command that arrives during the pause is served first when it ends."""
    time = VirtualTime()
    b = budget(time, (Window(100, 60.0),))
    granted: list[Grant] = []
    b.pause(45.0)
    auto = asyncio.create_task(calls(b, Requester("bot", Priority.AUTO), 3, granted, time))
    await asyncio.sleep(0)
    command = asyncio.create_task(calls(b, Requester("U1"), 1, granted, time))

    await asyncio.gather(auto, command)

    assert [u for _, u in granted] == ["U1", "bot", "bot", "bot"]
    assert all(t == pytest.approx(1045.0) for t, _ in granted)


async def test_the_estimate_counts_the_windows_remembered_starts_exactly() -> None:
    """The wait of the last call of a lookup, from the windows' own record."""
    time = VirtualTime()
    b = budget(time, (Window(10, 60.0),), reserve=0)
    for second in range(10):  # one call a second: the window is full
        time.now = 100.0 + second
        await b.acquire()
        b.release()
    time.now = 110.0

    assert b.delay(1) == pytest.approx(100.0 + SPAN - 110.0)  # the oldest call leaves
    assert b.delay(3) == pytest.approx(102.0 + SPAN - 110.0)  # the third oldest
    assert b.delay(11) == pytest.approx(100.0 + 2 * SPAN - 110.0)  # after the first to come
    assert b.delay(20) == pytest.approx(109.0 + 2 * SPAN - 110.0)


async def test_a_place_in_flight_goes_to_whoever_goes_first() -> None:
    """Calls wait for a free place in flight in the scheduler's order, not the order they
    arrived in: a place that frees up goes to a command before auto-enrichment."""
    time = VirtualTime()
    b = budget(time, (Window(100, 60.0),), reserve=0, max_in_flight=2)
    granted: list[Grant] = []
    with requested_by(Requester("bot", Priority.AUTO)):
        await b.acquire()
        await b.acquire()  # both places are taken
    auto = asyncio.create_task(
        calls(b, Requester("bot", Priority.AUTO), 2, granted, time, hold=True)
    )
    await queued(b, 2)
    command = asyncio.create_task(calls(b, Requester("U1"), 1, granted, time, hold=True))
    await queued(b, 3)

    b.release()
    await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)

    assert [u for _, u in granted] == ["U1"]
    b.release()
    b.release()
    await asyncio.gather(auto, command)
    assert [u for _, u in granted] == ["U1", "bot", "bot"]


async def test_a_caller_gone_after_its_grant_gives_its_place_back() -> None:
    time = VirtualTime()
    b = budget(time, (Window(100, 60.0),), reserve=0, max_in_flight=1)
    with requested_by(Requester("U1")):
        await b.acquire()
        waiter = asyncio.create_task(b.acquire())
        await queued(b, 1)
    b.release()  # the scheduler grants the waiter its place ...
    waiter.cancel()  # ... but it is cancelled before it runs again
    await asyncio.gather(waiter, return_exceptions=True)
    for _ in range(5):
        await asyncio.sleep(0)

    assert b.in_flight == 0


async def test_a_call_still_in_flight_keeps_its_place_in_the_window() -> None:
    """A call's start is not when MDE sees it: a call that reached MDE late (a busy loop, a
    slow connection) still counts until a span after it ended. Before: the window went by
    starts alone, and a burst of 300 lookups earned MDE 429s when the loop stalled."""
    time = VirtualTime()
    b = budget(time, (Window(1, 60.0),), reserve=0)
    granted: list[Grant] = []
    with requested_by(Requester("U1")):
        await b.acquire()  # the slow call: it stays in flight
        second = asyncio.create_task(calls(b, Requester("U1"), 1, granted, time))
        for _ in range(50):  # its start leaves the window after 63 s; the call itself does not
            await asyncio.sleep(0)
        assert granted == []
        assert time.now > 1000.0 + 2 * SPAN
        slow_ended = time.now
        b.release()
        await second

    # MDE may have seen it as late as its end: the next call goes a span after that
    assert granted == [(pytest.approx(slow_ended + SPAN), "U1")]


def test_a_window_far_from_full_keeps_only_the_calls_within_its_span() -> None:
    """A budget of a million calls a minute is never asked how long to wait: the calls it
    counts must still leave it, or it grows with every call ever made."""
    time = VirtualTime()
    window = SlidingWindow(Window(1_000_000, 60.0), time.clock)
    for _ in range(5_000):  # 500 s of calls, ten a second
        window.record()
        window.finish()
        time.now += 0.1
    assert len(window) <= 2 * (SPAN / 0.1 + 1)  # starts and ends of the last span only
