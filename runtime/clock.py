"""Time, injectable: the real clock for running, a manual one for tests.

Timeouts, backoff and deadlines all go through a `Clock`, so tests move
time forward in microseconds instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall-clock time, stored in the database)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await with a deadline; raises `TimeoutError` when it passes."""
        ...


class _Deadline:
    __slots__ = ("at", "fired", "task")

    def __init__(self, task: asyncio.Task[object], at: float) -> None:
        self.task = task
        self.at = at
        self.fired = False


class SystemClock:
    """The real clock.

    Args:
        resolution: how late a timeout may fire, in seconds. Timeouts share
            one sweeper task instead of one loop timer each: thousands of
            concurrent steps each arming and cancelling a timer cost more
            than the steps themselves.
    """

    def __init__(self, resolution: float = 0.02) -> None:
        self._resolution = resolution
        self._deadlines: set[_Deadline] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # The C function itself, not a method wrapping it: every tell reads the clock.
    now = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        deadline = _Deadline(task, loop.time() + timeout)
        self._deadlines.add(deadline)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = loop.create_task(self._sweep())
        try:
            return await awaitable
        except asyncio.CancelledError:
            if deadline.fired and task.uncancel() == 0:
                raise TimeoutError(f"timed out after {timeout:g}s") from None
            raise
        finally:
            self._deadlines.discard(deadline)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._deadlines:
            await asyncio.sleep(self._resolution)
            now = loop.time()
            for deadline in [d for d in self._deadlines if d.at <= now and not d.fired]:
                deadline.fired = True
                deadline.task.cancel()


class ManualClock:
    """A clock that moves only when told to, for tests.

    Sleepers wake in deadline order when `advance` passes their deadline.
    Timeouts (`wait_for`) are tracked apart from sleeps, so a test can wait
    for a backoff sleep without mistaking a pending timeout for one.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None], bool]] = []
        self._order = itertools.count()
        self._slept = asyncio.Event()

    def now(self) -> float:
        return self._now

    def _live(self, include_timeouts: bool) -> list[float]:
        return [
            when
            for when, _, future, is_timeout in self._sleepers
            if not future.done() and (include_timeouts or not is_timeout)
        ]

    def sleepers(self, include_timeouts: bool = False) -> int:
        """How many tasks are waiting on this clock."""
        return len(self._live(include_timeouts))

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds, is_timeout=False)

    async def _sleep(self, seconds: float, *, is_timeout: bool) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds, next(self._order), future, is_timeout)
        heapq.heappush(self._sleepers, entry)
        self._slept.set()
        await future

    async def until_sleeping(self, count: int = 1, *, include_timeouts: bool = False) -> None:
        """Until at least `count` tasks sleep on this clock (then `advance` wakes them)."""
        while self.sleepers(include_timeouts) < count:
            self._slept.clear()
            await self._slept.wait()

    def next_deadline(self, *, include_timeouts: bool = False) -> float | None:
        """Seconds until the earliest sleeper wakes, or None when nobody sleeps."""
        live = self._live(include_timeouts)
        return min(live) - self._now if live else None

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        task = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self._sleep(timeout, is_timeout=True))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise TimeoutError(f"timed out after {timeout:g}s (manual clock)")

    def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline has passed."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)


def iso(ts: float) -> str:
    """An epoch timestamp as ISO-8601 UTC, for people and JSON."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
