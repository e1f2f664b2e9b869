"""The transaction flow: one saga's steps top to bottom, compensations beside what they undo.

Forward work flows down the left column, stage by stage (the steps of a parallel
stage are bracketed together); compensations run back up the right column, so a
rollback reads as the reverse of the work it undoes. The panel re-reads its saga
only when an event about that saga arrives, or each second while it is on screen
(running steps' durations grow with time, not with events).
"""

from __future__ import annotations

from typing import ClassVar

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel as Frame
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from eva import EngineError, RuntimeEvent, SagaState, StepState, UnknownSagaError
from tui.confirm import ReasonScreen
from tui.panel import Command, Panel
from tui.sagas import ago

NOTHING_CHOSEN = (
    "No saga is open. Press Enter on a row in Sagas (F2), "
    'or type "what happened to saga 42" in the command bar.'
)
STEP_WIDTH = 56
COMP_WIDTH = 44
"""Column widths: with the bracket and the arrow between them the flow is 112 cells,
inside a 120-column terminal with its scrollbar."""

Look = tuple[str, str, str]
"""(glyph, word, style) of a status."""

SAGA_LOOKS: dict[str, Look] = {
    "pending": ("○", "pending", "dim"),
    "running": ("▶", "running", "yellow"),
    "paused": ("‖", "paused", "cyan"),
    "waiting_approval": ("◷", "waiting for approval", "bold cyan"),
    "compensating": ("⟲", "compensating", "magenta"),
    "completed": ("✓", "completed", "green"),
    "failed": ("✗", "failed", "bold red"),
    "rolled_back": ("↺", "rolled back", "blue"),
    "cancelled": ("⊘", "cancelled", "red"),
}
COMP_LOOKS: dict[str, Look] = {
    "running": ("⟲", "compensating", "magenta"),
    "completed": ("↺", "compensated", "blue"),
    "dead_letter": ("⚠", "compensation dead-lettered", "bold red"),
}
KIND_LINES: dict[str, tuple[str, str]] = {
    "pivot": ("◆ pivot — point of no return", "bold yellow"),
    "retriable": ("↻ retriable — after the pivot; retried, never undone", "dim"),
}


def span(start: float | None, end: float | None, now: float) -> str:
    """How long from `start` to `end` (or to now, if still going): 12ms, 3.4s, 5m."""
    if start is None:
        return ""
    seconds = max((end if end is not None else now) - start, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.1f}s" if seconds < 60 else ago(seconds)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def step_look(state: SagaState, step: StepState) -> Look:
    """How a step shows: what was undone wins over what was done."""
    if step.comp != "none":
        return COMP_LOOKS[step.comp]
    if step.status == "completed":
        return ("✓", "done", "green")
    if step.status == "failed":
        return ("✗", "failed", "bold red")
    if step.status == "running":
        return ("▶", "retrying" if step.failures else "running", "yellow")
    if state.status == "waiting_approval" and step.stage == state.current_stage:
        return ("◷", "waiting for approval", "bold cyan")
    return ("○", "pending", "dim")


def _line(*parts: tuple[str, str] | str) -> Text:
    """Parts joined with " · ", empty ones left out."""
    text = Text()
    for part in parts:
        words, style = (part, "") if isinstance(part, str) else part
        if words:
            if text:
                text.append(" · ", "dim")
            text.append(words, style)
    return text


def _error(error: str, width: int) -> list[Text]:
    """The error in at most two lines cut to the box (a participant's stack trace would
    push the flow off screen), so every box's height is known before it is drawn."""
    inside = width - 4
    flat = "✗ " + " ".join(error.split())
    if len(flat) > 2 * inside:
        flat = flat[: 2 * inside - 1] + "…"
    return [Text(flat[i : i + inside], "red") for i in range(0, len(flat), inside)]


def step_box(state: SagaState, step: StepState, now: float) -> Frame:
    glyph, word, style = step_look(state, step)
    spec = state.definition.step(step.name)
    lines = [
        _line(
            (word, style),
            span(step.started_at, step.finished_at, now),
            _count(step.attempts, "attempt") if step.attempts else "",
            (_count(step.failures, "failure"), "red") if step.failures else "",
        ),
        Text(*KIND_LINES.get(step.kind, (f"↩ compensable — undone by {spec.compensation}", "dim"))),
    ]
    if step.error:
        lines.extend(_error(step.error, STEP_WIDTH))
    return Frame(
        Group(*lines),
        title=Text(f"{glyph} {step.name}", style),
        title_align="left",
        subtitle=_line(
            f"{spec.participant}.{spec.action}",
            "needs approval" if spec.requires_approval else "",
        ),
        subtitle_align="right",
        box=box.HEAVY if step.kind == "pivot" else box.ROUNDED,
        border_style=style,
        width=STEP_WIDTH,
    )


def _undone(state: SagaState, step: StepState) -> bool:
    """Whether a compensation of this step is under way, done, stuck, or queued."""
    if step.comp != "none":
        return True
    took_effect = step.attempts > 0 or step.status == "completed"
    return state.status == "compensating" and step.kind == "compensable" and took_effect


def comp_box(state: SagaState, step: StepState, now: float) -> Frame:
    glyph, word, style = COMP_LOOKS.get(step.comp, ("○", "queued", "dim"))
    lines = [
        _line(
            (word, style),
            span(step.comp_started_at, step.comp_finished_at, now),
            _count(step.comp_attempts, "attempt") if step.comp_attempts else "",
        )
    ]
    if step.comp_error:
        lines.extend(_error(step.comp_error, COMP_WIDTH))
    if step.comp == "dead_letter":
        lines.append(Text("force compensation (f) re-drives it", "bold"))
    action = state.definition.step(step.name).compensation
    return Frame(
        Group(*lines),
        title=Text(f"{glyph} undo: {action}", style),
        title_align="left",
        border_style=style,
        width=COMP_WIDTH,
    )


def header(state: SagaState, now: float) -> Text:
    glyph, word, style = SAGA_LOOKS.get(state.status, ("?", state.status, ""))
    text = Text.assemble(
        (f"Saga {state.saga_id}", "bold"),
        (f" · {state.saga_type} · venture {state.venture}   ", ""),
        (f"{glyph} {word}", style),
    )
    started = state.started_at or state.created_at
    took = span(started, state.finished_at, now)
    so_far = f"took {took}" if state.finished_at is not None else f"{took} so far"
    text.append(f"\ncreated {ago(now - state.created_at)} ago · {so_far}")
    if state.decision:
        text.append("\nlast Chairman decision: ")
        text.append(state.decision, "bold")
    if state.reason:
        text.append(("\n" if not state.decision else " — ") + state.reason)
    return text


def flow(state: SagaState, now: float) -> Table:
    """The steps as a flow: stages downwards, compensations beside their steps."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(width=STEP_WIDTH)
    grid.add_column(width=3)
    grid.add_column(width=COMP_WIDTH)
    stages = sorted({s.stage for s in state.steps})
    undone = {s.stage for s in state.steps if _undone(state, s)}
    for stage in stages:
        group = [s for s in state.steps if s.stage == stage]
        if stage != stages[0]:
            # The undo arrow runs up between stages only while compensations span them.
            back = any(u < stage for u in undone) and any(u >= stage for u in undone)
            grid.add_row(
                "",
                Text("▼", "dim", justify="center"),
                "",
                Text("▲", "blue", justify="center") if back else "",
            )
        if len(group) > 1:
            grid.add_row("┏", Text(f"{len(group)} steps in parallel", "dim italic"), "", "")
        for step in group:
            if _undone(state, step):
                link: RenderableType = Text("\n◀─", COMP_LOOKS.get(step.comp, ("", "", "dim"))[2])
                beside: RenderableType = comp_box(state, step, now)
            else:
                link, beside = "", ""
            # The bracket is as tall as the box: borders, two lines, and the error's lines.
            height = 4 + len(_error(step.error, STEP_WIDTH)) if step.error else 4
            bracket = Text("\n".join("┃" * height), "dim") if len(group) > 1 else ""
            grid.add_row(bracket, step_box(state, step, now), link, beside)
    return grid


def saga_view(state: SagaState, now: float) -> RenderableType:
    """The whole picture of one saga."""
    return Group(header(state, now), Text(""), flow(state, now))


def with_reason(command: str, reason: str) -> str:
    """The command with its reason, in the words the command language takes."""
    return f"{command} because {reason}" if reason else command


class FlowPanel(Panel):
    """One saga as a flow; keys act on it as the matching typed command would."""

    TITLE = "Flow"
    KEY = "f3"
    KINDS = frozenset({"saga"})
    EVERY = 1.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "send('pause saga')", "Pause"),
        Binding("u", "send('resume saga')", "Resume"),
        Binding("a", "send('approve saga')", "Approve"),
        Binding("x", "ask('abort saga')", "Abort"),
        Binding("f", "ask('force compensation on saga')", "Force compensation"),
        Binding("t", "send('retry the failed step of saga')", "Retry failed step"),
    ]
    DEFAULT_CSS = """
    FlowPanel #flow-scroll { height: 1fr; padding: 0 1; }
    """

    saga_id: str | None = None
    """The saga shown; None until one is chosen."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="flow-scroll"):
            yield Static(Text(NOTHING_CHOSEN), id="flow-body")

    def wants(self, event: RuntimeEvent) -> bool:
        return event.kind == "saga" and event.subject == self.saga_id

    async def show(self, saga_id: str) -> None:
        """Show this saga (drawn on the next redraw)."""
        if saga_id != self.saga_id:
            self.query_one("#flow-scroll", VerticalScroll).scroll_home(animate=False)
        self.saga_id = saga_id
        self.stale = True

    def focus_steps(self) -> None:
        """Focus the flow, so its keys act without a Tab first."""
        self.query_one("#flow-scroll", VerticalScroll).focus()

    async def reload(self) -> None:
        body = self.query_one("#flow-body", Static)
        if self.saga_id is None:
            body.update(Text(NOTHING_CHOSEN))
            return
        try:
            state = await self.monitor.saga(self.saga_id)
        except UnknownSagaError as exc:
            body.update(Text(f"Saga {self.saga_id} is gone: {exc}."))
            return
        except EngineError as exc:
            body.update(Text(f"Cannot read saga {self.saga_id}: {exc}", "red"))
            return
        body.update(saga_view(state, self.monitor.now()))

    def action_send(self, command: str) -> None:
        if self.saga_id is None:
            self.notify(NOTHING_CHOSEN)
            return
        self.post_message(Command(f"{command} {self.saga_id}"))

    def action_ask(self, command: str) -> None:
        if self.saga_id is None:
            self.notify(NOTHING_CHOSEN)
            return
        ask_why(self, f"{command} {self.saga_id}")


def ask_why(panel: Panel, command: str) -> None:
    """Ask the Chairman's reason for `command`, then send it with the reason; Esc sends
    nothing."""

    def answered(reason: str | None) -> None:
        if reason is not None:
            panel.post_message(Command(with_reason(command, reason)))

    panel.app.push_screen(ReasonScreen(f"Why {command}?"), answered)
