"""The help screen (F1): every key, read from the bindings themselves so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

ABOUT = """\
Type a command in the bar at the bottom and press Enter, e.g. *show saga failures
in the last 24 hours*, *pause saga 42*, *force compensation on it because the
supplier cancelled*. Up and down walk the history; the grey completion is taken
with the right arrow. **ctrl+p** opens the palette of everyday commands.
Destructive commands are read back and need **y**; Enter alone never confirms.
"""


def keys_table(sections: Iterable[tuple[str, Iterable[BindingType]]]) -> str:
    """A Markdown table of the bindings, one section per area."""
    lines = ["| where | key | does |", "|---|---|---|"]
    for where, bindings in sections:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            key = binding.key_display or binding.key
            lines.append(f"| {where} | `{key}` | {binding.description} |")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """What the keys do, and how to talk to EVA. Esc, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close", show=False),
    ]

    def __init__(self, sections: Iterable[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal", id="help"):
            yield Markdown(f"# EVA\n\n{ABOUT}\n\n{keys_table(self.sections)}")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
