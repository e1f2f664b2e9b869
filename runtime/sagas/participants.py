"""Participants: the services that perform saga steps and their compensations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StepCall:
    """One request to a participant.

    `idempotency_key` is the same on every attempt of the same step of the
    same saga, across retries and crashes: a participant that has applied it
    once must not apply it again, and returns its first result instead.
    """

    saga_id: str
    saga_type: str
    venture: str
    step: str
    action: str
    idempotency_key: str
    attempt: int
    input: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)


class Participant(Protocol):
    """A service that performs actions and undoes them."""

    @property
    def name(self) -> str: ...

    async def perform(self, call: StepCall) -> dict[str, Any]:
        """Apply `call.action` once per idempotency key; return its result.

        Raises:
            StepError: it could not; `kind` and `retryable` say whether to retry.
        """
        ...

    async def compensate(self, call: StepCall) -> None:
        """Undo what `call.action` did under the step's key; a no-op if it did nothing."""
        ...


Handler = Callable[[StepCall], Awaitable[dict[str, Any] | None]]


class FunctionParticipant:
    """A participant made of plain async functions, one per action.

    Args:
        name: the participant's name, as definitions refer to it.
        actions: action name → handler.
        compensations: compensation name → handler.
    """

    def __init__(
        self,
        name: str,
        actions: Mapping[str, Handler],
        compensations: Mapping[str, Handler] | None = None,
    ) -> None:
        self._name = name
        self._actions = dict(actions)
        self._compensations = dict(compensations or {})

    @property
    def name(self) -> str:
        return self._name

    async def perform(self, call: StepCall) -> dict[str, Any]:
        return (await self._actions[call.action](call)) or {}

    async def compensate(self, call: StepCall) -> None:
        await self._compensations[call.action](call)
