"""Incidents and metrics: the saga figures with their recent history, over the
recursion-trigger incidents (SAGA-001..004).

The figures are sampled every second whether or not the panel is on screen, so
the sparklines already have a history when the Chairman opens it. The incident
table re-reads when an incident changes, and each second for the ages.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static

from eva import EngineError, Incident
from eva.replies import plural
from tui.panel import Panel
from tui.sagas import ago

WINDOW = 60.0
"""Seconds the figures are computed over (a sliding window ending now)."""
SAMPLE_EVERY = 1.0
"""Seconds between samples of the figures."""
KEPT = 120
"""Samples each sparkline shows: two minutes at one a second."""

METRICS: tuple[tuple[str, str, str], ...] = (
    ("success_rate", "success", "{:.1%}"),
    ("p50_ms", "p50", "{:.1f} ms"),
    ("p95_ms", "p95", "{:.1f} ms"),
    ("p99_ms", "p99", "{:.1f} ms"),
    ("throughput_per_s", "throughput", "{:.2f}/s"),
)
"""(key in `Monitor.metrics`, label, format of the current value), in the order shown."""

_ALWAYS = {"throughput_per_s"}
"""Figures that mean something even when no saga ended in the window."""

COLUMNS = ("trigger", "status", "summary", "opened", "attempts")
SUMMARY_WIDTH = 72
"""Characters of a summary the table shows, so the columns after it stay in view."""


class IncidentsPanel(Panel):
    """The metrics row with sparklines, a status line, and the incidents newest first."""

    TITLE = "Incidents"
    KEY = "f7"
    KINDS = frozenset({"incident"})
    EVERY = 1.0
    DEFAULT_CSS: ClassVar[str] = """
    IncidentsPanel #metrics { height: 3; padding: 0 1; }
    IncidentsPanel .metric { width: 1fr; height: 3; margin-right: 2; }
    IncidentsPanel .metric Sparkline { height: 2; }
    IncidentsPanel #metrics-note, IncidentsPanel #incident-note { height: 1; padding: 0 1; }
    IncidentsPanel .-problem { color: $error; }
    """

    history: dict[str, deque[float]]
    """The last `KEPT` samples of each figure, oldest first."""
    latest: dict[str, Any] | None
    """The last figures read, or None before the first (or after a failed) read."""

    def compose(self) -> ComposeResult:
        self.history = {key: deque(maxlen=KEPT) for key, _, _ in METRICS}
        self.latest = None
        with Horizontal(id="metrics"):
            for key, label, _ in METRICS:
                with Vertical(classes="metric"):
                    yield Static(f"{label}  …", id=f"value-{key}")
                    yield Sparkline([], id=f"spark-{key}")
            with Vertical(classes="metric"):
                yield Static("consistency  …", id="value-consistency")
        yield Static("", id="metrics-note")
        yield Static("", id="incident-note")
        yield DataTable(id="incident-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#incident-table", DataTable).add_columns(*COLUMNS)
        self.set_interval(SAMPLE_EVERY, self.sample)

    async def sample(self) -> None:
        """Read the figures over the last `WINDOW` seconds, add them to the history and
        redraw the metrics row; a runtime error is shown in place of the figures."""
        note = self.query_one("#metrics-note", Static)
        try:
            figures = await self.monitor.metrics(WINDOW)
            consistency = await self.monitor.consistency()
        except EngineError as exc:
            self.latest = None
            note.update(f"Cannot read the metrics: {exc}")
            note.add_class("-problem")
            return
        self.latest = figures
        for key, label, form in METRICS:
            self.history[key].append(float(figures[key]))
            # With nothing ended, a 100% success rate and 0 ms latency are not news.
            shown = form.format(figures[key]) if figures["ended"] or key in _ALWAYS else "—"
            self.query_one(f"#value-{key}", Static).update(f"{label}  {shown}")
            # One sample would fill the whole sparkline; a trend needs two.
            kept = self.history[key]
            self.query_one(f"#spark-{key}", Sparkline).data = list(kept) if len(kept) > 1 else []
        self.query_one("#value-consistency", Static).update(
            f"consistency  {consistency[0]:.1%}  ({ago(self.monitor.now() - consistency[1])} ago)"
            if consistency
            else "consistency  —  not checked yet"
        )
        note.remove_class("-problem")
        note.update(
            f"Last {WINDOW:.0f} s: {figures['ended']} of {plural(figures['sagas'], 'saga')} "
            "touched ended."
        )

    async def reload(self) -> None:
        if self.latest is None:
            # Shown before the timer's first tick (or after a failed read): no blank row.
            await self.sample()
        note = self.query_one("#incident-note", Static)
        try:
            found = await self.monitor.incidents()
            kpis = await self.monitor.recursion_kpis()
        except EngineError as exc:
            note.update(f"Cannot read the incidents: {exc}")
            note.add_class("-problem")
            return
        note.remove_class("-problem")
        # Remediated incidents are still open: they wait for their validation.
        still_open = sum(i.status not in ("closed", "escalated") for i in found)
        escalated = sum(i.status == "escalated" for i in found)
        note.update(
            f"{plural(len(found), 'incident')}, {still_open} open, {escalated} escalated to you"
            + loop_words(kpis)
            if found
            else "No incidents."
        )
        now = self.monitor.now()
        table = self.query_one("#incident-table", DataTable)
        kept = table.ordered_rows[table.cursor_row].key if table.row_count else None
        table.clear()
        for incident in found:
            table.add_row(*_cells(incident, now), key=incident.incident_id)
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept))


def loop_words(kpis: dict[str, Any]) -> str:
    """How well the recursion loop heals, for the incidents line ("" before it has
    finished any incident)."""
    if kpis["success_rate"] is None:
        return ""
    times = [
        f"{label} {kpis[key]:.1f} s"
        for label, key in (
            ("detect", "mean_time_to_detect"),
            ("diagnose", "mean_time_to_diagnose"),
            ("remediate", "mean_time_to_remediate"),
        )
        if kpis[key] is not None
    ]
    return (
        f" · loop healed {kpis['success_rate']:.0%} of {kpis['closed'] + kpis['escalated']}"
        + (" · " + ", ".join(times) if times else "")
        + f" · false positives {kpis['false_positives']}"
    )


_STATUS_STYLES = {"open": "bold red", "escalated": "bold red", "closed": ""}


def _cells(incident: Incident, now: float) -> list[Text]:
    """One table row; an open incident stands out."""
    style = "" if incident.status == "closed" else "bold"
    return [
        Text(incident.trigger, style=style),
        Text(incident.status, style=_STATUS_STYLES.get(incident.status, "bold")),
        Text(_cut(incident.summary), style=style),
        Text(ago(now - incident.opened_at), style=style),
        Text(str(incident.attempts), style=style),
    ]


def _cut(text: str) -> str:
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"
