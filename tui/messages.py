"""The actor message monitor: the live stream of messages between actors, and dead letters.

The stream is the actor system's in-memory ring of recent deliveries, newest first.
The filter above it takes words: `actor:payment type:Charge priority:high` (also
`from:` and `to:`); a bare word matches the actor, type or priority. `p` (or space
in a table) pauses the panel so it can be read; resumed, it catches up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static

from eva import DeadLetter, EngineError, RecentMessage
from tui.panel import Panel, cursor_key
from tui.sagas import ago

ROWS = 500
"""Most messages shown: the newest."""
DEAD_LETTERS = 100
"""Most dead letters shown: the newest."""
FIELDS = ("actor", "from", "to", "type", "priority")
MESSAGE_COLUMNS = ("time", "from", "to", "type", "priority")
DEAD_LETTER_COLUMNS = ("when", "actor or saga step", "type", "reason", "state")

Row = tuple[str | None, tuple[str, ...]]
"""A table row: its key (or None) and its cells."""


@dataclass(frozen=True, slots=True)
class Filter:
    """The words typed into the filter, all of which a row must match."""

    terms: tuple[tuple[str | None, str], ...] = ()
    """(field or None for any field, lower-cased word to find in it)."""
    ignored: tuple[str, ...] = ()
    """Words with a field we do not know, shown so the Chairman sees they did nothing."""

    @classmethod
    def parse(cls, text: str) -> Filter:
        terms: list[tuple[str | None, str]] = []
        ignored: list[str] = []
        for word in text.lower().split():
            field, colon, value = word.partition(":")
            if not colon:
                terms.append((None, word))
            elif field in FIELDS and value:
                terms.append((field, value))
            else:
                ignored.append(word)
        return cls(tuple(terms), tuple(ignored))

    def __str__(self) -> str:
        return " ".join(word if field is None else f"{field}:{word}" for field, word in self.terms)

    def admits(self, fields: dict[str, Sequence[str]]) -> bool:
        """Whether every term is found in its field; a field the row does not have
        (a dead letter has no priority) does not hold it back."""
        for field, word in self.terms:
            if field is None:
                values = [v for vs in fields.values() for v in vs]
            elif field in fields:
                values = list(fields[field])
            else:
                continue
            if not any(word in v.lower() for v in values):
                return False
        return True


def message_fields(m: RecentMessage) -> dict[str, Sequence[str]]:
    sender = m.sender or ""
    return {
        "actor": (sender, m.recipient),
        "from": (sender,),
        "to": (m.recipient,),
        "type": (m.message_type,),
        "priority": (m.priority.name,),
    }


def where(d: DeadLetter) -> str:
    """The actor a dead letter was for, or the saga step it came from."""
    if d.actor_path:
        return d.actor_path
    return f"saga {d.saga_id} · {d.step_name}" if d.saga_id else "-"


def dead_letter_fields(d: DeadLetter) -> dict[str, Sequence[str]]:
    return {
        "actor": (where(d),),
        "from": (),
        "to": (where(d),),
        "type": (d.message_type or "", d.step_name or ""),
    }


def clock_time(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]


def message_row(m: RecentMessage) -> Row:
    return None, (
        clock_time(m.at),
        m.sender or "-",
        m.recipient,
        m.message_type,
        m.priority.name.lower(),
    )


def dead_letter_row(d: DeadLetter, now: float) -> Row:
    state = "unresolved" if d.resolved_at is None else f"resolved {ago(now - d.resolved_at)} ago"
    return d.dead_letter_id, (
        f"{ago(now - d.created_at)} ago",
        where(d),
        d.message_type or "-",
        d.reason,
        state,
    )


class MessagesPanel(Panel):
    """The message stream over the dead letters, re-read four times a second (the ring
    is in memory); dead letters are re-read from the database when an event says so."""

    TITLE = "Messages"
    KEY = "f5"
    KINDS = frozenset({"dead_letter"})
    EVERY = 0.25
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("space", "toggle_pause", "Pause/resume", show=False),
    ]
    DEFAULT_CSS = """
    MessagesPanel > #message-filter { margin: 0 1; }
    MessagesPanel > #message-status { height: 1; padding: 0 1; }
    MessagesPanel > #dead-letters { height: 12; }
    MessagesPanel #dead-letter-title { height: auto; padding: 0 1; border-top: solid $primary; }
    """

    paused: reactive[bool] = reactive(False, init=False)
    """While True nothing in the tables changes (except by the filter)."""

    messages: list[RecentMessage]
    """The ring as last read (kept as it was while paused), oldest first."""
    dead_letters: list[DeadLetter]
    """The dead letters as last read, newest first."""
    filter: Filter
    _dead_due: bool
    _waiting: int
    """Messages delivered since the pause."""
    _paused_at: int
    """Messages delivered before the pause."""
    _drawn: dict[str, list[Row]]

    def compose(self) -> ComposeResult:
        self.messages, self.dead_letters, self.filter = [], [], Filter()
        self._dead_due, self._waiting, self._paused_at, self._drawn = True, 0, 0, {}
        yield Input(
            placeholder="Filter: actor:payment type:Charge priority:high "
            "(a bare word matches actor, type or priority)",
            id="message-filter",
            compact=True,
        )
        yield Static("", id="message-status")
        yield DataTable(id="message-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="dead-letters"):
            yield Static("", id="dead-letter-title")
            yield DataTable(id="dead-letter-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#message-table", DataTable).add_columns(*MESSAGE_COLUMNS)
        self.query_one("#dead-letter-table", DataTable).add_columns(*DEAD_LETTER_COLUMNS)

    async def update_now(self, now: float) -> None:
        # Dead letters are a database read: only when an event or a command made the
        # panel stale, and not lost to a pause in between.
        self._dead_due = self._dead_due or self.stale
        await super().update_now(now)

    async def reload(self) -> None:
        status = self.query_one("#message-status", Static)
        try:
            latest = self.monitor.messages()
            if self._dead_due and not self.paused:
                self.dead_letters = await self.monitor.dead_letters(DEAD_LETTERS)
                self._dead_due = False
        except EngineError as exc:
            status.update(f"Cannot read the messages: {exc}")
            return
        if self.paused:
            self._waiting = self.monitor.messages_delivered() - self._paused_at
            self._show_status()
            return
        self.messages = latest
        self._draw()

    def _draw(self) -> None:
        shown = [m for m in reversed(self.messages) if self.filter.admits(message_fields(m))]
        self._fill("message-table", [message_row(m) for m in shown[:ROWS]])
        now = self.monitor.now()
        dead = [d for d in self.dead_letters if self.filter.admits(dead_letter_fields(d))]
        self._fill("dead-letter-table", [dead_letter_row(d, now) for d in dead])
        if dead:
            newest = " (the newest)" if len(self.dead_letters) == DEAD_LETTERS else ""
            unresolved = sum(1 for d in dead if d.resolved_at is None)
            title = f"Dead letters: {len(dead)}{newest}, {unresolved} unresolved"
        elif self.dead_letters:
            title = "No dead letters match the filter."
        else:
            title = "No dead letters."
        self.query_one("#dead-letter-title", Static).update(title)
        self._show_status(len(shown))

    def _fill(self, table_id: str, rows: list[Row]) -> None:
        """Redraw a table only when its rows changed, keeping the cursor on its row."""
        if self._drawn.get(table_id) == rows:
            return
        self._drawn[table_id] = rows
        table: DataTable[Any] = self.query_one(f"#{table_id}", DataTable)
        kept = cursor_key(table)
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept))

    def _show_status(self, shown: int | None = None) -> None:
        words = str(self.filter)
        parts: list[str] = []
        if self.paused:
            parts.append(f"{self._waiting} new since; p resumes")
        elif not self.messages:
            parts.append("No messages yet.")
        elif shown is not None:
            if words and not shown:
                parts.append(f"None of the last {len(self.messages)} messages match")
            else:
                parts.append(f"{min(shown, ROWS)} of the last {len(self.messages)} messages")
        parts.append(f"filter: {words}" if words else "no filter")
        if self.filter.ignored:
            fields = ", ".join(f"{f}:" for f in FIELDS)
            parts.append(f"ignored {' '.join(self.filter.ignored)} (use {fields})")
        line = Text(" · ".join(parts))
        if self.paused:
            line = Text.assemble(("PAUSED", "bold reverse yellow"), " ", line)
        self.query_one("#message-status", Static).update(line)

    @on(Input.Changed, "#message-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter = Filter.parse(event.value)
        self._draw()

    @on(Input.Submitted, "#message-filter")
    def filter_submitted(self) -> None:
        self.query_one("#message-table", DataTable).focus()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    async def watch_paused(self, paused: bool) -> None:
        if paused:
            self._waiting = 0
            self._paused_at = self.monitor.messages_delivered()
            self._show_status()
        else:
            await self.update_now(time.monotonic())
