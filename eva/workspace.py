"""An assistant over an open runtime with the demo installed, and a demo workload that
keeps going in the background (what the dashboard operates)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from eva.assistant import Assistant
from eva.llm import LLMFallback
from runtime import Faults, Runtime, install_demo, run_demo


@dataclass(frozen=True)
class Workload:
    """The demo traffic: `sagas` new sagas a second (0: none), with injected faults."""

    sagas: int = 20
    failure_rate: float = 0.1
    crash_rate: float = 0.02
    seed: int = 0


def database_url(db: str | None) -> str | None:
    """A file path or a URL as an SQLAlchemy URL (None: `EVA_DATABASE_URL` or data/eva.db)."""
    if db is None:
        return None
    return f"sqlite+aiosqlite:///{Path(db)}" if "://" not in db else db


@contextlib.asynccontextmanager
async def open_assistant(
    db: str | None = None, workload: Workload | None = None, *, assume_yes: bool = False
) -> AsyncIterator[Assistant]:
    """Open the runtime and install the demo; with a workload, also resume what was in
    flight and run the workload batch after batch until the block ends.

    Args:
        db: database file or URL (None: `EVA_DATABASE_URL` or data/eva.db).
        workload: the demo traffic (None: none, and nothing in flight is resumed).
        assume_yes: the assistant executes destructive commands without asking.

    Raises:
        EngineError: the database cannot be opened (with the reason); ThresholdError
            (one) when a workload runs and an `EVA_THRESHOLD_*` variable is bad.
    """
    faults = Faults()
    if workload is not None:
        faults = Faults(
            failure_rate=workload.failure_rate,
            compensation_failure_rate=workload.failure_rate / 4,
        )
    seed = workload.seed if workload else 0
    # With traffic running, the recursion loop watches it and heals what it can.
    async with Runtime(
        database_url(db), seed=seed, recover=False, watch=workload is not None
    ) as runtime:
        crash_rate = workload.crash_rate if workload else 0.0
        await install_demo(runtime, faults, seed=seed, crash_rate=crash_rate)
        traffic = asyncio.create_task(_traffic(runtime, workload)) if workload else None
        try:
            yield Assistant(runtime, assume_yes=assume_yes, llm=LLMFallback.from_env())
        finally:
            if traffic is not None:
                traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await traffic


async def _traffic(runtime: Runtime, workload: Workload) -> None:
    # Waiting sagas are left for the Chairman to approve. A batch a second keeps the
    # table moving without burying what the Chairman is looking at.
    batch = 0
    while True:
        await run_demo(
            runtime, sagas=workload.sagas, seed=workload.seed + batch, auto_approve=False
        )
        batch += 1
        if workload.sagas == 0:
            return
        await runtime.clock.sleep(1.0)
