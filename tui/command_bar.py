"""The command line: completion from the command language, history on up and down."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input

from eva import complete
from tui.history import History


class _Completions(Suggester):
    """Grey completion in the command bar, from the command language."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, limit=1)
        return found[0] if found else None


class CommandBar(Input):
    """Enter sends (the dashboard handles `Input.Submitted`); up and down walk the history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "older", "Older", show=False),
        Binding("down", "newer", "Newer", show=False),
    ]

    def __init__(self, history: History) -> None:
        super().__init__(
            placeholder='Command, e.g. "show saga failures in the last 24 hours"',
            suggester=_Completions(),
            id="command",
        )
        self.history = history

    def action_older(self) -> None:
        self.value = self.history.older(self.value)
        self.cursor_position = len(self.value)

    def action_newer(self) -> None:
        self.value = self.history.newer(self.value)
        self.cursor_position = len(self.value)
