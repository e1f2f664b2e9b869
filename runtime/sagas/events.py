"""The events of a saga's stream: frozen records of what happened.

Each class has a `type` name for the journal; `to_data` and `from_record`
convert to and from the journal's JSON payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class SagaEvent:
    type: ClassVar[str] = ""
    at: float

    def to_data(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS[type(self)]}


@dataclass(frozen=True, slots=True)
class SagaCreated(SagaEvent):
    type = "SagaCreated"
    saga_type: str
    name: str
    venture: str
    input: dict[str, Any]
    definition: dict[str, Any]
    deadline_at: float | None


@dataclass(frozen=True, slots=True)
class SagaStarted(SagaEvent):
    type = "SagaStarted"


@dataclass(frozen=True, slots=True)
class StepStarted(SagaEvent):
    type = "StepStarted"
    step: str
    attempt: int


@dataclass(frozen=True, slots=True)
class StepCompleted(SagaEvent):
    type = "StepCompleted"
    step: str
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StepFailed(SagaEvent):
    type = "StepFailed"
    step: str
    error: str
    kind: str
    final: bool
    """No more attempts will be made."""


@dataclass(frozen=True, slots=True)
class ApprovalRequested(SagaEvent):
    type = "ApprovalRequested"
    stage: int
    step: str


@dataclass(frozen=True, slots=True)
class Approved(SagaEvent):
    type = "Approved"
    stage: int
    reason: str


@dataclass(frozen=True, slots=True)
class Paused(SagaEvent):
    type = "Paused"
    reason: str


@dataclass(frozen=True, slots=True)
class Resumed(SagaEvent):
    type = "Resumed"
    reason: str


@dataclass(frozen=True, slots=True)
class CompensationStarted(SagaEvent):
    type = "CompensationStarted"
    cause: str
    """`failure`, `deadline`, `abort` (Chairman ABORT) or `force` (FORCE_COMPENSATION)."""
    reason: str


@dataclass(frozen=True, slots=True)
class CompensationStepStarted(SagaEvent):
    type = "CompensationStepStarted"
    step: str
    attempt: int


@dataclass(frozen=True, slots=True)
class CompensationStepCompleted(SagaEvent):
    type = "CompensationStepCompleted"
    step: str


@dataclass(frozen=True, slots=True)
class CompensationStepFailed(SagaEvent):
    type = "CompensationStepFailed"
    step: str
    error: str
    final: bool
    """Retries are exhausted: the compensation goes to the dead-letter queue."""


@dataclass(frozen=True, slots=True)
class StepRetryRequested(SagaEvent):
    type = "StepRetryRequested"
    step: str
    reason: str


@dataclass(frozen=True, slots=True)
class SagaCompleted(SagaEvent):
    type = "SagaCompleted"


@dataclass(frozen=True, slots=True)
class SagaRolledBack(SagaEvent):
    type = "SagaRolledBack"


@dataclass(frozen=True, slots=True)
class SagaCancelled(SagaEvent):
    type = "SagaCancelled"
    reason: str


@dataclass(frozen=True, slots=True)
class SagaFailed(SagaEvent):
    type = "SagaFailed"
    reason: str


EVENT_TYPES: dict[str, type[SagaEvent]] = {
    cls.type: cls
    for cls in (
        SagaCreated,
        SagaStarted,
        StepStarted,
        StepCompleted,
        StepFailed,
        ApprovalRequested,
        Approved,
        Paused,
        Resumed,
        CompensationStarted,
        CompensationStepStarted,
        CompensationStepCompleted,
        CompensationStepFailed,
        StepRetryRequested,
        SagaCompleted,
        SagaRolledBack,
        SagaCancelled,
        SagaFailed,
    )
}
_FIELDS: dict[type[SagaEvent], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES.values()
}


def from_record(type_name: str, data: dict[str, Any]) -> SagaEvent:
    """Rebuild an event from its journal record."""
    return EVENT_TYPES[type_name](**data)
