"""The Actors panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class ActorsPanel(Panel):
    TITLE = "Actors"
    KEY = "f4"
    KINDS = frozenset({"actor"})

    def compose(self) -> ComposeResult:
        yield Static("Actors")

    async def reload(self) -> None:
        return None
