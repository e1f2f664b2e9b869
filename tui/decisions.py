"""The Decisions panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class DecisionsPanel(Panel):
    TITLE = "Decisions"
    KEY = "f8"
    KINDS = frozenset({"decision"})

    def compose(self) -> ComposeResult:
        yield Static("Decisions")

    async def reload(self) -> None:
        return None
