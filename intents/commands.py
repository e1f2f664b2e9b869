"""The typed commands: one pydantic model per intent of INTENTS.md.

Every slot is optional and absent unless it was said; `model_dump(
exclude_none=True)` gives exactly the slots of the `eva parse --json`
contract. `Command` is the discriminated union over `intent`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def slots(self) -> dict[str, object]:
        """The slots that were said, as the JSON contract gives them."""
        return self.model_dump(exclude_none=True, exclude={"intent"})


class _SagaTarget(_Intent):
    saga: str | None = None
    """One saga as said: an id ("42", "3f9a"), a name ("payment") or "@last"."""
    saga_type: str | None = None
    """snake_case type of a plural or "all" form ("all payment sagas" → payment)."""
    status: str | None = None
    """Sagas in this status ("all paused sagas")."""
    all: bool | None = None
    """True when every matching saga is meant ("all", "every", "everything")."""
    reason: str | None = None
    """The text after "because", "due to", ...; case kept."""


class ListSagas(_Intent):
    intent: Literal["list_sagas"] = "list_sagas"
    status: str | None = None
    since_seconds: int | None = None
    """A window ending now, in seconds."""
    saga_type: str | None = None
    venture: str | None = None
    limit: int | None = None


class DescribeSaga(_Intent):
    intent: Literal["describe_saga"] = "describe_saga"
    saga: str | None = None


class StartSaga(_Intent):
    intent: Literal["start_saga"] = "start_saga"
    saga_type: str | None = None
    venture: str | None = None


class PauseSaga(_SagaTarget):
    intent: Literal["pause_saga"] = "pause_saga"


class ResumeSaga(_SagaTarget):
    intent: Literal["resume_saga"] = "resume_saga"


class CancelSaga(_SagaTarget):
    """Chairman ABORT: stop, and compensate what completed (refused past the pivot)."""

    intent: Literal["cancel_saga"] = "cancel_saga"


class ForceCompensation(_SagaTarget):
    """Chairman FORCE_COMPENSATION: compensate now, re-driving dead-lettered compensations."""

    intent: Literal["force_compensation"] = "force_compensation"


class RetryStep(_Intent):
    intent: Literal["retry_step"] = "retry_step"
    saga: str | None = None
    step: str | None = None
    """snake_case step name; absent means the failed step."""
    reason: str | None = None


class ApproveSaga(_Intent):
    """Chairman CONTINUE on a saga waiting for approval."""

    intent: Literal["approve_saga"] = "approve_saga"
    saga: str | None = None
    reason: str | None = None


class PauseIntake(_Intent):
    intent: Literal["pause_intake"] = "pause_intake"
    saga_type: str | None = None
    """Only new sagas of this type wait ("pause new order fulfillment sagas")."""
    reason: str | None = None


class ResumeIntake(_Intent):
    intent: Literal["resume_intake"] = "resume_intake"
    saga_type: str | None = None
    """Only new sagas of this type start again."""
    reason: str | None = None


class ListActors(_Intent):
    intent: Literal["list_actors"] = "list_actors"
    status: str | None = None
    actor_type: str | None = None


class RestartActor(_Intent):
    intent: Literal["restart_actor"] = "restart_actor"
    actor: str | None = None
    """Lower-case, hyphenated, digits for numbers: compliance-checker-2."""
    venture: str | None = None
    """Which venture's actor, when names repeat across ventures."""
    reason: str | None = None


class StopActor(_Intent):
    intent: Literal["stop_actor"] = "stop_actor"
    actor: str | None = None
    venture: str | None = None
    """Which venture's actor, when names repeat across ventures."""
    reason: str | None = None


class ListDeadLetters(_Intent):
    intent: Literal["list_dead_letters"] = "list_dead_letters"
    since_seconds: int | None = None
    actor: str | None = None
    actor_type: str | None = None


class ShowMetrics(_Intent):
    intent: Literal["show_metrics"] = "show_metrics"
    metric: Literal["success_rate", "latency", "consistency", "throughput", "all"] | None = None
    percentile: Literal[50, 95, 99] | None = None
    since_seconds: int | None = None


class CheckConsistency(_Intent):
    intent: Literal["check_consistency"] = "check_consistency"


class ListIncidents(_Intent):
    intent: Literal["list_incidents"] = "list_incidents"
    trigger: Literal["SAGA-001", "SAGA-002", "SAGA-003", "SAGA-004"] | None = None
    since_seconds: int | None = None


class ListDecisions(_Intent):
    intent: Literal["list_decisions"] = "list_decisions"
    saga: str | None = None
    since_seconds: int | None = None


class Help(_Intent):
    intent: Literal["help"] = "help"


class Unknown(_Intent):
    intent: Literal["unknown"] = "unknown"


Command = Annotated[
    ListSagas
    | DescribeSaga
    | StartSaga
    | PauseSaga
    | ResumeSaga
    | CancelSaga
    | ForceCompensation
    | RetryStep
    | ApproveSaga
    | PauseIntake
    | ResumeIntake
    | ListActors
    | RestartActor
    | StopActor
    | ListDeadLetters
    | ShowMetrics
    | CheckConsistency
    | ListIncidents
    | ListDecisions
    | Help
    | Unknown,
    Field(discriminator="intent"),
]
"""Any command, told apart by its `intent`."""

COMMANDS: tuple[type[_Intent], ...] = (
    ListSagas,
    DescribeSaga,
    StartSaga,
    PauseSaga,
    ResumeSaga,
    CancelSaga,
    ForceCompensation,
    RetryStep,
    ApproveSaga,
    PauseIntake,
    ResumeIntake,
    ListActors,
    RestartActor,
    StopActor,
    ListDeadLetters,
    ShowMetrics,
    CheckConsistency,
    ListIncidents,
    ListDecisions,
    Help,
)
"""Every intent's model, `unknown` aside (one LangChain tool each)."""

ACTIONS = frozenset(
    {
        "start_saga",
        "pause_saga",
        "resume_saga",
        "cancel_saga",
        "force_compensation",
        "retry_step",
        "approve_saga",
        "pause_intake",
        "resume_intake",
        "restart_actor",
        "stop_actor",
    }
)
"""Intents that change the runtime: each executed one is a Chairman decision."""

DESTRUCTIVE = frozenset({"cancel_saga", "force_compensation", "stop_actor", "pause_intake"})
"""Intents never executed on a guess (so are saga actions with all, saga_type or status)."""
