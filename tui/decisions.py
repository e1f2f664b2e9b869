"""The Chairman decision log, newest first, under the verdict of its hash chain.

Each reload checks the chain (and that the rows shown are what it recorded), so a
changed or removed record is reported as TAMPERED above the very rows it concerns.
Enter on a decision about a saga opens that saga in the flow view.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from eva import Decision, EngineError, IntegrityError
from eva.replies import plural
from tui.panel import Panel
from tui.sagas import SagaChosen, ago

COLUMNS = ("when", "who", "decision", "saga", "reason", "confirmed", "heard as", "outcome")
WIDEST = 40
"""Characters a free-text cell shows before it is cut, so the columns after it stay in view."""

_CONFIRMED = {"confirmed": "typed yes"}
"""Confirmations the assistant records in other words than the table shows ("typed !",
"spoken yes", "not needed" and "runbook --yes" are shown as they are)."""


def heard_as(decision: Decision) -> str:
    """The transcript and how sure the recogniser was, for a spoken command."""
    if decision.transcript is None:
        return "—"
    sure = decision.transcript_confidence
    return _cut(f'"{decision.transcript}"') + (f" ({sure:.0%})" if sure is not None else "")


def _cut(text: str) -> str:
    return text if len(text) <= WIDEST else text[: WIDEST - 1] + "…"


class DecisionsPanel(Panel):
    """The chain status line over the decision table."""

    TITLE = "Decisions"
    KEY = "f8"
    KINDS = frozenset({"decision"})
    # The runtime publishes no "decision" events yet; the dashboard marks every
    # panel stale after a command of its own, and this catches the others.
    EVERY = 2.0
    DEFAULT_CSS: ClassVar[str] = """
    DecisionsPanel #chain { height: 1; padding: 0 1; color: $success; }
    DecisionsPanel #chain.-tampered { color: $error; text-style: bold; height: auto; }
    """

    shown: list[Decision]
    """The decisions in the table, newest first."""

    def compose(self) -> ComposeResult:
        self.shown = []
        yield Static("", id="chain")
        yield DataTable(id="decision-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    async def reload(self) -> None:
        try:
            decisions = await self.monitor.decisions()
        except EngineError as exc:
            self._chain(f"Cannot read the decision log: {exc}", problem=True)
            return
        try:
            checked = await self.monitor.verify_decisions()
        except IntegrityError as exc:
            # The rows stay on screen: which one was changed is for the reader to see.
            self._chain(f"TAMPERED: {exc}", problem=True)
        except EngineError as exc:
            self._chain(f"Cannot verify the decision log: {exc}", problem=True)
        else:
            self._chain(f"Chain verified: {plural(checked, 'decision')}", problem=False)
        self._show(decisions, self.monitor.now())

    def _chain(self, text: str, *, problem: bool) -> None:
        line = self.query_one("#chain", Static)
        line.update(text)
        line.set_class(problem, "-tampered")

    def _show(self, decisions: list[Decision], now: float) -> None:
        self.shown = decisions
        table = self.query_one(DataTable)
        kept = table.ordered_rows[table.cursor_row].key if table.row_count else None
        table.clear()
        for d in decisions:
            table.add_row(
                ago(now - d.at),
                d.who,
                d.decision_type,
                d.saga_id or "—",
                _cut(d.reasoning) or "—",
                _CONFIRMED.get(d.confirmation, d.confirmation),
                heard_as(d),
                _cut(d.outcome),
                key=d.decision_id,
            )
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept))

    @on(DataTable.RowSelected, "#decision-table")
    def chosen(self, event: DataTable.RowSelected) -> None:
        about = {d.decision_id: d.saga_id for d in self.shown}
        saga_id = about.get(event.row_key.value or "")
        if saga_id is not None:
            self.post_message(SagaChosen(saga_id))
