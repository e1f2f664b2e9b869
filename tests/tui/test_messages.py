"""The message monitor: the live stream between actors, its filter and pause, dead letters."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from eva import Assistant
from runtime import ActorNotFoundError, Priority, Runtime
from runtime.demo.actors import Crashes, build_actor_tree
from tui.app import Dashboard
from tui.messages import MessagesPanel

ACME = "/ventures/acme"
CHECKER = "/ventures/acme/compliance-checker-1"
METRICS = "/ventures/acme/metrics-collector-1"


class Charge(BaseModel):
    amount: int


class Refund(BaseModel):
    amount: int


def _rows(app: Dashboard, table_id: str) -> list[tuple[str, ...]]:
    table = app.query_one(f"#{table_id}", DataTable)
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def _stream(app: Dashboard) -> list[tuple[str, ...]]:
    """from, to, type, priority of each message shown, newest first (time aside)."""
    return [row[1:] for row in _rows(app, "message-table")]


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def _show(pilot: Pilot[None]) -> None:
    await pilot.press("f5")
    await pilot.pause()


async def _tick(app: Dashboard) -> None:
    """What the next refresh tick does, the runtime's events having marked the panel stale."""
    panel = app.query_one(MessagesPanel)
    panel.stale = True
    await panel.update_now(time.monotonic())


async def _demo(runtime: Runtime) -> None:
    await build_actor_tree(runtime, ("acme",), Crashes(0, 0))


async def test_with_no_traffic_the_panel_says_so(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        assert _text(app, "#message-status") == "No messages yet. · no filter"
        assert _text(app, "#dead-letter-title") == "No dead letters."
        assert _rows(app, "message-table") == []


async def test_messages_between_actors_are_shown_newest_first(runtime: Runtime) -> None:
    await _demo(runtime)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        runtime.actors.ref(CHECKER).tell(Charge(amount=5), sender=ACME)
        runtime.tell(METRICS, Refund(amount=2), Priority.HIGH)
        await _tick(app)
        assert _stream(app) == [
            ("-", METRICS, "Refund", "high"),
            (ACME, CHECKER, "Charge", "normal"),
        ]
        assert _text(app, "#message-status") == "2 of the last 2 messages · no filter"


async def test_the_filter_narrows_the_stream_and_says_what_is_in_force(runtime: Runtime) -> None:
    await _demo(runtime)
    runtime.actors.ref(CHECKER).tell(Charge(amount=5), sender=ACME)
    runtime.tell(METRICS, Refund(amount=2), Priority.HIGH)
    runtime.tell(CHECKER, Refund(amount=3))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await pilot.click("#message-filter")
        await pilot.press(*"type:refund")
        await pilot.pause()
        assert [row[2] for row in _stream(app)] == ["Refund", "Refund"]
        await pilot.press(*" actor:checker")
        await pilot.pause()
        assert _stream(app) == [("-", CHECKER, "Refund", "normal")]
        assert _text(app, "#message-status") == (
            "1 of the last 3 messages · filter: type:refund actor:checker"
        )
        await pilot.press("ctrl+u", *"HIGH x:1")
        await pilot.pause()
        assert _stream(app) == [("-", METRICS, "Refund", "high")]
        assert _text(app, "#message-status").endswith(
            "filter: high · ignored x:1 (use actor:, from:, to:, type:, priority:)"
        )


async def test_paused_the_stream_holds_still_until_resumed(runtime: Runtime) -> None:
    await _demo(runtime)
    runtime.tell(CHECKER, Charge(amount=1))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await pilot.click("#message-table")
        await pilot.press("p")
        await pilot.pause()
        runtime.tell(CHECKER, Charge(amount=2))
        runtime.tell(METRICS, Refund(amount=2))
        await _tick(app)
        assert _stream(app) == [("-", CHECKER, "Charge", "normal")]
        assert _text(app, "#message-status") == "PAUSED 2 new since; p resumes · no filter"
        await pilot.press("space")
        await pilot.pause()
        assert [row[2] for row in _stream(app)] == ["Refund", "Charge", "Charge"]
        assert not _text(app, "#message-status").startswith("PAUSED")


async def test_dead_letters_are_listed_below_the_stream(runtime: Runtime) -> None:
    await _demo(runtime)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        with pytest.raises(ActorNotFoundError):
            runtime.tell(f"{ACME}/nobody-here-1", Charge(amount=9))
        ref = runtime.actors.ref(METRICS)
        await runtime.stop_actor(METRICS)
        ref.tell(Refund(amount=1))
        await _tick(app)
        assert [row[1:] for row in _rows(app, "dead-letter-table")] == [
            (METRICS, "Refund", "recipient stopped", "unresolved"),
            (f"{ACME}/nobody-here-1", "Charge", "unknown recipient", "unresolved"),
        ]
        assert _text(app, "#dead-letter-title") == "Dead letters: 2, 2 unresolved"
