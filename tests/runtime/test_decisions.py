"""The Chairman decision log: recorded before the command, settled after, hash-chained."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime import IntegrityError, Runtime
from runtime.store import schema
from runtime.store.engine import sqlite_url


async def test_decisions_are_recorded_settled_listed_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "d.db")
    async with Runtime(url) as rt:
        first = await rt.decisions.record(
            intent="cancel_saga",
            slots={"saga": "42", "reason": "the customer withdrew"},
            text="abort saga 42 because the customer withdrew!",
            call="cancel_saga('42')",
            saga_id="42",
            confirmation="typed !",
            reasoning="the customer withdrew",
        )
        assert first.decision_type == "ABORT"
        assert first.outcome == "pending"
        await rt.decisions.settle(first, "compensating")
        second = await rt.decisions.record(
            intent="pause_intake",
            slots={},
            text="stop accepting new sagas",
            call="pause_intake()",
            transcript="stop accepting new sagas",
            transcript_confidence=0.91,
        )
        assert second.decision_type == "PAUSE_INTAKE"
        listed = await rt.decisions.list()
        assert [d.decision_id for d in listed] == [second.decision_id, first.decision_id]
        assert listed[1].outcome == "compensating"
        assert await rt.decisions.verify() == 3
    async with Runtime(url) as rt:
        [on_saga] = await rt.decisions.list(saga_id="42")
        assert on_saga.reasoning == "the customer withdrew"


async def test_concurrent_decisions_keep_one_unbroken_chain(tmp_path: Path) -> None:
    async with Runtime(sqlite_url(tmp_path / "d.db")) as rt:
        await asyncio.gather(
            *(
                rt.decisions.record(
                    intent="pause_saga",
                    slots={"saga": str(i)},
                    text="pause",
                    call="pause_saga",
                    saga_id=str(i),
                )
                for i in range(20)
            )
        )
        assert await rt.decisions.verify() == 20


async def test_a_changed_record_breaks_the_chain(tmp_path: Path) -> None:
    async with Runtime(sqlite_url(tmp_path / "d.db")) as rt:
        await rt.decisions.record(
            intent="approve_saga",
            slots={"saga": "7"},
            text="approve 7",
            call="approve_saga('7')",
            saga_id="7",
        )
        async with rt.engine.begin() as conn:
            await conn.execute(
                sa.update(schema.events)
                .where(schema.events.c.stream_id == "decisions")
                .values(data=sa.func.replace(schema.events.c.data, "approve 7", "approve 8"))
            )
        with pytest.raises(IntegrityError, match="decisions"):
            await rt.decisions.verify()


@pytest.mark.parametrize("tamper", ["edit", "delete"])
async def test_a_row_that_differs_from_the_chain_is_caught(tmp_path: Path, tamper: str) -> None:
    async with Runtime(sqlite_url(tmp_path / "d.db")) as rt:
        decision = await rt.decisions.record(
            intent="pause_saga", slots={"saga": "7"}, text="pause 7", call="pause", saga_id="7"
        )
        await rt.decisions.settle(decision, "paused")
        t = schema.chairman_decisions
        async with rt.engine.begin() as conn:
            if tamper == "edit":
                await conn.execute(
                    sa.update(t).values(record=sa.func.replace(t.c.record, "pause 7", "pause 9"))
                )
            else:
                await conn.execute(sa.delete(t))
        with pytest.raises(IntegrityError, match=decision.decision_id[:8]):
            await rt.decisions.verify()
