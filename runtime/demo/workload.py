"""The demo workload: venture-operations sagas with faults, and their summary."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.demo.actors import WORKERS, Crashes, build_actor_tree, desk_for
from runtime.demo.participants import (
    SERVICES,
    DemoParticipant,
    Faults,
    create_ledgers,
    duplicate_effects,
)
from runtime.sagas.definition import SagaDefinition, load_definitions
from runtime.sagas.queries import count_by_status, percentile, query_sagas
from runtime.sagas.state import TERMINAL, SagaStatus

if TYPE_CHECKING:
    from runtime.facade import Runtime

VENTURES = ("acme", "globex", "initech", "umbrella", "hooli")


def sagas_dir() -> Path:
    """Where the demo's saga definitions live: `EVA_SAGAS_DIR`, or the repository's data/sagas."""
    configured = os.environ.get("EVA_SAGAS_DIR")
    if configured:
        return Path(configured)
    local = Path("data/sagas")
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[2] / "data" / "sagas"


def demo_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The demo's ventures and actor names, known without opening a database."""
    actors = sorted({name for name, _ in WORKERS} | {"backup-manager-1"})
    return VENTURES, tuple(actors)


def demo_definitions() -> list[SagaDefinition]:
    return load_definitions(sagas_dir())


def demo_participants(
    runtime: Runtime, faults: Faults, seed: int = 0, *, with_actors: bool = False
) -> list[DemoParticipant]:
    return [
        DemoParticipant(
            name,
            runtime.writer,
            runtime.clock,
            faults,
            random.Random(f"{seed}/{name}"),
            desk_for(runtime, name) if with_actors else None,
        )
        for name in SERVICES
    ]


async def install_demo(
    runtime: Runtime, faults: Faults, seed: int = 0, *, crash_rate: float = 0.0
) -> list[DemoParticipant]:
    """Register the demo's saga types, services and supervision tree on an open runtime
    (before `recover`).

    Args:
        crash_rate: chance that an actor crashes on a message (its supervisor restarts it).
    """
    for definition in demo_definitions():
        runtime.register(definition)
    await create_ledgers(runtime.engine)
    await build_actor_tree(runtime, VENTURES, Crashes(crash_rate, seed))
    participants = demo_participants(runtime, faults, seed, with_actors=True)
    for participant in participants:
        await participant.load(runtime.engine)
        runtime.register_participant(participant)
    return participants


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `eva demo` prints. Counts are over the whole database."""

    started: int
    recovered: int
    completed: int
    rolled_back: int
    failed: int
    cancelled: int
    waiting: int
    dead_letters: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    sagas_per_second: float
    elapsed_seconds: float
    duplicate_effects: int
    lost: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_FINISHES = {"SagaCompleted", "SagaRolledBack", "SagaCancelled", "SagaFailed"}


async def _watch_finishes(runtime: Runtime, on_finished: Callable[[str, str], None]) -> None:
    async for event in runtime.events():
        if event.type in _FINISHES or (
            event.type == "CompensationStepFailed" and event.data.get("final")
        ):
            on_finished(event.subject, str(event.data["status"]))


async def run_demo(
    runtime: Runtime,
    *,
    sagas: int,
    seed: int = 0,
    auto_approve: bool = True,
    on_started: Callable[[str], None] | None = None,
    on_finished: Callable[[str, str], None] | None = None,
) -> DemoSummary:
    """Resume what was in flight, start `sagas` new demo sagas, and wait for them all.

    Sagas waiting for approval are approved by a stand-in Chairman when
    `auto_approve`; otherwise they are left waiting (and counted as such).
    `on_started(id)` is called once a saga's start is committed, and
    `on_finished(id, status)` once its terminal state is.
    """
    began = time.perf_counter()
    watcher = None
    if on_finished is not None:
        watcher = asyncio.create_task(_watch_finishes(runtime, on_finished))
    recovered = await runtime.recover()
    rng = random.Random(seed)
    types = runtime.saga_types
    weights = [4 if t == "order_fulfillment" else 1 for t in types]

    async def start_one(i: int) -> str:
        saga_type = rng.choices(types, weights)[0]
        venture = VENTURES[i % len(VENTURES)]
        saga_id = await runtime.start_saga(
            saga_type, venture, {"order": i, "amount": rng.randint(10, 5000)}
        )
        if on_started is not None:
            on_started(saga_id)
        return saga_id

    started: list[str] = []
    for chunk in range(0, sagas, 200):
        batch = range(chunk, min(sagas, chunk + 200))
        started.extend(await asyncio.gather(*(start_one(i) for i in batch)))

    while True:
        await runtime.wait_settled()
        waiting = [s for s in runtime.sagas.in_flight() if s.status is SagaStatus.WAITING_APPROVAL]
        if not (auto_approve and waiting):
            break
        for state in waiting:
            await runtime.approve_saga(state.saga_id, "approved by the demo's stand-in Chairman")

    elapsed = time.perf_counter() - began
    if watcher is not None:
        watcher.cancel()
    counts = await count_by_status(runtime.engine)
    ours = (
        await query_sagas(runtime.engine, ids=started + recovered) if started or recovered else []
    )
    finished = [s for s in ours if s.completed_at is not None and s.status in TERMINAL]
    latencies = sorted(
        (s.completed_at - s.created_at) * 1000 for s in finished if s.completed_at is not None
    )
    held = {s.saga_id for s in runtime.sagas.in_flight()}
    unfinished = await query_sagas(
        runtime.engine,
        statuses=[s.value for s in SagaStatus if s not in TERMINAL],
    )
    lost = sum(1 for s in unfinished if s.saga_id not in held)
    dead = await runtime.dead_letters(unresolved=True, kind="compensation")
    return DemoSummary(
        started=len(started),
        recovered=len(recovered),
        completed=counts.get("completed", 0),
        rolled_back=counts.get("rolled_back", 0),
        failed=counts.get("failed", 0),
        cancelled=counts.get("cancelled", 0),
        waiting=len(held),
        dead_letters=len(dead),
        p50_ms=round(percentile(latencies, 50), 2),
        p95_ms=round(percentile(latencies, 95), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        sagas_per_second=round(len(finished) / elapsed, 1) if elapsed > 0 else 0.0,
        elapsed_seconds=round(elapsed, 3),
        duplicate_effects=await duplicate_effects(runtime.engine),
        lost=lost,
    )
