"""Shared fixtures: one SQLite file per test, a manual clock, a small saga type."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from runtime import (
    FunctionParticipant,
    ManualClock,
    RetryPolicy,
    Runtime,
    SagaDefinition,
    StepCall,
    StepDefinition,
    StepKind,
)
from runtime.store.engine import sqlite_url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "eva.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return sqlite_url(db_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class Recorder:
    """Participants whose behaviour a test scripts, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        """(kind, step, idempotency key) of every call, in order."""
        self.behaviour: dict[str, Callable[[StepCall], Awaitable[None]]] = {}

    def participant(self, name: str, actions: list[str]) -> FunctionParticipant:
        async def act(call: StepCall) -> dict[str, object]:
            self.calls.append(("do", call.step, call.idempotency_key))
            script = self.behaviour.get(call.step)
            if script is not None:
                await script(call)
            return {"done": call.step}

        async def undo(call: StepCall) -> None:
            self.calls.append(("undo", call.step, call.idempotency_key))
            script = self.behaviour.get(f"undo:{call.step}")
            if script is not None:
                await script(call)

        return FunctionParticipant(name, dict.fromkeys(actions, act), dict.fromkeys(actions, undo))

    def steps(self, kind: str) -> list[str]:
        return [step for k, step, _ in self.calls if k == kind]


def order_definition(**changes: object) -> SagaDefinition:
    """reserve (compensable) → charge (pivot) → confirm (retriable)."""
    no_retry = RetryPolicy(max_attempts=1)
    data: dict[str, object] = {
        "name": "order",
        "steps": [
            StepDefinition(
                name="reserve",
                participant="shop",
                action="reserve",
                compensation="release",
                retry=RetryPolicy(max_attempts=3),
            ),
            StepDefinition(
                name="check",
                participant="shop",
                action="check",
                compensation="uncheck",
                retry=no_retry,
            ),
            StepDefinition(
                name="charge",
                participant="shop",
                action="charge",
                kind=StepKind.PIVOT,
                retry=no_retry,
            ),
            StepDefinition(
                name="confirm",
                participant="shop",
                action="confirm",
                kind=StepKind.RETRIABLE,
                retry=RetryPolicy(max_attempts=2),
            ),
        ],
    }
    data.update(changes)
    return SagaDefinition.model_validate(data)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def runtime(db_url: str, clock: ManualClock, recorder: Recorder) -> AsyncIterator[Runtime]:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        db_url, clock=clock, seed=1, definitions=[order_definition()], participants=[shop]
    ) as rt:
        yield rt
