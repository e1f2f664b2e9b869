"""The Chairman's review panel: approving, aborting and opening what waits for a decision."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from textual.widgets import DataTable, Static, TabbedContent

from eva import Assistant
from runtime import ManualClock, Runtime, SagaStatus
from runtime.store import schema
from tests.conftest import Recorder, order_definition
from tests.tui.test_flow import flow_text
from tui.app import Dashboard
from tui.confirm import ConfirmScreen, ReasonScreen


@pytest.fixture
async def approvals(db_url: str, clock: ManualClock, recorder: Recorder) -> AsyncIterator[Runtime]:
    """A runtime whose order sagas wait for the Chairman before they charge."""
    base = order_definition()
    steps = [s.model_copy(update={"requires_approval": s.name == "charge"}) for s in base.all_steps]
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        db_url,
        clock=clock,
        definitions=[base.model_copy(update={"steps": steps})],
        participants=[shop],
    ) as rt:
        yield rt


async def _waiting(runtime: Runtime) -> str:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_settled()
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.WAITING_APPROVAL
    return saga_id


def _rows(app: Dashboard, table: str) -> list[str]:
    found = app.query_one(f"#{table}", DataTable)
    return [str(found.get_row_at(i)[0]) for i in range(found.row_count)]


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def _review(app: Dashboard) -> None:
    app.action_show_panel("review")
    await app.draw()
    app.query_one("#waiting-table", DataTable).focus()


async def test_approving_a_waiting_saga_asks_why_and_logs_the_reason(
    approvals: Runtime,
) -> None:
    saga_id = await _waiting(approvals)
    app = Dashboard(Assistant(approvals))
    async with app.run_test(size=(120, 40)) as pilot:
        await _review(app)
        await pilot.pause()
        assert _rows(app, "waiting-table") == [saga_id]
        assert _text(app, "#waiting-title").startswith("Waiting for approval (1)")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"CFO ok", "enter")
        await pilot.pause()
        assert _rows(app, "waiting-table") == []
        assert _text(app, "#waiting-title").startswith("Waiting for approval (0)")
        await approvals.wait_for([saga_id])
        state = await approvals.get_saga(saga_id)
        assert (state.status, state.decision) == (SagaStatus.COMPLETED, "CONTINUE")
        [decision] = await approvals.decisions.list()
        assert (decision.saga_id, decision.intent) == (saga_id, "approve_saga")
        assert decision.slots["reason"] == "CFO ok"


async def test_aborting_the_selected_saga_asks_why_then_for_confirmation(
    approvals: Runtime, clock: ManualClock
) -> None:
    older = await _waiting(approvals)
    clock.advance(60)
    newer = await _waiting(approvals)
    app = Dashboard(Assistant(approvals))
    async with app.run_test(size=(120, 40)) as pilot:
        await _review(app)
        await pilot.pause()
        assert _rows(app, "waiting-table") == [older, newer]  # the longest wait first
        await pilot.press("down", "x")
        await pilot.pause()
        await pilot.press(*"too late", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith(f"Abort saga {newer}")
        await pilot.press("y")
        await pilot.pause()
        await approvals.wait_for([newer])
        state = await approvals.get_saga(newer)
        assert (state.status, state.reason) == (SagaStatus.CANCELLED, "too late")
        assert (await approvals.get_saga(older)).status is SagaStatus.WAITING_APPROVAL
        [decision] = await approvals.decisions.list()
        assert (decision.saga_id, decision.confirmation) == (newer, "confirmed")


async def test_escape_in_the_reason_box_sends_nothing(approvals: Runtime) -> None:
    saga_id = await _waiting(approvals)
    app = Dashboard(Assistant(approvals))
    async with app.run_test(size=(120, 40)) as pilot:
        await _review(app)
        await pilot.pause()
        for key in ("a", "x", "f"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ReasonScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ReasonScreen | ConfirmScreen)
        assert app.last_reply is None
        assert (await approvals.get_saga(saga_id)).status is SagaStatus.WAITING_APPROVAL
        assert await approvals.decisions.list() == []
        assert _rows(app, "waiting-table") == [saga_id]


async def test_enter_on_a_waiting_saga_opens_its_flow(approvals: Runtime) -> None:
    saga_id = await _waiting(approvals)
    app = Dashboard(Assistant(approvals))
    async with app.run_test(size=(120, 40)) as pilot:
        await _review(app)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "tab-flow"
        assert flow_text(app).startswith(f"Saga {saga_id} · order · venture acme")
        assert _rows(app, "waiting-table") == [saga_id]


async def test_open_and_recently_escalated_incidents_are_listed_escalated_first(
    approvals: Runtime, clock: ManualClock
) -> None:
    now = clock.now()
    incident = {"trigger": "SAGA-003", "details": "{}", "attempts": 0, "opened_at": now}
    async with approvals.engine.begin() as conn:
        await conn.execute(
            sa.insert(schema.incidents),
            [
                {
                    **incident,
                    "incident_id": "a" * 32,
                    "status": "open",
                    "summary": "root escalated",
                    "closed_at": None,
                },
                {
                    **incident,
                    "incident_id": "b" * 32,
                    "status": "closed",
                    "summary": "old news",
                    "closed_at": now,
                },
                {
                    **incident,
                    "incident_id": "c" * 32,
                    "status": "escalated",
                    "summary": "the playbook had no answer",
                    "closed_at": now,
                },
                {
                    **incident,
                    "incident_id": "d" * 32,
                    "status": "escalated",
                    "summary": "seen to last week",
                    "opened_at": now - 8 * 86_400,
                    "closed_at": now - 7 * 86_400,
                },
            ],
        )
    app = Dashboard(Assistant(approvals))
    async with app.run_test(size=(120, 40)) as pilot:
        await _review(app)
        await pilot.pause()
        assert _rows(app, "open-incidents") == ["c" * 8, "a" * 8]
        assert _text(app, "#incidents-title") == "Open incidents (1)   escalated to you (1)"
