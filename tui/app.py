"""The Chairman's dashboard: the PRD's panels in tabs, a command bar, replies and confirmations.

Everything the Chairman asks for goes through `eva.Assistant`, exactly as `eva say`
does, so it is confirmed and logged the same way. Panels update from the runtime's
event stream, coalesced: events only mark panels stale, and a steady tick redraws
the panel on screen, so a burst of saga events costs one read per tick.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane

from eva import Assistant, EngineError, Monitor, Reply
from eva.voice import Speaker, VoiceInput
from tui.actors import ActorsPanel
from tui.command_bar import CommandBar
from tui.confirm import ConfirmScreen
from tui.decisions import DecisionsPanel
from tui.flow import FlowPanel
from tui.help import HelpScreen
from tui.history import History
from tui.incidents import IncidentsPanel
from tui.messages import MessagesPanel
from tui.palette import COMMANDS, PaletteCommand
from tui.panel import Command, Panel
from tui.review import ReviewPanel
from tui.sagas import EditFilter, SagaChosen, SagasPanel
from tui.talk import Heard, TalkBar

TICK = 0.25
"""Seconds between redraws of the panel on screen: steady however fast events come."""
MIN_SIZE = (80, 24)
"""Below this the panels cannot be read; the dashboard says so instead of drawing them."""

PANELS: tuple[type[Panel], ...] = (
    SagasPanel,
    FlowPanel,
    ActorsPanel,
    MessagesPanel,
    ReviewPanel,
    IncidentsPanel,
    DecisionsPanel,
)
_GOES_TO = {
    "list_sagas": "sagas",
    "describe_saga": "flow",
    "list_actors": "actors",
    "list_dead_letters": "messages",
    "list_incidents": "incidents",
    "show_metrics": "incidents",
    "list_decisions": "decisions",
}
"""The panel a query's answer is shown in."""


def _panel_id(panel: type[Panel]) -> str:
    return panel.TITLE.lower()


class Dashboard(App[None]):
    """The dashboard over one assistant (and through it, one runtime).

    Args:
        assistant: answers and acts on the Chairman's commands.
        history: the command bar's history (default: in memory).
        speaker: speaks each reply unless muted (default: silent).
        voice: where push-to-talk records from and how it is heard (default: none).
    """

    TITLE = "EVA"
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")  # absolute: subclasses live elsewhere
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", key_display="F1"),
        *(
            # The tabs show these keys; the footer keeps room for the rest.
            Binding(
                p.KEY,
                f"show_panel('{_panel_id(p)}')",
                p.TITLE,
                key_display=p.KEY.upper(),
                show=False,
            )
            for p in PANELS
        ),
        Binding("ctrl+l", "focus_command", "Command"),
        # Priority: a read-back modal can be answered by voice too.
        Binding("ctrl+space", "talk", "Talk", key_display="^space", priority=True),
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
        voice: VoiceInput | None = None,
    ) -> None:
        super().__init__()
        self.voice = voice
        self.assistant = assistant
        self.monitor = Monitor(assistant.runtime)
        self.history = history or History()
        self.speaker = speaker
        self.last_reply: Reply | None = None
        self._drawing = False
        self._draw_again = False
        self._drawn = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="too-small")
        with Vertical(id="main"):
            with TabbedContent(id="panels"):
                for kind in PANELS:
                    with TabPane(f"{kind.TITLE} {kind.KEY.upper()}", id=f"tab-{_panel_id(kind)}"):
                        yield kind(self.assistant, self.monitor, id=_panel_id(kind))
            yield Static("", id="reply")
            yield TalkBar(self.assistant, self.voice)
            yield CommandBar(self.history)
        yield Footer()

    async def on_mount(self) -> None:
        self.home.query_one(CommandBar).focus()
        if self.history.problem:
            self.show_reply(self.history.problem)
        if self.speaker is not None and self.speaker.unavailable_reason:
            self.notify(self.speaker.unavailable_reason)
        self._check_size(self.size)
        self.run_worker(self._follow(), name="events", group="events")
        await self.draw()
        self.set_interval(TICK, self.draw)

    # --- live updates -------------------------------------------------------------

    @property
    def home(self) -> Screen[Any]:
        """The dashboard's own screen, under any modal (the app's queries search only
        the screen on top)."""
        return self.screen_stack[0]

    @property
    def panels(self) -> list[Panel]:
        return list(self.home.query(Panel))

    def panel(self, panel_id: str) -> Panel:
        return self.home.query_one(f"#{panel_id}", Panel)

    @property
    def current(self) -> Panel:
        active = self.home.query_one(TabbedContent).active
        return self.panel(active.removeprefix("tab-"))

    async def _follow(self) -> None:
        subscription = self.monitor.events()
        panels = self.panels
        try:
            async for event in subscription:
                for panel in panels:
                    if not panel.stale and panel.wants(event):
                        panel.stale = True
        finally:
            subscription.close()

    async def draw(self) -> None:
        """Redraw the panel on screen if it is stale or due; one draw at a time."""
        if self._drawing:
            # Asked mid-draw (a panel switch during a tick): draw once more after, so
            # the new panel does not wait for the next tick.
            self._draw_again = True
            return
        try:
            panel = self.current
        except NoMatches:  # the app is shutting down: nothing left to draw
            return
        now = time.monotonic()
        if not panel.due(now):
            return
        self._drawing = True
        try:
            await panel.update_now(now)
        except EngineError as exc:
            self.show_reply(f"Cannot read the {panel.TITLE.lower()} panel: {exc}")
        except NoMatches:
            # A tick that lands while the app tears its widgets down finds parts of
            # the panel gone; there is nothing left to draw on.
            if panel.is_attached and not panel.is_closing_down:
                raise
        finally:
            self._drawing = False
            self._drawn.set()
            if self._draw_again:
                self._draw_again = False
                self.call_after_refresh(self.draw)

    async def settled(self) -> None:
        """Until the panel on screen has drawn what it last read, with no draw pending
        (for tests and tools that look at the screen)."""
        while True:
            try:
                panel = self.current
            except NoMatches:
                return
            if not (self._drawing or self._draw_again or panel.read_at is None or panel.stale):
                return
            self._drawn.clear()
            await self._drawn.wait()

    def action_show_panel(self, panel_id: str) -> None:
        self.home.query_one(TabbedContent).active = f"tab-{panel_id}"

    @on(TabbedContent.TabActivated)
    def tab_changed(self) -> None:
        # The switch is drawn first, with what the panel showed last; fresh rows follow.
        self.call_after_refresh(self.draw)

    # --- help and the palette -----------------------------------------------------

    def action_help(self) -> None:
        sections = [
            ("anywhere", self.BINDINGS),
            *((kind.TITLE, kind.BINDINGS) for kind in PANELS),
            ("command bar", CommandBar.BINDINGS),
            ("confirmation", ConfirmScreen.BINDINGS),
        ]
        self.push_screen(HelpScreen(sections))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in COMMANDS:
            yield SystemCommand(command.title, command.text, partial(self.palette, command))
        for kind in PANELS:
            yield SystemCommand(
                f"{kind.TITLE} panel",
                f"Show the {kind.TITLE.lower()} panel ({kind.KEY.upper()})",
                partial(self.action_show_panel, _panel_id(kind)),
            )
        yield from super().get_system_commands(screen)

    async def palette(self, command: PaletteCommand) -> None:
        if command.complete:
            self.history.add(command.text)
            await self.run_command(command.text)
            return
        self.edit_command(command.text)

    # --- the terminal -------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size)

    def _check_size(self, size: Size) -> None:
        width, height = size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        if small:
            self.home.query_one("#too-small", Static).update(
                f"The terminal is {width}x{height}; EVA needs at least "
                f"{MIN_SIZE[0]}x{MIN_SIZE[1]}. Make it larger, or press ctrl+q to quit."
            )

    # --- the saga table -----------------------------------------------------------

    @property
    def sagas(self) -> SagasPanel:
        return self.home.query_one(SagasPanel)

    async def action_clear_filter(self) -> None:
        await self.sagas.set_filter({})
        self.action_show_panel("sagas")
        await self.draw()

    @on(SagaChosen)
    async def open_saga(self, event: SagaChosen) -> None:
        flow = self.home.query_one(FlowPanel)
        await flow.show(event.saga_id)
        self.action_show_panel("flow")
        flow.focus_steps()  # so its keys (p, x, f, ...) work at once

    @on(EditFilter)
    def edit_filter(self, event: EditFilter) -> None:
        self.edit_command(event.sentence)

    def edit_command(self, text: str) -> None:
        """Put a command in the bar, cursor at its end, for the Chairman to finish."""
        bar = self.home.query_one(CommandBar)
        bar.value = text
        bar.cursor_position = len(text)
        bar.focus()

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
        self.home.query_one(CommandBar).focus()

    def show_reply(self, text: str) -> None:
        self.home.query_one("#reply", Static).update(text)

    @on(Input.Submitted, "#command")
    async def command(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.history.add(text)
        event.input.value = ""
        await self.run_command(text)

    async def run_command(self, text: str, *, confidence: float | None = None) -> Reply:
        """Send one command (typed, or heard with `confidence`) to the assistant, show
        and speak its reply, open the panel that shows the answer, and ask for the
        confirmation it waits for."""
        reply = await self.assistant.handle(text, transcript_confidence=confidence)
        self.last_reply = reply
        self.show_reply(reply.text)
        if self.speaker is not None:
            self.speaker.say(reply.text)
        for panel in self.panels:
            panel.stale = True
        if reply.ok and reply.intent in _GOES_TO:
            if reply.intent == "list_sagas" and "filter" in reply.data:
                await self.sagas.set_filter(reply.data["filter"])
            if reply.intent == "describe_saga":
                await self.home.query_one(FlowPanel).show(reply.data["saga"])
            self.action_show_panel(_GOES_TO[reply.intent])
        await self.draw()  # the answer is on screen with the reply
        if reply.awaiting_confirmation:
            self.push_screen(ConfirmScreen(reply.text), self._answered)
        return reply

    async def action_talk(self) -> None:
        await self.home.query_one(TalkBar).toggle()

    @on(Heard)
    async def heard(self, event: Heard) -> None:
        if isinstance(self.screen, ConfirmScreen):
            # A spoken answer to the read-back: the assistant weighs the words as heard.
            self.pop_screen()
        await self.run_command(event.text, confidence=event.confidence)

    @on(Command)
    async def panel_command(self, event: Command) -> None:
        await self.run_command(event.text)

    async def _answered(self, yes: bool | None) -> None:
        await self.run_command("yes" if yes else "no")
