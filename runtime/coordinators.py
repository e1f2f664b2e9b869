"""Saga coordinators: each saga running here is an actor under `/sagas`.

The executor's runner does the saga's work; its coordinator actor puts it
in the supervision tree, where the dashboard and a second process (through
the registry) see every running saga, and answers asks about it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from runtime.actors.actor import Actor, ActorType
from runtime.actors.system import ActorSystem
from runtime.errors import ActorError
from runtime.sagas.executor import SagaRunner
from runtime.sagas.service import SagaService

SAGAS = "/sagas"


class SagaCoordinator(Actor):
    """Answers `{"status": ...}` asks with where its saga stands."""

    def __init__(self, runner: SagaRunner) -> None:
        self.runner = runner

    async def on_receive(self, message: Any) -> Any:
        state = self.runner.state
        return {
            "saga_id": state.saga_id,
            "saga_type": state.saga_type,
            "status": state.status.value,
            "current_stage": state.current_stage,
        }


class _Supervisor(Actor):
    """`/sagas`: the parent of every coordinator."""


class Coordinators:
    """Keeps one coordinator actor per running saga."""

    def __init__(self, actors: ActorSystem, sagas: SagaService) -> None:
        self._actors = actors
        self._tasks: set[asyncio.Task[None]] = set()
        sagas.on_launch.append(self._spawn)
        sagas.on_finish.append(self._stop)

    async def start(self) -> None:
        if SAGAS not in {info.path for info in self._actors.tree()}:
            await self._actors.spawn(_Supervisor, SAGAS[1:], ActorType.SAGA_COORDINATOR)

    def _spawn(self, runner: SagaRunner) -> None:
        self._track(
            self._actors.spawn(
                lambda: SagaCoordinator(runner),
                f"saga-{runner.saga_id}",
                ActorType.SAGA_COORDINATOR,
                parent=SAGAS,
            )
        )

    def _stop(self, runner: SagaRunner) -> None:
        self._track(self._actors.stop(f"{SAGAS}/saga-{runner.saga_id}"))

    def _track(self, work: Any) -> None:
        async def quietly() -> None:
            # A saga that ends before its coordinator is up, or twice: nothing to do.
            with contextlib.suppress(ActorError):
                await work

        task = asyncio.ensure_future(quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Until every pending spawn and stop has happened."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
