"""The Incidents panel: saga figures with their history, over the recursion-trigger incidents."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import DataTable, Sparkline, Static

from eva import Assistant
from runtime import Actor, ActorType, ManualClock, Runtime
from tests.conftest import Recorder
from tests.runtime.test_sagas import fail_with
from tui.app import Dashboard
from tui.incidents import IncidentsPanel, loop_words


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_the_metrics_row_shows_the_success_rate_and_keeps_its_history_off_screen(
    runtime: Runtime, recorder: Recorder
) -> None:
    good = [await runtime.start_saga("order", "acme") for _ in range(3)]
    await runtime.wait_for(good)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(IncidentsPanel)
        await panel.sample()
        recorder.behaviour["charge"] = fail_with("rejected", False)
        bad = await runtime.start_saga("order", "acme")
        await runtime.wait_for([bad])
        await panel.sample()
        assert app.current is not panel  # sampled while the saga table was on screen
        await pilot.press("f7")
        await pilot.pause()
        assert app.current is panel
        # 3 completed and 1 rolled back in the last minute: 3 / 4, and 4 / 60 s.
        assert _text(app, "#value-success_rate") == "success  75.0%"
        assert _text(app, "#value-throughput_per_s") == "throughput  0.07/s"
        assert _text(app, "#metrics-note") == "Last 60 s: 4 of 4 sagas touched ended."
        assert _text(app, "#value-consistency") == "consistency  —  not checked yet"
        drawn = app.query_one("#spark-success_rate", Sparkline).data
        assert drawn is not None
        assert drawn[0] == 1.0
        assert drawn[-1] == 0.75


async def test_a_runtime_error_while_sampling_is_shown_not_raised(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(IncidentsPanel)
        await pilot.press("f7")
        await pilot.pause()
        await runtime.close()
        await panel.sample()
        assert _text(app, "#metrics-note").startswith("Cannot read the metrics: ")
        assert app.query_one("#metrics-note").has_class("-problem")


class _Flaky(Actor):
    async def on_receive(self, message: Any) -> Any:
        raise RuntimeError("always")


async def test_an_actor_escalating_past_the_root_is_listed_as_an_open_incident(
    runtime: Runtime,
) -> None:
    ref = await runtime.spawn(_Flaky, "flaky", ActorType.NOTIFICATION_DISPATCHER)
    for _ in range(4):  # the guardian allows 3 restarts a minute; the 4th escalates
        ref.tell({"go": 1})
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "actor/flaky"))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f7")
        await pilot.pause()
        table = app.query_one("#incident-table", DataTable)
        assert table.row_count == 1
        trigger, status, summary, opened, attempts = (str(c) for c in table.get_row_at(0))
        assert (trigger, status, opened, attempts) == ("SAGA-003", "open", "0s", "0")
        assert summary.startswith("/flaky escalated past the root")
        assert _text(app, "#incident-note") == "1 incident, 1 open, 0 escalated to you"


async def test_the_last_consistency_check_is_shown_with_its_age(
    runtime: Runtime, clock: ManualClock
) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f7")
        panel = app.query_one(IncidentsPanel)
        await panel.sample()
        assert _text(app, "#value-consistency") == "consistency  —  not checked yet"
        await runtime.check_consistency()
        clock.advance(120)
        await panel.sample()
        assert _text(app, "#value-consistency") == "consistency  100.0%  (2m ago)"


def test_the_incident_line_says_how_well_the_loop_heals() -> None:
    kpis: dict[str, Any] = {
        "success_rate": 0.75,
        "closed": 3,
        "escalated": 1,
        "mean_time_to_detect": 2.04,
        "mean_time_to_diagnose": 0.04,
        "mean_time_to_remediate": None,
        "false_positives": 1,
    }
    assert loop_words(kpis) == (
        " · loop healed 75% of 4 · detect 2.0 s, diagnose 0.0 s · false positives 1"
    )
    assert loop_words({**kpis, "success_rate": None}) == ""
