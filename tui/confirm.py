"""Modal questions: the read-back of a destructive command, and the reason for a decision."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ConfirmScreen(ModalScreen[bool]):
    """The read-back of a destructive command: `y` does it, `n` or Esc does not.
    Enter alone does nothing, so a habit cannot confirm."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, do it"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal"):
            yield Static(self.question, id="question")
            yield Static(
                "[b]y[/b] do it    [b]n[/b] / Esc cancel    [b]ctrl+space[/b] say yes or no",
                id="keys",
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ReasonScreen(ModalScreen[str | None]):
    """Asks why, before a Chairman decision from the review panel: Enter gives the
    reason (it may be empty), Esc gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal"):
            yield Static(self.question)
            yield Input(placeholder="reason (Enter: none, Esc: cancel)", id="reason")

    @on(Input.Submitted, "#reason")
    def given(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_give_up(self) -> None:
        self.dismiss(None)
