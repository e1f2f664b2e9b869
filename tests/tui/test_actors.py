"""The Actors panel: the supervision tree with each actor's health, and r / s on it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from eva import Assistant
from runtime import Actor, ActorFailedError, ActorType, ManualClock, Runtime
from runtime.demo import Faults, install_demo
from runtime.demo.actors import Crashes, build_actor_tree
from tui.actors import ActorsPanel
from tui.app import Dashboard
from tui.confirm import ConfirmScreen

CHECKER = "/ventures/acme/compliance-checker-1"


def _nodes(node: TreeNode[str]) -> list[TreeNode[str]]:
    return [n for child in node.children for n in (child, *_nodes(child))]


def _label(app: Dashboard, path: str) -> str:
    tree: Tree[str] = app.query_one("#actor-tree", Tree)
    return next(str(n.label) for n in _nodes(tree.root) if n.data == path)


def _paths(app: Dashboard) -> list[str | None]:
    tree: Tree[str] = app.query_one("#actor-tree", Tree)
    return [n.data for n in _nodes(tree.root)]


def _text(app: Dashboard, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def _show(pilot: Pilot[None]) -> None:
    await pilot.press("f4")
    await pilot.pause()


async def _reread(app: Dashboard) -> None:
    """What the next refresh tick does once the runtime has told the panel it is stale."""
    await app.query_one(ActorsPanel).update_now(time.monotonic())


async def _select(pilot: Pilot[None], app: Dashboard, path: str) -> None:
    """Move the tree's cursor down to this actor, as the Chairman would."""
    tree: Tree[str] = app.query_one("#actor-tree", Tree)
    tree.focus()
    for _ in range(len(_paths(app))):
        if tree.cursor_node is not None and tree.cursor_node.data == path:
            return
        await pilot.press("down")
    pytest.fail(f"{path} is not in the tree")


async def test_an_empty_runtime_says_there_are_no_actors(runtime: Runtime) -> None:
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        assert _text(app, "#actor-summary") == "No actors."
        assert _paths(app) == []


async def test_the_demo_supervision_tree_is_shown_with_each_actors_health(
    runtime: Runtime, clock: ManualClock
) -> None:
    await install_demo(runtime, Faults())
    runtime.actors.check_heartbeats()
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        assert _text(app, "#actor-summary") == "37 actors, all healthy"
        paths = _paths(app)
        assert paths[:3] == ["/ventures", "/ventures/acme", "/ventures/acme/validation-processor-1"]
        assert paths[-1] == "/sagas"
        assert _label(app, CHECKER) == (
            "compliance-checker-1  compliance checker  active  "
            "beat 0s · mail 0 · msgs 0 · fail 0 · restarts 0"
        )
        clock.advance(3)
        await _reread(app)
        assert "beat 3s ·" in _label(app, CHECKER)


async def test_a_crashed_actor_shows_its_failure_and_restart(runtime: Runtime) -> None:
    crashes = Crashes(0, 0)
    await build_actor_tree(runtime, ("acme",), crashes)
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        assert "fail 0 · restarts 0" in _label(app, CHECKER)
        crashes.rate = 1.0
        with pytest.raises(ActorFailedError):
            await runtime.ask(CHECKER, {"check": 1})
        crashes.rate = 0.0
        await runtime.ask(CHECKER, {"check": 2})  # answered once the restart is done
        await _reread(app)
        assert "msgs 1 · fail 1 · restarts 1" in _label(app, CHECKER)


async def test_r_restarts_the_selected_actor_and_the_reply_says_so(runtime: Runtime) -> None:
    await build_actor_tree(runtime, ("acme",), Crashes(0, 0))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await _select(pilot, app, CHECKER)
        await pilot.press("r")
        await pilot.pause()
        assert _text(app, "#reply") == f"Restarting actor {CHECKER}."
        await runtime.ask(CHECKER, {"check": 1})
        await _reread(app)
        assert "restarts 1" in _label(app, CHECKER)
        assert app.query_one("#actor-tree", Tree).cursor_node.data == CHECKER  # type: ignore[union-attr]
        [decision] = await runtime.decisions.list()
        assert decision.intent == "restart_actor"


async def test_s_stops_the_selected_actor_once_confirmed_and_the_cursor_moves_to_its_parent(
    runtime: Runtime,
) -> None:
    await build_actor_tree(runtime, ("acme",), Crashes(0, 0))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await _select(pilot, app, CHECKER)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"Stop actor {CHECKER}. Confirm?"
        await pilot.press("y")
        await pilot.pause()
        assert _text(app, "#reply") == f"Actor {CHECKER} stopped."
        await _reread(app)
        assert CHECKER not in _paths(app)
        assert app.query_one("#actor-tree", Tree).cursor_node.data == "/ventures/acme"  # type: ignore[union-attr]


async def test_namesakes_are_told_apart_by_venture_and_unnameable_actors_are_explained(
    runtime: Runtime,
) -> None:
    await build_actor_tree(runtime, ("acme", "globex"), Crashes(0, 0))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await _select(pilot, app, CHECKER)
        await pilot.press("r")
        await pilot.pause()
        assert _text(app, "#reply") == f"Restarting actor {CHECKER}."
        [decision] = await runtime.decisions.list()
        assert decision.slots["venture"] == "acme"
        await _select(pilot, app, "/ventures/globex")
        await pilot.press("s")
        await pilot.pause()
        assert _text(app, "#actor-note").startswith("/ventures/globex cannot be stopped from here")
        assert not isinstance(app.screen, ConfirmScreen)
        assert len(await runtime.decisions.list()) == 1


async def test_collapsed_branches_and_the_cursor_survive_a_reread(runtime: Runtime) -> None:
    await build_actor_tree(runtime, ("acme", "globex"), Crashes(0, 0))
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        await _select(pilot, app, "/ventures/acme")
        await pilot.press("space")
        await _select(pilot, app, "/ventures/globex")
        await runtime.actors.stop("/ventures/globex/metrics-collector-1")
        await _reread(app)
        tree: Tree[str] = app.query_one("#actor-tree", Tree)
        [acme] = [n for n in _nodes(tree.root) if n.data == "/ventures/acme"]
        assert acme.is_collapsed
        assert tree.cursor_node is not None
        assert tree.cursor_node.data == "/ventures/globex"
        assert "/ventures/globex/metrics-collector-1" not in _paths(app)


class _Stuck(Actor):
    """Holds on to its first message until the gate opens."""

    def __init__(self, holding: asyncio.Event, gate: asyncio.Event) -> None:
        self.holding = holding
        self.gate = gate

    async def on_receive(self, message: Any) -> Any:
        self.holding.set()
        await self.gate.wait()


async def test_an_actor_stuck_on_its_mail_is_marked_unresponsive_and_unhealthy(
    runtime: Runtime,
) -> None:
    holding, gate = asyncio.Event(), asyncio.Event()
    await runtime.spawn(
        lambda: _Stuck(holding, gate), "stuck-worker-1", ActorType.METRICS_COLLECTOR
    )
    runtime.tell("/stuck-worker-1", {"n": 1})
    runtime.tell("/stuck-worker-1", {"n": 2})
    await holding.wait()
    runtime.actors.check_heartbeats()
    runtime.actors.check_heartbeats()
    app = Dashboard(Assistant(runtime))
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        assert _text(app, "#actor-summary") == "1 actor, 1 unhealthy"
        assert _label(app, "/stuck-worker-1").endswith(
            "mail 1 · msgs 0 · fail 0 · restarts 0  UNRESPONSIVE"
        )
        gate.set()
