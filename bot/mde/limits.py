"""Client-side limits for one connector: the call budget, shared fairly, and the retry strategy.

MDE allows 100 calls/min and 1,500/h per app and tenant (45/min for advanced hunting). The bot
counts its own calls against the same windows, so work waits in a queue instead of earning 429s,
and a 429 that arrives anyway pauses the whole connector until `Retry-After` has passed.

Who waits for what is decided by one scheduler per budget, never by whoever holds a lock:

- **people first**: a `/mde` command or a click (`Priority.COMMAND`) is served before any
  auto-enrichment of a pasted message (`Priority.AUTO`), and auto-enrichment never takes the
  last `reserve` of a window: those slots are kept for people who ask;
- **fair between users**: within a priority, waiting users take turns, one call each, so one
  user's 50 hashes do not put a second user's `/mde` behind them;
- **in flight**: at most `max_in_flight` granted calls at once (`slot()` holds one for the
  call's duration); a call is granted only when it can also leave, so calls neither bunch up
  behind the connection pool after their slot nor hold a place while they wait for one;
- **bounded**: at most `max_waiting` calls wait per budget, `max_waiting_per_user` of them for
  one user, and `TOTAL_WAITING` across every budget of the process (`WaitingCount`); beyond
  that a call is refused at once (`QueueFull`) instead of queueing for hours;
- **nothing spent on answers nobody can receive**: a call whose requester's deadline has passed
  (a slash command's response URL lives 30 minutes) is refused (`DeadlinePassed`) instead of
  being sent.

The requester of the calls being made is a context variable (`REQUESTER`), set once where a
Slack request's work starts; every MDE call made within it is counted for that requester.

Several replicas (REDIS_URL set): the windows are counted in Redis for all of them together
(`shared`, a `bot.state.window.RateWindow`), since MDE counts per app and tenant whatever the
number of replicas. The scheduler stays here: each replica orders its own callers as above,
and asks the shared window "may one more start now, or how long until?" for the call at the
head of its queue, which counts it when it may (one atomic step in Redis). Estimates
(`delay`) go by this replica's own calls.

Why our own and not a rate-limit library: the libraries (`limits`, `aiolimiter`) answer "may one
more call go now?"; this answers "who goes next, and when", with priorities, per-user turns, an
estimate users are told ("queued, about 40 s") and MDE's Retry-After pauses. The windows are the
simple part.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Window:
    calls: int
    seconds: float

    def scaled(self, factor: float) -> Window:
        """The same number of calls in `factor` times the time (BOT_MDE_RATE_WINDOW: a shorter
        "minute" for load tests)."""
        return Window(self.calls, self.seconds * factor)


API_WINDOWS = (Window(100, 60.0), Window(1500, 3600.0))
HUNTING_WINDOWS = (Window(45, 60.0), Window(1500, 3600.0))
RESERVE = 0.1  # share of each window that auto-enrichment leaves to people who ask
MAX_WAITING = 2000  # calls waiting per budget (a tenant's API or hunting calls)
IDLE_CHECK = 60.0  # seconds the scheduler waits for a call to end before it looks again
TOTAL_WAITING = 5000  # calls waiting across every budget of the process


class Priority(IntEnum):
    COMMAND = 0  # someone asked: /mde, a button
    AUTO = 1  # a pasted message, enriched without being asked


@dataclass(frozen=True, slots=True)
class Requester:
    """Who the calls being made are for, and the calls their admitted work has booked."""

    user: str = ""
    priority: Priority = Priority.COMMAND
    deadline: float | None = None  # monotonic instant after which no answer can be delivered
    bookings: tuple[Booking, ...] = ()


@dataclass(eq=False)
class Booking:
    """The calls admitted work is expected to make in one budget: counted as waiting by every
    estimate from the moment the work is admitted, one fewer for each call it makes, and the
    rest released when the work ends. Without it, ten pastes arriving together would each be
    admitted against an empty queue."""

    budget: Budget
    requester: Requester
    remaining: int

    def spend(self) -> None:
        if self.remaining:
            self.remaining -= 1
            self.budget.unbook(self.requester, 1)

    def release(self) -> None:
        self.budget.unbook(self.requester, self.remaining)
        self.remaining = 0


# A frozen dataclass: the shared default cannot be changed through the variable.
REQUESTER: ContextVar[Requester] = ContextVar("mde_requester", default=Requester())  # noqa: B039


@contextlib.contextmanager
def requested_by(requester: Requester) -> Iterator[None]:
    """Count every MDE call made inside the block (and the tasks it starts) for `requester`."""
    token = REQUESTER.set(requester)
    try:
        yield
    finally:
        REQUESTER.reset(token)


class SharedWindow(Protocol):
    """The call budget's windows as several replicas count them (`bot.state.window`)."""

    async def take(self, *, reserve: float = 0.0) -> float:
        """0 when one more call fits now (and it is counted); else the seconds until it would."""
        ...

    async def finish(self) -> None:
        """One of the calls taken here has ended: it counts from its end from now on."""
        ...


class QueueFull(Exception):
    """No more calls may wait: refused at once."""


class DeadlinePassed(Exception):
    """The requester's answer can no longer be delivered: the call is not sent."""


def guard_band(seconds: float) -> float:
    """How much longer than MDE's window ours is. We count a call when it leaves, MDE when it
    arrives; arrivals come late by a varying delay and bunch up, so a window of departures
    that is just full could still be one call over at MDE. 5 % (at least 0.25 s, at most 3 s)
    of slack absorbs that: 100 calls per 63 s for MDE's 100 per 60 s."""
    return min(3.0, max(0.25, seconds * 0.05))


class SlidingWindow:
    """At most `calls` starts in any interval of `seconds` plus the guard band."""

    def __init__(self, window: Window, clock: Callable[[], float]) -> None:
        self.window = window
        self._span = window.seconds + guard_band(window.seconds)
        self._clock = clock
        self._starts: deque[float] = deque()
        self._ends: deque[float] = deque()  # when recent calls ended (MDE saw them by then)

    def wait(self, ahead: int = 0, *, keep_free: int = 0) -> float:
        """Seconds until one more call fits behind `ahead` others, leaving `keep_free` of the
        window unused; 0 if it fits now.

        Every start is a position in one sequence: the starts the window remembers, then the
        calls to come. The call at position P starts when the one `capacity` places before it
        has left the window: a remembered start leaves at its time plus the span, a future
        one a span after its own start. So the wait is one remembered start's departure (or
        now) plus a whole span for each future call in between."""
        now = self._clock()
        horizon = now - self._span
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()
        capacity = max(1, self.window.calls - keep_free)
        remembered = len(self._starts)
        before = remembered + ahead - capacity  # the position that must leave first
        if before < 0:
            return 0.0
        spans = 0
        if before >= remembered:  # a call still to come: a span after its own start
            spans = (before - remembered) // capacity + 1
            before -= spans * capacity
        leaves = self._starts[before] - horizon if before >= 0 else 0.0
        return max(0.0, leaves) + spans * self._span

    def settled(self, in_flight: int, *, keep_free: int = 0) -> float:
        """Seconds until MDE can have seen fewer than the window's calls, counting every call
        that ended within the span and every call still in flight (its arrival is unknown, so
        it has not left). A start can reach MDE late (a busy loop, a slow connection) while a
        later one arrives at once, so starts alone can put one call too many into MDE's
        window; a call counted until a span after it *ended* cannot be."""
        now = self._clock()
        horizon = now - self._span
        while self._ends and self._ends[0] <= horizon:
            self._ends.popleft()
        capacity = max(1, self.window.calls - keep_free)
        first = len(self._ends) + in_flight - capacity  # the end that must leave first
        if first < 0:
            return 0.0
        if first >= len(self._ends):
            return self._span  # only a call in flight ending frees a place (release wakes us)
        return max(0.0, self._ends[first] - horizon)

    def __len__(self) -> int:
        """How many starts and ends it remembers (bounded by the span)."""
        return len(self._starts) + len(self._ends)

    def record(self) -> None:
        self._remember(self._starts)

    def finish(self) -> None:
        self._remember(self._ends)

    def _remember(self, times: deque[float]) -> None:
        """Now, and only what is within the span: a window far from full is never asked how
        long to wait, and must not keep every call it ever counted."""
        now = self._clock()
        while times and times[0] <= now - self._span:
            times.popleft()
        times.append(now)


@dataclass
class WaitingCount:
    """Calls waiting across every budget of the process, and how many may."""

    limit: int = TOTAL_WAITING
    waiting: int = 0


@dataclass(eq=False)
class _Waiter:
    requester: Requester
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


async def _wait_for_event(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class Budget:
    """The call budget of one connector (one per family: API and hunting), as the module
    docstring describes. `clock` and `wait` (wait for an event, at most so many seconds) are
    injectable, so tests run it in virtual time."""

    def __init__(
        self,
        windows: Sequence[Window] = API_WINDOWS,
        *,
        reserve: float = RESERVE,
        max_waiting: int = MAX_WAITING,
        max_waiting_per_user: int | None = None,
        total: WaitingCount | None = None,
        max_in_flight: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[asyncio.Event, float], Awaitable[None]] = _wait_for_event,
        shared: SharedWindow | None = None,
    ) -> None:
        self._clock = clock
        self._shared = shared  # the windows all replicas count (None: this process alone)
        self._finishing: set[asyncio.Task[None]] = set()  # ends being told to `shared`
        self._reserve = reserve
        self._wait_event = wait
        self._windows = [SlidingWindow(w, clock) for w in windows]
        self._reserved = [math.floor(w.calls * reserve) for w in windows]
        self.max_waiting = max_waiting
        self.max_waiting_per_user = max_waiting_per_user or max(1, max_waiting // 4)
        self._total = total or WaitingCount()
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # granted calls not yet released
        self._paused_until = 0.0
        # Per priority, the users waiting in turn order, each with their calls in order.
        self._queues: dict[Priority, OrderedDict[str, deque[_Waiter]]] = {
            p: OrderedDict() for p in Priority
        }
        # Per priority and user, calls booked by admitted work and not yet made.
        self._booked: dict[Priority, Counter[str]] = {p: Counter() for p in Priority}
        self.waiting = 0  # calls queued right now
        self._changed = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ what callers use

    def pause(self, seconds: float) -> None:
        """MDE said Retry-After: no call leaves before that."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._changed.set()

    def delay(self, calls: int = 1, requester: Requester | None = None) -> float:
        """About how long the last of `calls` new calls of `requester` (default: the current
        one) would wait: behind the people served first and, in turns, the other users' calls
        of its own priority, queued or booked. What "queued, about N s" tells users, and what
        admission decides on."""
        requester = requester or REQUESTER.get()
        ahead = 0
        for priority in Priority:
            pending = self._pending(priority)
            if priority < requester.priority:
                ahead += sum(pending.values())
            elif priority == requester.priority:
                own = pending.pop(requester.user, 0)
                ahead += own + sum(min(n, own + calls) for n in pending.values())
        return self._wait(requester.priority, ahead + calls - 1)

    def book(self, calls: int, requester: Requester | None = None) -> Booking:
        """Count `calls` that admitted work of `requester` will make as waiting, from now."""
        requester = requester or REQUESTER.get()
        self._booked[requester.priority][requester.user] += calls
        return Booking(self, requester, calls)

    def unbook(self, requester: Requester, calls: int) -> None:
        booked = self._booked[requester.priority]
        booked[requester.user] -= calls
        if booked[requester.user] <= 0:
            del booked[requester.user]

    async def acquire(self) -> None:
        """Wait for this call's turn and slot (for the current `REQUESTER`)."""
        requester = REQUESTER.get()
        for booking in requester.bookings:
            if booking.budget is self:
                booking.spend()  # this call was counted as booked: it is real now
        if requester.deadline is not None and self._clock() >= requester.deadline:
            raise DeadlinePassed
        if (
            self._shared is None
            and not self.waiting
            and self._room()
            and self._wait(requester.priority) <= 0
        ):
            self._grant()
            return
        self._admit(requester)
        waiter = _Waiter(requester)
        users = self._queues[requester.priority]
        users.setdefault(requester.user, deque()).append(waiter)
        self._count(+1)
        self._changed.set()
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = asyncio.create_task(self._schedule(), name="mde-budget")
        try:
            await waiter.granted
        except BaseException:
            granted = waiter.granted
            if granted.done() and not granted.cancelled() and granted.exception() is None:
                self.release()  # granted, but the caller went away before using it
            else:
                self._leave(waiter)  # cancelled while waiting (or refused): out of the queue
            raise

    def release(self) -> None:
        """A granted call has ended: its place in flight is free, and its end is counted (in
        the shared windows too, in a task of its own: a call's end never waits for Redis)."""
        self.in_flight -= 1
        for window in self._windows:
            window.finish()
        if self._shared is not None:
            task = asyncio.get_running_loop().create_task(self._shared.finish())
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
        self._changed.set()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A granted call for the duration of the block (`acquire`, then `release`)."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def close(self) -> None:
        """Stop the scheduler; calls still waiting are cancelled with it."""
        if self._finishing:  # the ends of the last calls reach the shared windows first
            await asyncio.gather(*self._finishing, return_exceptions=True)
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        for users in self._queues.values():
            for queue in users.values():
                for waiter in queue:
                    waiter.granted.cancel()
            users.clear()
        self._count(-self.waiting)

    # ------------------------------------------------------------------ the scheduler

    async def _schedule(self) -> None:
        """Grant calls one at a time, each as soon as its slot is free; sleep in between
        without holding anything, waking early when the queue or a pause changes."""
        while self.waiting:
            self._changed.clear()
            head = self._next()
            if head is None:
                continue  # only expired callers were at the heads: they were refused
            priority, waiter = head
            if not self._room():
                await self._wait_event(self._changed, IDLE_CHECK)  # until a call ends
                continue
            if (wait := self._wait(priority)) > 0 or (wait := await self._take(priority)) > 0:
                await self._wait_event(self._changed, wait)
                continue  # look again: someone who goes first may have come
            if waiter.granted.done():
                continue  # cancelled while the shared window was asked: its slot is spent
            self._leave(waiter)
            self._grant()
            waiter.granted.set_result(None)

    def _next(self) -> tuple[Priority, _Waiter] | None:
        """The next call to grant: the first priority with callers, the user whose turn it
        is, their oldest call. Callers past their deadline are refused on the way."""
        now = self._clock()
        for priority, users in self._queues.items():
            while users:
                waiter = next(iter(users.values()))[0]
                if waiter.granted.done():  # cancelled; its task has not run to leave yet
                    self._leave(waiter)
                    continue
                deadline = waiter.requester.deadline
                if deadline is not None and now >= deadline:
                    self._leave(waiter)
                    waiter.granted.set_exception(DeadlinePassed())
                    continue
                return priority, waiter
        return None

    def _leave(self, waiter: _Waiter) -> None:
        """Take `waiter` out of its queue; its user's turn passes to the next user."""
        users = self._queues[waiter.requester.priority]
        queue = users.get(waiter.requester.user)
        if queue is None or waiter not in queue:
            return
        queue.remove(waiter)
        self._count(-1)
        users.pop(waiter.requester.user)
        if queue:
            users[waiter.requester.user] = queue  # back of the line for its next call

    # ------------------------------------------------------------------ bookkeeping

    def _admit(self, requester: Requester) -> None:
        own = len(self._queues[requester.priority].get(requester.user, ()))
        if (
            self.waiting >= self.max_waiting
            or own >= self.max_waiting_per_user
            or self._total.waiting >= self._total.limit
        ):
            raise QueueFull

    def _pending(self, priority: Priority) -> Counter[str]:
        """Per user, the calls of `priority` waiting or booked."""
        pending = Counter({user: len(q) for user, q in self._queues[priority].items()})
        pending.update(self._booked[priority])
        return pending

    def _count(self, change: int) -> None:
        self.waiting += change
        self._total.waiting += change

    def _wait(self, priority: Priority, ahead: int = 0) -> float:
        """Seconds until a call of `priority` may start behind `ahead` others. For the call
        about to start (`ahead` 0) the calls that ended recently and those in flight count
        too (`SlidingWindow.settled`); estimates further ahead go by starts alone."""
        pause = self._paused_until - self._clock()
        reserved = self._reserved if priority is Priority.AUTO else [0] * len(self._windows)
        pairs = list(zip(self._windows, reserved, strict=True))
        waits = [w.wait(ahead, keep_free=r) for w, r in pairs]
        if ahead == 0:
            waits += [w.settled(self.in_flight, keep_free=r) for w, r in pairs]
        return max([pause, *waits, 0.0])

    async def _take(self, priority: Priority) -> float:
        """With shared windows: count the call about to start in them, or the seconds until
        it may (nothing counted). Without: 0, the local windows decided."""
        if self._shared is None:
            return 0.0
        return await self._shared.take(reserve=self._reserve if priority is Priority.AUTO else 0)

    def _room(self) -> bool:
        return self.max_in_flight is None or self.in_flight < self.max_in_flight

    def _grant(self) -> None:
        self.in_flight += 1
        for window in self._windows:
            window.record()
