"""The saga orchestration console: the saga table under filter chips.

The filter is the one a typed "show saga failures in the last 24 hours" sets
(slot form). Each chip is a button that removes its filter; `e` puts the whole
filter into the command bar as a sentence, to be edited and sent again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from eva import SagaSummary
from eva.replies import window_words
from tui.panel import Panel, cursor_key

COLUMNS = ("saga", "type", "venture", "status", "step", "started", "took")


class SagaChosen(Message):
    """The Chairman opened a saga (Enter or a click on its row)."""

    def __init__(self, saga_id: str) -> None:
        super().__init__()
        self.saga_id = saga_id


class EditFilter(Message):
    """The Chairman wants to edit the filter as a sentence in the command bar."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence


def filter_sentence(filter: dict[str, Any]) -> str:
    """The command that sets this filter, e.g. "show failed payment_processing sagas for
    venture acme in the last 24 hours"."""
    status = filter.get("status")
    words = ["show"]
    if status and status != "waiting_approval":
        words.append(status.replace("_", " "))
    if filter.get("saga_type"):
        words.append(str(filter["saga_type"]).replace("_", " "))
    words.append("sagas")
    if status == "waiting_approval":
        words.append("waiting for approval")
    if filter.get("venture"):
        words.append(f"for venture {filter['venture']}")
    return " ".join(words) + window_words(filter.get("since_seconds"))


def chips(filter: dict[str, Any]) -> list[tuple[str, str]]:
    """(slot, label) for each filter in force, in a stable order."""
    labels = {
        "status": lambda v: f"status: {v}",
        "saga_type": lambda v: f"type: {v}",
        "venture": lambda v: f"venture: {v}",
        "since_seconds": lambda v: window_words(v).strip(),
        "limit": lambda v: f"newest {v}",
    }
    return [(slot, labels[slot](filter[slot])) for slot in labels if filter.get(slot)]


def ago(seconds: float) -> str:
    """A short age: 4s, 12m, 3h, 2d."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def took(summary: SagaSummary, now: float) -> str:
    end = summary.completed_at if summary.completed_at is not None else now
    seconds = end - summary.created_at
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else ago(seconds)


class SagasPanel(Panel):
    """The saga table: newest first, at most 200 rows (the filter's limit if smaller)."""

    TITLE = "Sagas"
    KEY = "f2"
    KINDS = frozenset({"saga", "intake"})
    EVERY = 1.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_filter", "Edit filter"),
    ]

    filter: dict[str, Any]

    def compose(self) -> ComposeResult:
        self.filter = {}
        yield Horizontal(Static("all sagas", classes="chip-label"), id="chips")
        yield Static("", id="intake")
        yield DataTable(id="saga-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    async def reload(self) -> None:
        sagas = await self.assistant.find_sagas(self.filter)
        now = self.monitor.now()
        rows = {
            s.saga_id: (
                s.saga_id,
                s.saga_type,
                s.venture,
                s.status,
                f"{s.current_step or '-'} ({s.steps_done}/{s.total_steps})",
                ago(now - s.created_at),
                took(s, now),
            )
            for s in sagas
        }
        _show_rows(self.query_one(DataTable), rows)
        held = self.monitor.intake()
        line = self.query_one("#intake", Static)
        line.update(held or "")
        line.display = held is not None

    async def set_filter(self, filter: dict[str, Any]) -> None:
        """Show the sagas this filter selects, with a chip for each part of it."""
        self.filter = {k: v for k, v in filter.items() if v is not None}
        row = self.query_one("#chips", Horizontal)
        await row.remove_children()
        found = chips(self.filter)
        if not found:
            await row.mount(Static("all sagas", classes="chip-label"))
        for slot, label in found:
            await row.mount(Button(f"{label} ✕", id=f"chip-{slot}", classes="chip", compact=True))
        self.stale = True

    @on(Button.Pressed, ".chip")
    async def remove_chip(self, event: Button.Pressed) -> None:
        slot = (event.button.id or "").removeprefix("chip-")
        await self.set_filter({k: v for k, v in self.filter.items() if k != slot})
        await self.update_now(self.monitor.now())

    def action_edit_filter(self) -> None:
        self.post_message(EditFilter(filter_sentence(self.filter)))

    @on(DataTable.RowSelected, "#saga-table")
    def chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(SagaChosen(event.row_key.value))


def _show_rows(table: DataTable[Any], rows: Mapping[str, Sequence[str]]) -> None:
    """Make the table show `rows` (by key, in order), touching only what changed: a
    table redrawn from scratch four times a second would keep the loop busy."""
    shown = [row.key.value for row in table.ordered_rows if row.key.value is not None]
    for key in set(shown) - rows.keys():
        table.remove_row(key)
    columns = list(table.columns)
    for key, cells in rows.items():
        if key not in table.rows:
            table.add_row(*cells, key=key)
            continue
        for column, old, new in zip(columns, table.get_row(key), cells, strict=True):
            if old != new:
                table.update_cell(key, column, new)
    if [row.key.value for row in table.ordered_rows] != list(rows):
        order = {key: i for i, key in enumerate(rows)}
        kept = cursor_key(table)
        table.sort(columns[0], key=lambda saga_id: order[saga_id])
        if kept is not None:
            table.move_cursor(row=table.get_row_index(kept))
