"""The panel base: a view that re-reads what it shows only when something it shows changed.

The dashboard subscribes to the runtime's events once and marks each panel
stale when an event concerns it (`wants`); on each refresh tick only the panel
on screen re-reads, and only if stale or its `EVERY` seconds have passed (ages,
heartbeats and sparklines change with time, not with events). A burst of a
thousand events therefore costs one read per tick, not a thousand.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from eva import Assistant, Monitor, RuntimeEvent


class Command(Message):
    """A panel asks the dashboard to run a command, as if the Chairman had typed it
    (so it is read back, confirmed and logged like one)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Panel(Vertical):
    """One tab of the dashboard.

    Subclasses set `TITLE`, `KEY` (the binding that shows the panel), `KINDS`
    (the event kinds that make it stale) and `EVERY` (re-read at least this often
    while on screen, in seconds; None: only on events), and implement `reload`.
    """

    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""
    KINDS: ClassVar[frozenset[str]] = frozenset()
    EVERY: ClassVar[float | None] = None

    def __init__(self, assistant: Assistant, monitor: Monitor, *, id: str) -> None:
        super().__init__(id=id)
        self.assistant = assistant
        self.monitor = monitor
        self.stale = True
        self.read_at: float | None = None

    @property
    def is_closing_down(self) -> bool:
        """Whether the panel, or the app around it, is being taken down."""
        app = self.app
        return bool(self._closing or self._pruning or app._exit or not app.is_running)

    def wants(self, event: RuntimeEvent) -> bool:
        """Whether this event changes what the panel shows."""
        return event.kind in self.KINDS

    def due(self, now: float) -> bool:
        if self.stale or self.read_at is None:
            return True
        return self.EVERY is not None and now - self.read_at >= self.EVERY

    async def update_now(self, now: float) -> None:
        """Re-read and redraw (the dashboard calls this; panels implement `reload`)."""
        self.stale = False
        self.read_at = now
        await self.reload()

    async def reload(self) -> None:
        """Read what the panel shows from the monitor and redraw it."""
        raise NotImplementedError


def cursor_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the table's cursor (None: no rows)."""
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:
        return None
