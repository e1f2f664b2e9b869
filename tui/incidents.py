"""The Incidents panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class IncidentsPanel(Panel):
    TITLE = "Incidents"
    KEY = "f7"
    KINDS = frozenset({"incident"})

    def compose(self) -> ComposeResult:
        yield Static("Incidents")

    async def reload(self) -> None:
        return None
