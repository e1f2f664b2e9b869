"""The Review panel (to be built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panel import Panel


class ReviewPanel(Panel):
    TITLE = "Review"
    KEY = "f6"
    KINDS = frozenset({"saga"})

    def compose(self) -> ComposeResult:
        yield Static("Review")

    async def reload(self) -> None:
        return None
