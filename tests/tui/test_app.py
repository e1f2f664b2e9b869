"""The dashboard driven like the Chairman drives it: keys in, screen out (Textual pilot)."""

from __future__ import annotations

import threading

from textual.widgets import Button, DataTable, Markdown, Static

from eva import Assistant
from eva.voice import Speaker, Speech
from runtime import Runtime, SagaStatus
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held
from tui import History
from tui.app import PANELS, Dashboard
from tui.command_bar import CommandBar
from tui.confirm import ConfirmScreen
from tui.failed import CannotStart
from tui.help import HelpScreen


def _statuses(app: Dashboard) -> dict[str, str]:
    table = app.query_one("#saga-table", DataTable)
    return {
        str(row[0]): str(row[3]) for row in (table.get_row_at(i) for i in range(table.row_count))
    }


def _chips(app: Dashboard) -> list[str]:
    return [str(b.label) for b in app.query(".chip").results(Button)]


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_a_typed_query_filters_the_table_and_shows_its_chips(
    runtime: Runtime, recorder: Recorder
) -> None:
    done = await runtime.start_saga("order", "acme")
    await runtime.wait_for([done])
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        assert _statuses(app) == {held: "running", done: "completed"}
        await pilot.press(*"show running sagas", "enter")
        await pilot.pause()
        assert _statuses(app) == {held: "running"}
        assert _chips(app) == ["status: running ✕"]
        assert _text(app, "#reply").startswith("1 running saga")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert set(_statuses(app)) == {held, done}
    gate.set()


async def test_pausing_a_saga_changes_its_row(runtime: Runtime, recorder: Recorder) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*f"pause saga {held}", "enter")
        await pilot.pause()
        assert _text(app, "#reply") == f"Saga {held} is now paused."
        assert _statuses(app)[held] == "paused"
    gate.set()


async def test_paused_intake_is_shown_above_the_saga_table_until_it_resumes(
    runtime: Runtime,
) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        line = app.query_one("#intake", Static)
        assert not line.display
        await pilot.press(*"pause new order sagas because the gateway is down!", "enter")
        await app.settled()
        assert line.display
        assert _text(app, "#intake") == (
            "Intake paused: new order sagas wait (the gateway is down)"
        )
        await pilot.press(*"resume new order sagas", "enter")
        await app.settled()
        assert not line.display


async def test_a_destructive_command_waits_for_y_and_enter_alone_does_nothing(
    runtime: Runtime, recorder: Recorder
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*f"abort saga {held}", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith(f"Abort saga {held}")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert _text(app, "#reply") == "Cancelled; nothing was changed."
        assert (await runtime.get_saga(held)).status is SagaStatus.RUNNING
        await pilot.press(*f"abort saga {held}", "enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        gate.set()
        await runtime.wait_for([held])
        assert (await runtime.get_saga(held)).status is SagaStatus.CANCELLED
        [decision] = await runtime.decisions.list()
        assert decision.confirmation == "confirmed"


async def test_up_recalls_earlier_commands_and_completion_is_offered(
    runtime: Runtime, tmp_path: object
) -> None:
    app = Dashboard(Assistant(runtime), history=History())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"help", "enter", *"show dead", "up")
        bar = app.query_one(CommandBar)
        assert bar.value == "help"
        await pilot.press("down")
        assert bar.value == "show dead"
        await pilot.pause()
        assert bar._suggestion == "show dead letters from the last hour"


async def test_replies_are_spoken_until_muted(runtime: Runtime) -> None:
    spoken: list[str] = []
    with Speaker(
        output=_Played(), on_event=lambda text, event: spoken.append(f"{event}: {text}")
    ) as speaker:
        app = Dashboard(Assistant(runtime), speaker=speaker)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"what can you do", "enter")
            await pilot.pause()
            assert speaker.wait_idle(10)
            await pilot.press("ctrl+o", *"help", "enter")
            await pilot.pause()
            assert speaker.wait_idle(10)
    reply = app.last_reply
    assert reply is not None
    assert spoken == [f"started: {reply.text}", f"finished: {reply.text}"]


class _Played:
    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        return True


async def test_f1_lists_the_keys_of_every_panel(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = app.screen.query_one(Markdown).source
        for kind in PANELS:
            assert f"`{kind.KEY.upper()}` | {kind.TITLE}" in shown
        assert "| Sagas | `e` | Edit filter |" in shown
        assert "`y` | Yes, do it" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_panel_keys_switch_panels(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        for kind in reversed(PANELS):
            await pilot.press(kind.KEY)
            assert isinstance(app.current, kind)


async def test_the_palette_runs_everyday_commands_and_prefills_targeted_ones(
    runtime: Runtime, recorder: Recorder
) -> None:
    held, gate = await start_held(runtime, recorder)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p", *"running sagas")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert _chips(app) == ["status: running ✕"]
        assert _statuses(app) == {held: "running"}
        await pilot.press("ctrl+p", *"pause a saga")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        bar = app.query_one(CommandBar)
        assert (bar.value, app.focused) == ("pause saga ", bar)
    gate.set()


async def test_e_puts_the_filter_in_the_command_bar_as_a_sentence(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"show failed sagas for venture acme in the last 2 hours", "enter")
        await pilot.pause()
        assert _chips(app) == ["status: failed ✕", "venture: acme ✕", "in the last 2 hours ✕"]
        app.query_one("#saga-table").focus()
        await pilot.press("e")
        bar = app.query_one(CommandBar)
        assert bar.value == "show failed sagas for venture acme in the last 2 hours"
        await pilot.click("#chip-venture")
        await pilot.pause()
        assert _chips(app) == ["status: failed ✕", "in the last 2 hours ✕"]


async def test_a_terminal_too_small_says_so_until_it_grows(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(60, 20)) as pilot:
        notice = app.query_one("#too-small", Static)
        assert notice.display
        assert "60x20; EVA needs at least 80x24" in _text(app, "#too-small")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not notice.display
        assert app.query_one("#main").display


async def test_the_reason_eva_cannot_start_is_shown_until_a_key() -> None:
    app = CannotStart("cannot use database /tmp/x.db: the file is not an SQLite database")
    async with app.run_test(size=(120, 40)) as pilot:
        assert "not an SQLite database" in str(app.query_one("#reason", Static).render())
        await pilot.press("q")
    assert app.return_code == 0
