"""Actor management: the supervision tree, each actor with its health.

Each node shows an actor's name, type and status, then its health: how long since
its last heartbeat ("beat"), its mailbox depth ("mail"), messages processed ("msgs"),
failures ("fail") and restarts, and UNRESPONSIVE when it has mail but has made no
progress since the last check.
`r` restarts and `s` stops the actor under the cursor by sending the command the
Chairman would type, so it is read back, confirmed and logged like one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from eva import ActorInfo, EngineError, parse
from tui.panel import Command, Panel
from tui.sagas import ago

PAST = {"restart": "restarted", "stop": "stopped"}


def unhealthy(actor: ActorInfo) -> bool:
    """Failed, restarting, or stuck on its mail (a sleeping persistent actor is fine)."""
    return actor.status in ("failed", "recovering") or not actor.responsive


def colour(actor: ActorInfo) -> str:
    if actor.status == "failed" or not actor.responsive:
        return "red"
    if actor.status == "recovering":
        return "yellow"
    if actor.status == "inactive":
        return "dim"
    return "green"


def actor_label(actor: ActorInfo, now: float) -> Text:
    """One line: name, type, status, then the health figures."""
    beat = "never" if actor.last_heartbeat is None else ago(now - actor.last_heartbeat)
    label = Text.assemble(
        (actor.name, f"bold {colour(actor)}"),
        "  ",
        (actor.actor_type.value.replace("_", " "), "italic"),
        "  ",
        (actor.status.value, colour(actor)),
        "  ",
        (
            f"beat {beat} · mail {actor.mailbox_depth} · msgs {actor.messages_processed} · "
            f"fail {actor.failures} · restarts {actor.restarts}",
            "dim",
        ),
    )
    if not actor.responsive:
        label.append("  UNRESPONSIVE", "bold red reverse")
    return label


def summary(actors: Sequence[ActorInfo]) -> str:
    if not actors:
        return "No actors."
    sick = sum(1 for a in actors if unhealthy(a))
    count = f"{len(actors)} actor{'s' if len(actors) != 1 else ''}"
    return f"{count}, {f'{sick} unhealthy' if sick else 'all healthy'}"


def actor_command(verb: str, actor: ActorInfo, actors: Sequence[ActorInfo]) -> str:
    """The command that does `verb` ("restart" or "stop") to this actor: its name, and
    its venture when other ventures have an actor of that name.

    Raises:
        ValueError: no command can name this actor; the message says why.
    """
    namesakes = [a for a in actors if a.name == actor.name and a.path != actor.path]
    text = f"{verb} actor {actor.name}"
    if namesakes and actor.venture:
        text += f" of venture {actor.venture}"
    said = parse(text).command.slots()
    if said.get("actor") != actor.name:
        raise ValueError(
            f"{actor.path} cannot be {PAST[verb]} from here: commands name actors like "
            f"compliance-checker-2, and {actor.name!r} is not such a name."
        )
    if any(a.venture == said.get("venture") for a in namesakes):
        raise ValueError(
            f"{actor.path} cannot be {PAST[verb]} from here: "
            f"{', '.join(a.path for a in namesakes)} share its name and venture."
        )
    return text


class ActorsPanel(Panel):
    """The supervision tree, re-read on actor events and each second (heartbeat ages).

    The nodes are kept across reads and only relabelled, so what the Chairman
    expanded or collapsed and the actor under the cursor stay as they were.
    """

    TITLE = "Actors"
    KEY = "f4"
    KINDS = frozenset({"actor"})
    EVERY = 1.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "act('restart')", "Restart actor"),
        Binding("s", "act('stop')", "Stop actor"),
    ]
    DEFAULT_CSS = """
    ActorsPanel > #actor-summary { height: 1; padding: 0 1; }
    ActorsPanel > #actor-note { height: auto; padding: 0 1; color: $warning; display: none; }
    ActorsPanel > #actor-tree { height: 1fr; }
    """

    actors: list[ActorInfo]
    """The tree as last read, parents before children."""
    _by_path: dict[str, TreeNode[str]]

    def compose(self) -> ComposeResult:
        self.actors = []
        self._by_path = {}
        yield Static("", id="actor-summary")
        yield Static("", id="actor-note")
        tree: Tree[str] = Tree("actors", id="actor-tree")
        tree.show_root = False
        tree.root.expand()
        yield tree

    async def reload(self) -> None:
        try:
            actors = self.monitor.actors()
        except EngineError as exc:
            self.query_one("#actor-summary", Static).update(f"Cannot read the actors: {exc}")
            return
        self.actors = actors
        self.query_one("#actor-summary", Static).update(summary(actors))
        self._sync(actors, self.monitor.now())

    def _sync(self, actors: list[ActorInfo], now: float) -> None:
        tree = self.query_one(Tree)
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        alive = {a.path for a in actors}
        gone = [path for path in self._by_path if path not in alive]
        for path in gone:
            node = self._by_path.pop(path)
            # Removing a node takes its subtree with it: remove only the tops.
            if node.parent is tree.root or (node.parent and node.parent.data in alive):
                node.remove()
        for actor in actors:
            label = actor_label(actor, now)
            known = self._by_path.get(actor.path)
            if known is None:
                parent = self._by_path.get(actor.parent or "", tree.root)
                known = self._by_path[actor.path] = parent.add(label, data=actor.path, expand=True)
            elif known.label != label:
                known.set_label(label)
            known.allow_expand = bool(actor.children)
        if actors and (cursor is None or cursor not in alive):
            tree.last_line  # noqa: B018 -- lays out the lines, so nodes know where they are
            tree.move_cursor(self._nearest(cursor) or self._by_path[actors[0].path])

    def _nearest(self, path: str | None) -> TreeNode[str] | None:
        """The node of this actor or its closest living ancestor."""
        while path:
            if path in self._by_path:
                return self._by_path[path]
            path = path.rpartition("/")[0]
        return None

    def selected(self) -> ActorInfo | None:
        """The actor under the tree's cursor, as last read."""
        node = self.query_one(Tree).cursor_node
        if node is None:
            return None
        return next((a for a in self.actors if a.path == node.data), None)

    def action_act(self, verb: str) -> None:
        note = self.query_one("#actor-note", Static)
        actor = self.selected()
        if actor is None:
            note.update("Choose an actor in the tree first.")
            note.display = True
            return
        try:
            text = actor_command(verb, actor, self.actors)
        except ValueError as exc:
            note.update(str(exc))
            note.display = True
            return
        note.display = False
        self.post_message(Command(text))
