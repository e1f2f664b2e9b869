"""Each panel at 120x40, as the Chairman sees it, against a stored picture.

The demo is deterministic: a manual clock, a fixed seed, sagas started one at a
time with scripted outcomes, and no background maintenance, so every run draws
the same screen. After a deliberate change to the look, review the new pictures
with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from eva import Assistant
from runtime import (
    ActorNotFoundError,
    Faults,
    ManualClock,
    Runtime,
    StepCall,
    StepError,
    install_demo,
)
from runtime.store.engine import sqlite_url
from tests.conftest import Recorder, order_definition
from tests.runtime.test_sagas import hold
from tui import incidents
from tui.app import Dashboard

SIZE = (120, 40)


class _Demo(Dashboard):
    """The dashboard over a freshly built, deterministic demo database (the snapshot
    plugin runs the app in its own event loop, so the runtime opens inside it)."""

    def __init__(self, path: Path) -> None:
        self.recorder = Recorder()
        shop = self.recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
        self.clock = ManualClock()
        runtime = Runtime(
            sqlite_url(path),
            clock=self.clock,
            seed=0,
            definitions=[order_definition()],
            participants=[shop],
            maintenance_interval=None,
        )
        super().__init__(Assistant(runtime))

    async def run_async(self, **options: Any) -> Any:
        runtime = self.assistant.runtime
        async with runtime:
            await install_demo(runtime, Faults(), seed=0)
            release = await self._scenario(runtime)
            try:
                return await super().run_async(**options)
            finally:
                release()

    async def _scenario(self, runtime: Runtime) -> Any:
        clock, recorder = self.clock, self.recorder

        async def step(saga_type: str, venture: str, after: float) -> str:
            saga_id = await runtime.start_saga(saga_type, venture, {"order": 7, "amount": 120})
            await runtime.wait_settled()
            clock.advance(after)
            return saga_id

        async def refuse(call: StepCall) -> None:
            raise StepError("card declined", kind="rejected", retryable=False)

        await step("order_fulfillment", "acme", 95)
        await step("venture_onboarding", "globex", 40)
        withdrawn = await step("venture_onboarding", "initech", 30)
        recorder.behaviour["check"] = refuse
        await step("order", "acme", 12)
        del recorder.behaviour["check"]
        await step("order", "globex", 5)
        await Assistant(runtime).handle(f"abort saga {withdrawn} because the founder withdrew!")
        await runtime.wait_settled()
        with contextlib.suppress(ActorNotFoundError):  # dead-lettered first, then raised
            runtime.tell("/user/nobody", {"ping": 1})
        entered, gate = hold(recorder, "check")
        await runtime.start_saga("order", "initech")
        await entered.wait()
        clock.advance(3)
        return gate.set


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Demo]:
    # The metrics are sampled by the test, not by a wall-clock timer.
    monkeypatch.setattr(incidents, "SAMPLE_EVERY", 3600.0)
    # Clock times on screen are local: draw them in one zone wherever the test runs.
    zone = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield _Demo(tmp_path / "eva.db")
    finally:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()


def test_sagas_panel(snap_compare: Any, demo: _Demo) -> None:
    assert snap_compare(demo, terminal_size=SIZE)


def test_flow_panel(snap_compare: Any, demo: _Demo) -> None:
    async def open_rolled_back(pilot: Pilot[None]) -> None:
        await pilot.press(*"what happened to saga 4", "enter")

    assert snap_compare(demo, terminal_size=SIZE, run_before=open_rolled_back)


@pytest.mark.parametrize("key", ["f4", "f5", "f6", "f8"])
def test_panel(snap_compare: Any, demo: _Demo, key: str) -> None:
    async def shown(pilot: Pilot[None]) -> None:
        await pilot.press(key)
        # On a loaded machine the panel's read can outlast the plugin's own pause.
        await demo.settled()

    assert snap_compare(demo, terminal_size=SIZE, run_before=shown)


def test_incidents_panel(snap_compare: Any, demo: _Demo) -> None:
    async def sampled(pilot: Pilot[None]) -> None:
        await pilot.press("f7")
        panel = pilot.app.query_one(incidents.IncidentsPanel)
        for _ in range(5):
            await panel.sample()

    assert snap_compare(demo, terminal_size=SIZE, run_before=sampled)


def test_confirmation(snap_compare: Any, demo: _Demo) -> None:
    assert snap_compare(demo, terminal_size=SIZE, press=[*"abort saga 2", "enter"])


def test_help_screen(snap_compare: Any, demo: _Demo) -> None:
    assert snap_compare(demo, terminal_size=SIZE, press=["f1"])
