"""The flow view: one saga's steps and compensations, driven from the dashboard."""

from __future__ import annotations

import io
import time

import sqlalchemy as sa
from rich.console import Console
from textual.widgets import DataTable, Static, TabbedContent

from eva import Assistant
from runtime import Runtime, SagaStatus
from runtime.store import schema
from tests.conftest import Recorder
from tests.runtime.test_sagas import fail_with, start_held
from tui.app import Dashboard
from tui.confirm import ConfirmScreen, ReasonScreen
from tui.flow import FlowPanel


def flow_text(app: Dashboard, width: int = 120) -> str:
    """The flow panel's picture as plain text, `width` columns wide."""
    body = app.query_one("#flow-body", Static)
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(body.content)
    return console.export_text()


def _step_line(text: str, step: str) -> str:
    """The title line of a step's box ("╭─ ✓ reserve ───…")."""
    return next(line for line in text.splitlines() if f" {step} ─" in line or f" {step} ━" in line)


async def _open(app: Dashboard, saga_id: str) -> None:
    await app.query_one(FlowPanel).show(saga_id)
    app.action_show_panel("flow")
    await app.draw()


async def test_before_a_saga_is_chosen_it_says_how_to_open_one(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert "Press Enter on a row in Sagas" in flow_text(app)
        assert "what happened to saga 42" in flow_text(app)


async def test_a_completed_saga_shows_every_step_done_with_the_pivot_marked(
    runtime: Runtime,
) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*f"what happened to saga {saga_id}", "enter")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "tab-flow"
        text = flow_text(app)
        assert f"Saga {saga_id} · order · venture acme" in text
        assert "✓ completed" in text
        for step in ("reserve", "check", "charge", "confirm"):
            assert "✓" in _step_line(text, step)
        assert text.count("done ·") == 4
        assert "◆ pivot — point of no return" in text
        assert "┏━ ✓ charge" in text  # the pivot's box is drawn heavy
        # Drawn wider than the terminal, it still needs no more than 120 columns.
        assert max(len(line.rstrip()) for line in flow_text(app, width=200).splitlines()) <= 116


async def test_a_rolled_back_saga_shows_the_failed_step_its_error_and_what_was_undone(
    runtime: Runtime, recorder: Recorder
) -> None:
    recorder.behaviour["charge"] = fail_with("rejected", False)
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, saga_id)
        await pilot.pause()
        text = flow_text(app)
        assert "↺ rolled back" in text
        assert "step charge failed after 1 attempt(s): charge said no" in text
        assert "✗ charge" in _step_line(text, "charge")
        assert "✗ charge said no" in text
        for step, undo in (("reserve", "release"), ("check", "uncheck")):
            line = _step_line(text, step)
            assert f"↺ {step}" in line
            assert f"↺ undo: {undo}" in line  # beside the step it undoes
        assert "○ confirm" in text


async def test_a_running_saga_is_redrawn_as_it_advances(
    runtime: Runtime, recorder: Recorder
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, held)
        await pilot.pause()
        text = flow_text(app)
        assert "▶ running" in text
        assert "▶ check" in _step_line(text, "check")
        assert "○ charge" in _step_line(text, "charge")
        gate.set()
        await runtime.wait_for([held])
        await pilot.pause()
        flow = app.query_one(FlowPanel)
        # The saga's events made the panel stale (unless a tick has redrawn it since);
        # redraw it as the next tick would.
        assert flow.stale or "✓ completed" in flow_text(app)
        await flow.update_now(time.monotonic())
        text = flow_text(app)
        assert "✓ completed" in text
        assert "✓ charge" in _step_line(text, "charge")


async def test_enter_on_a_row_of_the_saga_table_opens_it_in_the_flow(runtime: Runtime) -> None:
    first = await runtime.start_saga("order", "acme")
    second = await runtime.start_saga("order", "globex")
    await runtime.wait_for([first, second])
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#saga-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(first))
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "tab-flow"
        assert f"Saga {first} · order · venture acme" in flow_text(app)


async def test_a_saga_that_vanished_is_reported_in_plain_words(runtime: Runtime) -> None:
    gone, kept = (
        await runtime.start_saga("order", "acme"),
        await runtime.start_saga("order", "acme"),
    )
    await runtime.wait_for([gone, kept])
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, gone)
        await pilot.pause()
        assert "✓ completed" in flow_text(app)
        stream = f"saga-{gone}"
        async with runtime.engine.begin() as conn:
            await conn.execute(sa.delete(schema.events).where(schema.events.c.stream_id == stream))
            await conn.execute(
                sa.delete(schema.snapshots).where(schema.snapshots.c.stream_id == stream)
            )
        await app.query_one(FlowPanel).update_now(time.monotonic())
        assert flow_text(app).startswith(f"Saga {gone} is gone: no saga has id '{gone}'")
        await _open(app, "999")
        await pilot.pause()
        assert flow_text(app).startswith("Saga 999 is gone: no saga has id '999'")
        await _open(app, kept)  # the panel is still there for the next saga
        await pilot.pause()
        assert flow_text(app).startswith(f"Saga {kept} · order")


async def test_keys_on_the_flow_control_its_saga_and_abort_asks_why_first(
    runtime: Runtime, recorder: Recorder
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, held)
        await pilot.pause()
        app.query_one("#flow-scroll").focus()
        await pilot.press("p")
        await pilot.pause()
        assert (await runtime.get_saga(held)).status is SagaStatus.PAUSED
        assert "‖ paused" in flow_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"withdrawn", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        gate.set()
        await runtime.wait_for([held])
        state = await runtime.get_saga(held)
        assert state.status is SagaStatus.CANCELLED
        assert state.reason == "withdrawn"
        await app.query_one(FlowPanel).update_now(time.monotonic())
        text = flow_text(app)
        assert "last Chairman decision: ABORT — withdrawn" in text
