"""The Chairman's review: what waits for a decision.

Sagas waiting for approval, oldest first (the longest wait is the most urgent),
and incidents not yet closed, or escalated to the Chairman. Each decision asks
for its reason and is then sent as the typed command would be, so it is read
back, confirmed when destructive, and logged with that reason.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from eva import EngineError, Incident, RuntimeEvent, SagaSummary
from tui.flow import ask_why
from tui.panel import Panel, cursor_key
from tui.sagas import SagaChosen, ago

SAGA_COLUMNS = ("saga", "type", "venture", "waits before", "waiting", "started")
INCIDENT_COLUMNS = ("incident", "trigger", "status", "opened", "attempts", "summary")
KEYS = "a approve · x abort · f force compensation · Enter open its flow"


ESCALATION_SHOWN = 86_400.0
"""Seconds an escalated incident stays in the review: the recursion loop has given
it to the Chairman, so it is listed (first, in red) for a day after."""


def needs_review(incident: Incident, now: float) -> bool:
    """Open incidents, and those escalated to the Chairman within the last day."""
    if incident.status == "escalated":
        ended = incident.closed_at if incident.closed_at is not None else now
        return now - ended < ESCALATION_SHOWN
    return incident.closed_at is None and incident.status != "closed"


class ReviewPanel(Panel):
    """Two queues: sagas waiting for approval and open incidents, each with its count."""

    TITLE = "Review"
    KEY = "f6"
    KINDS = frozenset({"saga", "incident"})
    EVERY = 5.0
    """The waits grow with time; five seconds is fine-grained enough for minutes."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "decide('approve saga')", "Approve"),
        Binding("x", "decide('abort saga')", "Abort"),
        Binding("f", "decide('force compensation on saga')", "Force compensation"),
    ]
    DEFAULT_CSS = """
    ReviewPanel .review-title { height: 1; padding: 0 1; text-style: bold; }
    ReviewPanel .queue { height: 1fr; }
    """

    listed: frozenset[str] = frozenset()
    """The sagas in the queue now: an event about one of them may take it out."""

    def compose(self) -> ComposeResult:
        # Each table in its own box: when Enter opens a saga's flow and this tab hides,
        # Textual hands focus to a focusable sibling of the table, which would switch
        # straight back to this tab.
        with Vertical(classes="queue"):
            yield Static("Waiting for approval", id="waiting-title", classes="review-title")
            yield DataTable(id="waiting-table", cursor_type="row", zebra_stripes=True)
        with Vertical(classes="queue"):
            yield Static("Open incidents", id="incidents-title", classes="review-title")
            yield DataTable(id="open-incidents", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#waiting-table", DataTable).add_columns(*SAGA_COLUMNS)
        self.query_one("#open-incidents", DataTable).add_columns(*INCIDENT_COLUMNS)

    def wants(self, event: RuntimeEvent) -> bool:
        if event.kind == "incident":
            return True
        joins = event.data.get("status") == "waiting_approval"
        return event.kind == "saga" and (joins or event.subject in self.listed)

    async def reload(self) -> None:
        title = self.query_one("#waiting-title", Static)
        try:
            waiting = await self.monitor.waiting()
            incidents = await self.monitor.incidents()
        except EngineError as exc:
            title.update(Text(f"Cannot read the review queue: {exc}", "red"))
            return
        now = self.monitor.now()
        incidents = sorted(
            (i for i in incidents if needs_review(i, now)),
            key=lambda i: (i.status != "escalated", -i.opened_at),
        )
        escalated = sum(1 for i in incidents if i.status == "escalated")
        self.listed = frozenset(s.saga_id for s in waiting)
        title.update(
            Text.assemble(f"Waiting for approval ({len(waiting)}), oldest first   ", (KEYS, "dim"))
        )
        self._fill_sagas(waiting, now)
        self.query_one("#incidents-title", Static).update(
            Text.assemble(
                f"Open incidents ({len(incidents) - escalated})",
                (f"   escalated to you ({escalated})", "bold red") if escalated else "",
            )
        )
        self._fill_incidents(incidents, now)

    def _fill_sagas(self, waiting: list[SagaSummary], now: float) -> None:
        table = self.query_one("#waiting-table", DataTable)
        kept = cursor_key(table)
        table.clear()
        for s in waiting:
            table.add_row(
                s.saga_id,
                s.saga_type,
                s.venture,
                s.current_step or "-",
                ago(now - s.updated_at),
                ago(now - s.created_at),
                key=s.saga_id,
            )
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept))

    def _fill_incidents(self, incidents: list[Incident], now: float) -> None:
        table = self.query_one("#open-incidents", DataTable)
        table.clear()
        for i in incidents:
            table.add_row(
                i.incident_id[:8],
                i.trigger,
                Text(i.status, "bold red") if i.status == "escalated" else i.status,
                ago(now - i.opened_at),
                str(i.attempts),
                i.summary,
                key=i.incident_id,
            )

    def action_decide(self, command: str) -> None:
        saga_id = cursor_key(self.query_one("#waiting-table", DataTable))
        if saga_id is None:
            self.notify("No saga is waiting for your approval.")
            return
        ask_why(self, f"{command} {saga_id}")

    @on(DataTable.RowSelected, "#waiting-table")
    def chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(SagaChosen(event.row_key.value))
