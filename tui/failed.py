"""What the dashboard shows when it cannot start (a database that cannot be opened):
the reason, on screen, until a key is pressed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static


class CannotStart(App[None]):
    """The reason EVA could not open, in the terminal it was started in; any of q,
    Esc, Enter or ctrl+q closes it."""

    TITLE = "EVA"
    CSS = """
    Screen { align: center middle; }
    #why { width: 80; height: auto; padding: 1 2; border: thick $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape,enter,ctrl+q", "quit", "Close"),
    ]

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="why"):
            yield Static("[b]EVA cannot start[/b]\n")
            yield Static(self.reason, markup=False, id="reason")
            yield Static("\nPress q to close.")
