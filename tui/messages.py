"""The Messages panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class MessagesPanel(Panel):
    TITLE = "Messages"
    KEY = "f5"
    KINDS = frozenset({"dead_letter"})

    def compose(self) -> ComposeResult:
        yield Static("Messages")

    async def reload(self) -> None:
        return None
