"""The real clock's shared timeouts (real time, in tens of milliseconds)."""

from __future__ import annotations

import asyncio

import pytest

from runtime import SystemClock


async def test_a_slow_awaitable_times_out_and_a_fast_one_returns() -> None:
    clock = SystemClock(resolution=0.005)
    with pytest.raises(TimeoutError, match=r"timed out after 0\.01s"):
        await clock.wait_for(asyncio.Event().wait(), 0.01)

    async def quick() -> str:
        return "done"

    assert await clock.wait_for(quick(), 0.01) == "done"


async def test_cancelling_the_waiter_is_not_mistaken_for_a_timeout() -> None:
    clock = SystemClock(resolution=0.005)
    started = asyncio.Event()

    async def waiter() -> None:
        started.set()
        await clock.wait_for(asyncio.Event().wait(), 60)

    task = asyncio.create_task(waiter())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_many_concurrent_timeouts_each_fire_once() -> None:
    clock = SystemClock(resolution=0.005)
    results = await asyncio.gather(
        *(clock.wait_for(asyncio.Event().wait(), 0.01) for _ in range(100)),
        return_exceptions=True,
    )
    assert all(isinstance(r, TimeoutError) for r in results)
