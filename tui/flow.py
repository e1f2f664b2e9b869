"""The Flow panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class FlowPanel(Panel):
    TITLE = "Flow"
    KEY = "f3"
    KINDS = frozenset({"saga"})

    def compose(self) -> ComposeResult:
        yield Static("Flow")

    async def show(self, saga_id: str) -> None:
        self.saga_id = saga_id
        self.stale = True

    async def reload(self) -> None:
        return None
