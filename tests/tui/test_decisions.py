"""The Decisions panel: the Chairman's decisions as logged, under their hash chain's verdict."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from textual.widgets import DataTable, Static

from eva import Assistant
from runtime import Runtime
from runtime.store import schema
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held
from tui.app import Dashboard
from tui.decisions import DecisionsPanel
from tui.flow import FlowPanel


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def _row(app: Dashboard, index: int) -> dict[str, str]:
    table = app.query_one("#decision-table", DataTable)
    labels = [str(c.label) for c in table.ordered_columns]
    return dict(zip(labels, (str(c) for c in table.get_row_at(index)), strict=True))


async def test_a_pause_with_a_reason_is_listed_with_its_outcome_and_opens_its_saga(
    runtime: Runtime, recorder: Recorder
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*f"pause saga {held} because finance wants a look", "enter")
        await pilot.pause()
        await pilot.press("f8")
        await pilot.pause()
        assert isinstance(app.current, DecisionsPanel)
        assert _text(app, "#chain") == "Chain verified: 1 decision"
        row = _row(app, 0)
        assert {k: row[k] for k in ("who", "decision", "saga", "reason", "confirmed")} == {
            "who": "chairman",
            "decision": "PAUSE",
            "saga": held,
            "reason": "finance wants a look",
            "confirmed": "not needed",
        }
        assert row["heard as"] == "—"
        assert row["outcome"] == f"Saga {held} is now paused."
        app.query_one("#decision-table", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.current, FlowPanel)
        assert app.current.saga_id == held
    gate.set()


async def _change_the_row(runtime: Runtime) -> None:
    t = schema.chairman_decisions
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(t).values(record=sa.func.replace(t.c.record, "finance", "nobody"))
        )


async def _remove_the_row(runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        await conn.execute(sa.delete(schema.chairman_decisions))


async def _change_the_journal(runtime: Runtime) -> None:
    t = schema.events
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(t)
            .where(t.c.stream_id == "decisions")
            .values(data=sa.func.replace(t.c.data, "finance", "nobody"))
        )


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (_change_the_row, "does not match the chain"),
        (_remove_the_row, "is missing"),
        (_change_the_journal, "its content was changed"),
    ],
)
async def test_a_tampered_decision_log_is_reported_in_red(
    runtime: Runtime, recorder: Recorder, tamper: object, detail: str
) -> None:
    held, gate = await start_held(runtime, recorder)
    reply = await Assistant(runtime).handle(f"pause saga {held} because finance wants a look")
    assert reply.ok
    assert callable(tamper)
    await tamper(runtime)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        chain = _text(app, "#chain")
        assert chain.startswith("TAMPERED: journal stream 'decisions' is corrupt at version ")
        assert detail in chain
        assert app.query_one("#chain").has_class("-tampered")
    gate.set()
