"""The Chairman's dashboard: the saga table, a command bar, replies and confirmations.

The first panel of issue 6; the actor tree, flow view, message monitor, review,
incidents and decision panels join it. Everything the Chairman types goes
through `eva.Assistant`, exactly as `eva say` does; the table refreshes on a
timer, so a burst of saga events costs one query per tick, not one per event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import DataTable, Footer, Header, Input, Static

from eva import Assistant, Reply, complete
from eva.voice import Speaker
from tui.history import History

REFRESH_SECONDS = 0.5
"""How often the table is re-read: steady however fast sagas change."""
_COLUMNS = ("saga", "type", "venture", "status", "step", "age_s")


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
        with Vertical(id="confirm"):
            yield Static(self.question, id="question")
            yield Static("[b]y[/b] do it    [b]n[/b] / Esc cancel", id="keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class _Completions(Suggester):
    """Grey completion in the command bar, from the command language."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, limit=1)
        return found[0] if found else None


class CommandBar(Input):
    """The command line: Enter sends, up and down walk the history."""

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


class Dashboard(App[None]):
    """The dashboard over one assistant (and through it, one runtime).

    Args:
        assistant: answers and acts on the Chairman's commands.
        history: the command bar's history (default: in memory).
        speaker: speaks each reply unless muted (default: silent).
    """

    TITLE = "EVA"
    CSS = """
    #main { height: 1fr; }
    #sagas { height: 1fr; }
    #bar { height: 3; }
    #chips { height: 1; color: $accent; padding: 0 1; }
    #reply { height: auto; max-height: 6; padding: 0 1; border-top: solid $primary; }
    #confirm { width: 80; height: auto; padding: 1 2; border: thick $warning; background: $panel; }
    ConfirmScreen { align: center middle; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "focus_command", "Command"),
        Binding("ctrl+t", "focus_table", "Sagas"),
        Binding("ctrl+r", "clear_filter", "All sagas"),
        Binding("ctrl+o", "toggle_mute", "Mute"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(
        self,
        assistant: Assistant,
        *,
        history: History | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        super().__init__()
        self.assistant = assistant
        self.history = history or History()
        self.speaker = speaker
        self.filter: dict[str, Any] = {}
        self.last_reply: Reply | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="main"):
            yield Static("all sagas", id="chips")
            yield DataTable(id="sagas", cursor_type="row", zebra_stripes=True)
            yield Static("", id="reply")
            with Horizontal(id="bar"):
                yield CommandBar(self.history)
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#sagas", DataTable)
        table.add_columns(*_COLUMNS)
        self.query_one(CommandBar).focus()
        if self.history.problem:
            self.show_reply(self.history.problem)
        if self.speaker is not None and self.speaker.unavailable_reason:
            self.notify(self.speaker.unavailable_reason)
        await self.refresh_sagas()
        self.set_interval(REFRESH_SECONDS, self.refresh_sagas)

    # --- the saga table ---------------------------------------------------------

    async def refresh_sagas(self) -> None:
        """Re-read the table under the current filter, keeping the cursor's saga."""
        try:
            rows = await self.assistant.saga_table(self.filter)
        except Exception as exc:  # the runtime may be closing; the UI stays up
            self.show_reply(f"Cannot read the sagas: {exc}")
            return
        table = self.query_one("#sagas", DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*(row[c] for c in _COLUMNS), key=str(row["saga"]))
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))

    def set_filter(self, filter: dict[str, Any]) -> None:
        self.filter = dict(filter)
        chips = "  ".join(f"[{k}: {v}]" for k, v in self.filter.items()) or "all sagas"
        self.query_one("#chips", Static).update(chips)

    async def action_clear_filter(self) -> None:
        self.set_filter({})
        await self.refresh_sagas()

    # --- commanding ---------------------------------------------------------------

    def action_toggle_mute(self) -> None:
        if self.speaker is None:
            self.notify("Speech is off: no speech engine here.")
            return
        if self.speaker.muted:
            self.speaker.unmute()
        else:
            self.speaker.mute()
        self.notify("Muted." if self.speaker.muted else "Replies are spoken.")

    def action_focus_command(self) -> None:
        self.query_one(CommandBar).focus()

    def action_focus_table(self) -> None:
        self.query_one("#sagas", DataTable).focus()

    def show_reply(self, text: str) -> None:
        self.query_one("#reply", Static).update(text)

    @on(Input.Submitted, "#command")
    async def command(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.history.add(text)
        event.input.value = ""
        await self.run_command(text)

    async def run_command(self, text: str) -> Reply:
        """Send one command to the assistant and show (or ask about) its reply."""
        reply = await self.assistant.handle(text)
        self.last_reply = reply
        self.show_reply(reply.text)
        if self.speaker is not None:
            self.speaker.say(reply.text)
        if reply.intent == "list_sagas" and "filter" in reply.data:
            self.set_filter(reply.data["filter"])
        if reply.awaiting_confirmation:
            self.push_screen(ConfirmScreen(reply.text), self._answered)
        await self.refresh_sagas()
        return reply

    async def _answered(self, yes: bool | None) -> None:
        await self.run_command("yes" if yes else "no")
