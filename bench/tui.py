"""The dashboard under load: EVA's dashboard busy against the same dashboard idle, and
its startup against a bare Textual app, side by side in one run.

Targets (issue 6): with the demo producing about 500 saga events a second, a key
press reaches the screen in under 100 ms (p50 and p95), memory stays bounded (the
saga table keeps a window of rows), and the first frame is drawn within 1.5 s.

The dashboard is built as `tui/main.py` builds it: `eva.open_assistant(db,
Workload(sagas=N))` on a temporary SQLite file, then `tui.app.Dashboard(assistant)`,
driven headless through Textual's pilot (`App.run_test(size=(120, 40))`).

Load: the demo starts a batch of N sagas, waits until they settle, sleeps a
second, and again. The rate is not assumed: a subscriber to the runtime's event
stream counts the saga events (kind `saga`) over the measuring window, and that
measured rate is what is reported.

Key to screen, per sample: t0 is just before `pilot.press(key)`, which hands the
key to the driver as a terminal's input thread would; t1 is the end of the first
frame the app composes (`App._display`, where a real driver writes to the
terminal) in which the key's effect is visible. Headless Textual composes every
frame but writes none, so each frame is also rendered here to terminal bytes, as
a terminal driver would, and only the write itself is left out. Samples alternate:
  - type: a letter, then backspace, in the command bar; visible once the bar's
    value has changed;
  - switch: f4 then f2 (actors, sagas); visible once the other panel has been
    laid out on screen (its region is not empty).
Both were checked against the frames' bytes: the frame found holds the new
command bar, or the new panel's text.
The p50/p95 over both kinds is the target figure. Also reported, not a target:
  - fresh: for the same switches, the first frame after the panel shown has
    re-read its data since the key (when it needed to); a busy panel may show
    its old rows until the next refresh tick (0.25 s).
The peer is the same dashboard over the same database after the load has
stopped (idle runtime, same rows to draw); the ratio is loaded/idle.

Memory: RSS at the first frame and after the warm-up and the loaded samples,
and the saga table's rows then (the panel keeps at most 200).

Startup: in a fresh process per run, from launch (before the interpreter starts)
to the first frame: EVA (imports, opening the database, the demo, the dashboard)
against the peer, a bare Textual app with one 200-row DataTable. Also, in the
loaded run, from `Dashboard(...)` to its first frame. Medians of the runs.

Run from the repository root; the last line is one JSON object:

    python -m bench.tui --quick      # under a minute
    python -m bench.tui              # 50 samples a kind
    python -m bench.tui --sagas 100  # a heavier load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable

if TYPE_CHECKING:
    from eva import RuntimeEvent
    from tui.app import Dashboard

# EVA's modules are imported where they are used, so the peer's startup process
# loads Textual alone.

SAGAS = 72
"""Demo sagas a batch: about 500 saga events a second with the dashboard up, on 2 cores."""
WARM_UP = 3.0
"""Seconds of load before sampling, so the table is full and the rate steady."""
TARGET_MS = 100.0
TARGET_STARTUP_S = 1.5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss / 2**20)


class Frames:
    """Times the frames an app composes, rendering each to terminal bytes as a driver would.

    `expect(visible)` returns a future that resolves with the time of the first
    frame composed while `visible()` holds.
    """

    def __init__(self, app: App[Any]) -> None:
        self.count = 0
        self.first: float | None = None
        self.first_wall: float | None = None
        self._expected: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        shown = app._display

        def display(screen: Screen[Any], renderable: RenderableType | None) -> None:
            shown(screen, renderable)
            if renderable is None:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            now = time.perf_counter()
            self.count += 1
            if self.first is None:
                self.first, self.first_wall = now, time.time()
            for visible, done in self._expected:
                if not done.done() and visible():
                    done.set_result(now)
            self._expected = [e for e in self._expected if not e[1].done()]

        app._display = display  # type: ignore[method-assign]

    def expect(self, visible: Callable[[], bool]) -> asyncio.Future[float]:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._expected.append((visible, done))
        return done


class Timed:
    """Durations of one async method of one object, e.g. a panel's `update_now`."""

    def __init__(self, owner: object, name: str) -> None:
        self.ms: list[float] = []
        method: Callable[..., Awaitable[None]] = getattr(owner, name)

        async def timed(*args: Any) -> None:
            began = time.perf_counter()
            try:
                await method(*args)
            finally:
                self.ms.append((time.perf_counter() - began) * 1000)

        setattr(owner, name, timed)


async def loop_lag(lags: list[float]) -> None:
    """How late a 10 ms sleep wakes up: how long any handler waits for the event loop."""
    while True:
        began = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - began - 0.01) * 1000)


async def press(frames: Frames, pilot: Any, key: str, *visible: Callable[[], bool]) -> list[float]:
    """Press `key`; milliseconds until the first frame in which each of `visible` holds."""
    seen = [frames.expect(v) for v in visible]
    began = time.perf_counter()
    await pilot.press(key)
    return [(await asyncio.wait_for(s, 10) - began) * 1000 for s in seen]


async def type_key(app: Dashboard, frames: Frames, pilot: Any, key: str, value: str) -> float:
    """Type `key` in the command bar; milliseconds until a frame shows the bar holding `value`."""
    from tui.command_bar import CommandBar

    bar = app.query_one(CommandBar)
    [ms] = await press(frames, pilot, key, lambda: bar.value == value)
    return ms


async def switch_key(app: Dashboard, frames: Frames, pilot: Any, tab: str) -> list[float]:
    """Press the key of panel `tab`; milliseconds until a frame shows it, then until a frame
    shows it re-read since the key (when it was due a re-read)."""
    from textual.widgets import TabbedContent

    tabs = app.query_one(TabbedContent)
    panel = app.panel(tab)
    read_at, due = panel.read_at, panel.due(time.monotonic())

    def shown() -> bool:
        # The tab is active at once; the panel is on screen once the layout places it.
        return tabs.active == f"tab-{tab}" and panel.region.area > 0

    def fresh() -> bool:
        # read_at is set as the re-read starts; `_drawing` clears when it ends.
        return shown() and (not due or (panel.read_at != read_at and not app._drawing))

    return await press(frames, pilot, panel.KEY, shown, fresh)


async def sample(app: Dashboard, frames: Frames, pilot: Any, n: int) -> dict[str, list[float]]:
    """`n` samples of each kind: type (a letter, then backspace) and switch (f4, then f2)."""
    found: dict[str, list[float]] = {"type": [], "switch": [], "fresh": []}
    for i in range(n):
        found["type"].append(
            await type_key(app, frames, pilot, *(("x", "x") if i % 2 == 0 else ("backspace", "")))
        )
        switch_ms, fresh_ms = await switch_key(
            app, frames, pilot, "actors" if i % 2 == 0 else "sagas"
        )
        found["switch"].append(switch_ms)
        found["fresh"].append(fresh_ms)
    return found


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 0.95), 1),
        "max": round(max(values), 1),
    }


async def count(events: AsyncIterable[RuntimeEvent], counts: Counter[str]) -> None:
    """Count the runtime's events by kind, as they come."""
    async for event in events:
        counts[event.kind] += 1


async def dashboard_run(db: Path, sagas: int, n: int) -> dict[str, Any]:
    """Key-to-screen samples on the dashboard over `db`, with `sagas` a batch (0: idle)."""
    from eva import Workload, open_assistant
    from tui.app import Dashboard

    workload = Workload(sagas=sagas) if sagas else None
    async with open_assistant(str(db), workload) as assistant:
        built = time.perf_counter()
        app = Dashboard(assistant)
        frames = Frames(app)
        async with app.run_test(size=(120, 40)) as pilot:
            ready = time.perf_counter()
            assert frames.first is not None
            rss_before = rss_mb()
            redraws = Timed(app.sagas, "update_now")
            if sagas:
                await asyncio.sleep(WARM_UP)  # a benchmark, not a test: let the load build up
            counts: Counter[str] = Counter()
            lags: list[float] = []
            events = assistant.runtime.events()
            watchers = [
                asyncio.create_task(count(events, counts)),
                asyncio.create_task(loop_lag(lags)),
            ]
            began, frames_before = time.perf_counter(), frames.count
            found = await sample(app, frames, pilot, n)
            seconds = time.perf_counter() - began
            for task in watchers:
                task.cancel()
            events.close()
            rss_after = rss_mb()
            rows = app.query_one("#saga-table", DataTable).row_count
    keys = found["type"] + found["switch"]
    return {
        "saga_events_per_s": round(counts["saga"] / seconds, 1),
        "events_per_s": round(counts.total() / seconds, 1),
        "frames_per_s": round((frames.count - frames_before) / seconds, 1),
        "key_ms": summary(keys),
        "type_ms": summary(found["type"]),
        "switch_ms": summary(found["switch"]),
        "fresh_ms": summary(found["fresh"]),
        "saga_redraw_ms": summary(redraws.ms) if redraws.ms else None,
        "loop_lag_ms": summary(lags),
        "first_frame_s": round(frames.first - built, 3),
        "pilot_ready_s": round(ready - built, 3),
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(rss_after, 1),
        "rows": rows,
        "samples": len(keys),
    }


# --- startup, one fresh process per run -------------------------------------------


class Bare(App[None]):
    """The peer: a bare Textual app with one DataTable of 200 rows and 7 columns."""

    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(f"column {c}" for c in range(7)))
        for r in range(200):
            table.add_row(*(f"cell {r}.{c}" for c in range(7)))


async def first_frame(launched: float, which: str, db: str, sagas: int) -> float:
    """Seconds from `launched` (wall clock, before this process began) to the first frame."""
    if which == "peer":
        app: App[None] = Bare()
        frames = Frames(app)
        async with app.run_test(size=(120, 40)):
            pass
    else:
        # As `tui.main` starts it; what the console script imports counts too.
        import tui.main  # noqa: F401
        from eva import Workload, open_assistant
        from eva.voice import Speaker
        from tui.app import Dashboard
        from tui.history import History

        async with open_assistant(db, Workload(sagas=sagas)) as assistant:
            with Speaker.from_env() as speaker:
                history = History(Path(db).with_suffix(".history"))
                app = Dashboard(assistant, history=history, speaker=speaker)
                frames = Frames(app)
                async with app.run_test(size=(120, 40)):
                    pass
    assert frames.first_wall is not None
    return frames.first_wall - launched


def startup(which: str, db: Path, sagas: int) -> float:
    launched = time.time()
    child = subprocess.run(
        [
            *(sys.executable, "-m", "bench.tui", "--startup", which),
            *("--db", str(db), "--sagas", str(sagas), "--launched", repr(launched)),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "EVA_TTS_MUTE": "1"},
    )
    if child.returncode:
        raise SystemExit(f"the {which} startup run failed:\n{child.stderr}")
    return float(json.loads(child.stdout.splitlines()[-1])["first_frame_s"])


# --- the report -------------------------------------------------------------------


def _line(name: str, r: dict[str, Any]) -> str:
    k, f = r["key_ms"], r["fresh_ms"]
    return (
        f"{name:<8} {r['saga_events_per_s']:>6.0f} saga events/s  key->screen p50 {k['p50']:.1f}"
        f" p95 {k['p95']:.1f} max {k['max']:.0f} ms (type p95 {r['type_ms']['p95']:.1f},"
        f" switch p95 {r['switch_ms']['p95']:.1f}; fresh data p50 {f['p50']:.0f} p95"
        f" {f['p95']:.0f})  loop lag p95 {r['loop_lag_ms']['p95']:.0f} ms"
        f"  {r['frames_per_s']:.0f} frames/s"
    )


async def run(quick: bool, sagas: int) -> dict[str, Any]:
    n = 12 if quick else 50
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "eva.db"
        loaded = await dashboard_run(db, sagas, n)
        print(_line("loaded", loaded), flush=True)
        idle = await dashboard_run(db, 0, n)
        print(_line("idle", idle), flush=True)
        runs = 3 if quick else 5
        eva_s = statistics.median(startup("eva", db, sagas) for _ in range(runs))
        peer_s = statistics.median(startup("peer", db, sagas) for _ in range(runs))
    ratio = loaded["key_ms"]["p95"] / idle["key_ms"]["p95"]
    print(
        f"loaded/idle key->screen p50 {loaded['key_ms']['p50'] / idle['key_ms']['p50']:.2f}x"
        f" p95 {ratio:.2f}x (target: both under {TARGET_MS:.0f} ms loaded)"
    )
    print(
        f"memory: RSS {loaded['rss_mb_before']:.0f} MB after the first frame,"
        f" {loaded['rss_mb_after']:.0f} MB after the loaded samples; saga table"
        f" {loaded['rows']} rows"
    )
    print(
        f"startup to first frame: EVA {eva_s:.2f} s, peer (bare Textual, one DataTable)"
        f" {peer_s:.2f} s, {eva_s / peer_s:.1f}x (target under {TARGET_STARTUP_S} s);"
        f" Dashboard() to first frame in process {loaded['first_frame_s']:.2f} s"
    )
    return {
        "load_average": round(os.getloadavg()[0], 2),
        "sagas_per_batch": sagas,
        "saga_events_per_s": loaded["saga_events_per_s"],
        "key_p50_ms_loaded": loaded["key_ms"]["p50"],
        "key_p95_ms_loaded": loaded["key_ms"]["p95"],
        "key_p50_ms_idle": idle["key_ms"]["p50"],
        "key_p95_ms_idle": idle["key_ms"]["p95"],
        "key_p95_ratio": round(ratio, 2),
        "startup_s_eva": round(eva_s, 3),
        "startup_s_peer": round(peer_s, 3),
        "startup_ratio": round(eva_s / peer_s, 2),
        "rss_mb_before": loaded["rss_mb_before"],
        "rss_mb_after": loaded["rss_mb_after"],
        "rows": loaded["rows"],
        "loaded": loaded,
        "idle": idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="12 samples a kind, 3 startups")
    parser.add_argument("--sagas", type=int, default=SAGAS, help="demo sagas a batch")
    parser.add_argument("--startup", choices=("eva", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup:
        seconds = asyncio.run(first_frame(args.launched, args.startup, args.db, args.sagas))
        print(json.dumps({"first_frame_s": seconds}))
        return
    print(json.dumps(asyncio.run(run(args.quick, args.sagas))))


if __name__ == "__main__":
    main()
