"""'Run a consistency check': the score and the violations by kind, spoken; one row each."""

from __future__ import annotations

import sqlalchemy as sa

from eva import Assistant
from runtime import ManualClock, Runtime
from runtime.store import schema
from tests.conftest import Recorder
from tests.runtime.test_consistency import dead_lettered_saga


async def test_a_clean_store_is_reported_whole(runtime: Runtime) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    reply = await Assistant(runtime).handle("run a consistency check")
    assert reply.intent == "check_consistency"
    assert reply.text == (
        "Consistency 100.0% over 2 items checked: nothing wrong; the journal is intact."
    )
    assert reply.rows == []
    assert reply.data["violations"] == {}


async def test_violations_are_counted_by_kind_and_listed_one_per_row(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    stuck = await dead_lettered_saga(runtime, recorder, clock)
    recorder.behaviour.clear()
    edited = await runtime.start_saga("order", "globex")
    await runtime.wait_for([edited])
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(schema.saga_executions)
            .where(schema.saga_executions.c.saga_id == edited)
            .values(status="rolled_back")
        )
    reply = await Assistant(runtime).handle("check consistency and repair")
    assert reply.intent == "check_consistency"
    assert reply.text == (
        "Consistency 33.3% over 3 items checked: 1 dead-lettered compensation, "
        "1 read-model mismatch (1 can be repaired safely); the journal is intact."
    )
    assert [(r["kind"], r["subject"], r["repairable"]) for r in reply.rows] == [
        ("compensation_dead_lettered", f"saga {stuck}, step reserve", "yes"),
        ("read_model_mismatch", f"saga {edited}", "no"),
    ]
    assert reply.data["violations"] == {
        "compensation_dead_lettered": 1,
        "read_model_mismatch": 1,
    }
    # The grammar has no "and repair": the spoken check changed nothing.
    assert len(await runtime.dead_letters(unresolved=True)) == 1
