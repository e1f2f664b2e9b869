"""The saga state machine, as pure functions over frozen state.

`evolve(state, event)` applies one event; `decide(state, control, now)` turns
a Chairman control into events or refuses it; `advance(state, now)` tells the
executor what to do next. Nothing here does I/O or reads a clock.

Statuses are the PRD's. `completed`, `rolled_back` and `cancelled` are final:
no event changes them. `failed` is terminal too (the saga stopped), but the
Chairman may revive it: retry its failed step, or force compensation to
re-drive a dead-lettered compensation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import orjson

from runtime.errors import IllegalTransitionError
from runtime.sagas import events as ev
from runtime.sagas.definition import SagaDefinition, StepKind


class SagaStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    WAITING_APPROVAL = "waiting_approval"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


FINAL = frozenset({SagaStatus.COMPLETED, SagaStatus.ROLLED_BACK, SagaStatus.CANCELLED})
TERMINAL = FINAL | {SagaStatus.FAILED}


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class CompensationStatus(StrEnum):
    NONE = "none"
    RUNNING = "running"
    COMPLETED = "completed"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class StepState:
    name: str
    stage: int
    kind: StepKind
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    failures: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    completed_seq: int = 0
    """When it completed relative to the saga's other steps (compensation order)."""
    comp: CompensationStatus = CompensationStatus.NONE
    comp_attempts: int = 0
    comp_error: str | None = None
    comp_started_at: float | None = None
    comp_finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class SagaState:
    saga_id: str
    definition: SagaDefinition
    saga_type: str
    name: str
    venture: str
    input: dict[str, Any]
    status: SagaStatus
    steps: tuple[StepState, ...]
    created_at: float
    updated_at: float
    deadline_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    resume_to: SagaStatus | None = None
    approved: frozenset[int] = frozenset()
    cause: str | None = None
    reason: str | None = None
    decision: str | None = None
    """The last Chairman decision (CONTINUE, PAUSE, ABORT, FORCE_COMPENSATION)."""
    completions: int = 0
    version: int = 0

    def step(self, name: str) -> StepState:
        return self.steps[self.index(name)]

    def index(self, name: str) -> int:
        return self.definition.index(name)

    @property
    def pivot_done(self) -> bool:
        """Whether the point of no return has been passed, or may have been.

        That is: the pivot completed or is under way, or a retriable step (which
        only ever runs after the pivot) has started.
        """
        return any(
            (s.kind is StepKind.PIVOT and s.status in (StepStatus.RUNNING, StepStatus.COMPLETED))
            or (s.kind is StepKind.RETRIABLE and s.attempts > 0)
            for s in self.steps
        )

    @property
    def current_stage(self) -> int | None:
        for step in self.steps:
            if step.status is not StepStatus.COMPLETED:
                return step.stage
        return None

    @property
    def dead_letters(self) -> list[StepState]:
        return [s for s in self.steps if s.comp is CompensationStatus.DEAD_LETTER]


def _with_step(state: SagaState, name: str, **changes: Any) -> tuple[StepState, ...]:
    i = state.index(name)
    steps = list(state.steps)
    steps[i] = _replace_step(steps[i], changes)
    return tuple(steps)


def initial(
    saga_id: str, created: ev.SagaCreated, definition: SagaDefinition | None = None
) -> SagaState:
    """The state a `SagaCreated` event founds.

    Args:
        definition: the event's definition, already validated (saves parsing it again).
    """
    if definition is None:
        definition = _definition(created.definition)
    steps = tuple(
        StepState(step.name, stage, step.kind)
        for stage, group in enumerate(definition.stages)
        for step in group
    )
    return SagaState(
        saga_id=saga_id,
        definition=definition,
        saga_type=created.saga_type,
        name=created.name,
        venture=created.venture,
        input=created.input,
        status=SagaStatus.PENDING,
        steps=steps,
        created_at=created.at,
        updated_at=created.at,
        deadline_at=created.deadline_at,
        version=1,
    )


_DEFINITIONS: dict[str, SagaDefinition] = {}


def _definition(data: dict[str, Any]) -> SagaDefinition:
    # Recovery replays hundreds of sagas of a few types: validate each type once.
    key = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    definition = _DEFINITIONS.get(key)
    if definition is None:
        if len(_DEFINITIONS) > 256:
            _DEFINITIONS.clear()
        definition = _DEFINITIONS[key] = SagaDefinition.model_validate(data)
    return definition


def _replacer(cls: type[Any]) -> Callable[..., Any]:
    """A `dataclasses.replace` for one frozen slots class, several times faster.

    The executor copies the state on every event; the generic replace looks
    every field up by name on each call.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    body = "".join(
        f"    setattr(new, {n!r}, changes[{n!r}] if {n!r} in changes else obj.{n})\n" for n in names
    )
    source = f"def replace(obj, changes):\n    new = new_object(cls)\n{body}    return new\n"
    namespace: dict[str, Any] = {
        "cls": cls,
        "new_object": object.__new__,
        "setattr": object.__setattr__,
    }
    exec(source, namespace)
    replace: Callable[..., Any] = namespace["replace"]
    return replace


_replace_saga = _replacer(SagaState)
_replace_step = _replacer(StepState)


class InvalidEventError(Exception):
    """An event that cannot apply to the state (a bug, or a corrupt stream)."""


def evolve(state: SagaState, event: ev.SagaEvent) -> SagaState:
    """The state after `event`.

    Raises:
        InvalidEventError: the saga is final, or the event makes no sense now.
    """
    if state.status in FINAL:
        raise InvalidEventError(f"saga {state.saga_id} is {state.status}; {event.type} refused")
    s = state
    changes: dict[str, Any] = {}
    match event:
        case ev.SagaStarted():
            _expect(s, event, SagaStatus.PENDING)
            changes.update(status=SagaStatus.RUNNING, started_at=event.at)
        case ev.StepStarted(step=name, attempt=attempt):
            step = s.step(name)
            changes.update(
                steps=_with_step(
                    s,
                    name,
                    status=StepStatus.RUNNING,
                    attempts=attempt,
                    started_at=step.started_at or event.at,
                ),
            )
        case ev.StepCompleted(step=name, result=result):
            changes.update(
                steps=_with_step(
                    s,
                    name,
                    status=StepStatus.COMPLETED,
                    result=result,
                    error=None,
                    finished_at=event.at,
                    completed_seq=s.completions + 1,
                ),
                completions=s.completions + 1,
            )
        case ev.StepFailed(step=name, error=error, final=final):
            step = s.step(name)
            changes.update(
                steps=_with_step(
                    s,
                    name,
                    failures=step.failures + 1,
                    error=error,
                    status=StepStatus.FAILED if final else StepStatus.RUNNING,
                    finished_at=event.at if final else None,
                ),
            )
        case ev.ApprovalRequested():
            _expect(s, event, SagaStatus.RUNNING)
            changes.update(status=SagaStatus.WAITING_APPROVAL)
        case ev.Approved(stage=stage):
            _expect(s, event, SagaStatus.WAITING_APPROVAL)
            changes.update(
                status=SagaStatus.RUNNING, approved=s.approved | {stage}, decision="CONTINUE"
            )
        case ev.Paused():
            changes.update(status=SagaStatus.PAUSED, resume_to=s.status, decision="PAUSE")
        case ev.Resumed():
            _expect(s, event, SagaStatus.PAUSED)
            changes.update(status=s.resume_to or SagaStatus.RUNNING, resume_to=None)
        case ev.CompensationStarted(cause=cause, reason=reason):
            steps = s.steps
            if cause == "force":
                steps = tuple(
                    dataclasses.replace(st, comp=CompensationStatus.NONE, comp_attempts=0)
                    if st.comp is CompensationStatus.DEAD_LETTER
                    else st
                    for st in steps
                )
            decision = {"abort": "ABORT", "force": "FORCE_COMPENSATION"}.get(cause, s.decision)
            changes.update(
                status=SagaStatus.COMPENSATING,
                cause=cause,
                reason=reason,
                steps=steps,
                decision=decision,
                resume_to=None,
            )
        case ev.CompensationStepStarted(step=name, attempt=attempt):
            step = s.step(name)
            changes.update(
                steps=_with_step(
                    s,
                    name,
                    comp=CompensationStatus.RUNNING,
                    comp_attempts=attempt,
                    comp_started_at=step.comp_started_at or event.at,
                ),
            )
        case ev.CompensationStepCompleted(step=name):
            changes.update(
                steps=_with_step(
                    s,
                    name,
                    comp=CompensationStatus.COMPLETED,
                    comp_error=None,
                    comp_finished_at=event.at,
                ),
            )
        case ev.CompensationStepFailed(step=name, error=error, final=final):
            if final:
                changes.update(
                    steps=_with_step(
                        s,
                        name,
                        comp=CompensationStatus.DEAD_LETTER,
                        comp_error=error,
                        comp_finished_at=event.at,
                    ),
                    status=SagaStatus.FAILED,
                    finished_at=event.at,
                    reason=f"the compensation of step {name} failed ({error}); it is in the "
                    "dead-letter queue: force compensation to re-drive it",
                )
            else:
                changes.update(steps=_with_step(s, name, comp_error=error))
        case ev.StepRetryRequested(step=name):
            _expect(s, event, SagaStatus.FAILED)
            changes.update(
                status=SagaStatus.RUNNING,
                reason=None,
                finished_at=None,
                steps=_with_step(
                    s, name, status=StepStatus.PENDING, failures=0, error=None, finished_at=None
                ),
            )
        case ev.SagaCompleted():
            _expect(s, event, SagaStatus.RUNNING)
            changes.update(status=SagaStatus.COMPLETED, finished_at=event.at)
        case ev.SagaRolledBack():
            _expect(s, event, SagaStatus.COMPENSATING)
            changes.update(status=SagaStatus.ROLLED_BACK, finished_at=event.at)
        case ev.SagaCancelled(reason=reason):
            changes.update(
                status=SagaStatus.CANCELLED, finished_at=event.at, reason=reason or s.reason
            )
        case ev.SagaFailed(reason=reason):
            changes.update(status=SagaStatus.FAILED, finished_at=event.at, reason=reason)
        case _:
            raise InvalidEventError(f"{event.type} cannot apply to an existing saga")
    changes["updated_at"] = event.at
    changes["version"] = state.version + 1
    replaced: SagaState = _replace_saga(state, changes)
    return replaced


def _expect(state: SagaState, event: ev.SagaEvent, *statuses: SagaStatus) -> None:
    if state.status not in statuses:
        raise InvalidEventError(f"saga {state.saga_id} is {state.status}; {event.type} refused")


def replay(saga_id: str, events: list[ev.SagaEvent], start: SagaState | None = None) -> SagaState:
    """The state after a stream: from its `SagaCreated` on, or from a snapshot `start`."""
    if start is None:
        first = events[0] if events else None
        if not isinstance(first, ev.SagaCreated):
            raise InvalidEventError(f"saga {saga_id}'s stream does not start with SagaCreated")
        start, events = initial(saga_id, first), events[1:]
    state = start
    for event in events:
        state = evolve(state, event)
    return state


def to_snapshot(state: SagaState) -> dict[str, Any]:
    """The state as JSON-ready data, for the journal's snapshots."""
    data = {f.name: getattr(state, f.name) for f in dataclasses.fields(SagaState)}
    data["definition"] = state.definition.as_data
    data["steps"] = [
        {f.name: getattr(step, f.name) for f in dataclasses.fields(StepState)}
        for step in state.steps
    ]
    data["approved"] = sorted(state.approved)
    return data


def from_snapshot(data: dict[str, Any]) -> SagaState:
    """The state `to_snapshot` saved."""
    steps = tuple(
        StepState(
            **{
                **step,
                "kind": StepKind(step["kind"]),
                "status": StepStatus(step["status"]),
                "comp": CompensationStatus(step["comp"]),
            }
        )
        for step in data["steps"]
    )
    resume_to = data["resume_to"]
    return SagaState(
        **{
            **data,
            "definition": SagaDefinition.model_validate(data["definition"]),
            "steps": steps,
            "status": SagaStatus(data["status"]),
            "resume_to": SagaStatus(resume_to) if resume_to else None,
            "approved": frozenset(data["approved"]),
        }
    )


# --- controls -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Control:
    """A Chairman control; `name` is the verb used in refusals ("cannot pause saga 42")."""

    name: ClassVar[str] = "control"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Start(Control):
    name = "start"


@dataclass(frozen=True, slots=True)
class Pause(Control):
    name = "pause"


@dataclass(frozen=True, slots=True)
class Resume(Control):
    name = "resume"


@dataclass(frozen=True, slots=True)
class Cancel(Control):
    name = "abort"


@dataclass(frozen=True, slots=True)
class ForceCompensation(Control):
    name = "force compensation on"


@dataclass(frozen=True, slots=True)
class Approve(Control):
    name = "approve"


@dataclass(frozen=True, slots=True)
class RetryStep(Control):
    name = "retry a step of"
    step: str | None = None


_ACTIVE = (SagaStatus.RUNNING, SagaStatus.PAUSED, SagaStatus.WAITING_APPROVAL)


def decide(state: SagaState, control: Control, now: float) -> list[ev.SagaEvent]:
    """The events that carry out a Chairman control.

    Raises:
        IllegalTransitionError: the control does not apply to the saga as it is;
            the message says why and what would.
    """
    status = state.status

    def refuse(hint: str = "") -> IllegalTransitionError:
        return IllegalTransitionError(state.saga_id, control.name, status, hint)

    match control:
        case Start():
            if status is not SagaStatus.PENDING:
                raise refuse("only pending sagas are started")
            return [ev.SagaStarted(now)]
        case Pause(reason=reason):
            if status is SagaStatus.PENDING:
                raise refuse("it has not started; intake is paused")
            if status is SagaStatus.PAUSED:
                raise refuse("it is already paused")
            if status in TERMINAL:
                raise refuse("it has finished")
            return [ev.Paused(now, reason)]
        case Resume(reason=reason):
            if status is not SagaStatus.PAUSED:
                raise refuse("only paused sagas can be resumed")
            return [ev.Resumed(now, reason)]
        case Cancel(reason=reason):
            if status is SagaStatus.PENDING:
                return [ev.SagaCancelled(now, reason)]
            if status not in _ACTIVE:
                hint = (
                    "force compensation to re-drive its compensations"
                    if state.dead_letters
                    else "only running, paused or waiting sagas are aborted"
                )
                raise refuse(hint)
            if state.pivot_done:
                raise refuse(_past_pivot(state))
            return [ev.CompensationStarted(now, "abort", reason or "aborted by the Chairman")]
        case ForceCompensation(reason=reason):
            if status is SagaStatus.FAILED and state.dead_letters:
                return [ev.CompensationStarted(now, "force", reason or _redrive(state))]
            if status not in (*_ACTIVE, SagaStatus.PENDING):
                raise refuse(
                    "only unfinished sagas, or failed ones with a dead-lettered "
                    "compensation, can be compensated"
                )
            if state.pivot_done:
                raise refuse(_past_pivot(state))
            return [ev.CompensationStarted(now, "force", reason or "forced by the Chairman")]
        case Approve(reason=reason):
            if status is not SagaStatus.WAITING_APPROVAL:
                raise refuse("only sagas waiting for approval can be approved")
            stage = state.current_stage
            assert stage is not None
            return [ev.Approved(now, stage, reason)]
        case RetryStep(step=wanted, reason=reason):
            failed = [s for s in state.steps if s.status is StepStatus.FAILED]
            if status is not SagaStatus.FAILED or not failed or state.dead_letters:
                hint = (
                    "force compensation to re-drive its compensation"
                    if state.dead_letters
                    else "only a saga that failed on a step can retry it"
                )
                raise refuse(hint)
            if wanted is not None and wanted not in {s.name for s in failed}:
                raise refuse(
                    f"step {wanted!r} has not failed; the failed step is {failed[0].name!r}"
                )
            return [ev.StepRetryRequested(now, wanted or failed[0].name, reason)]
    raise refuse("unknown control")


def _past_pivot(state: SagaState) -> str:
    pivot = next((s for s in state.steps if s.kind is StepKind.PIVOT), None)
    where = f"its pivot step {pivot.name!r}" if pivot else "the point of no return"
    return (
        f"it is past {where}, whose effects are final; it can only finish forwards "
        "(retry its failed step if it fails)"
    )


def _redrive(state: SagaState) -> str:
    return "re-driving the dead-lettered compensation of " + ", ".join(
        s.name for s in state.dead_letters
    )


# --- what next ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Emit:
    """Record these events; no participant is called."""

    events: tuple[ev.SagaEvent, ...]


@dataclass(frozen=True, slots=True)
class RunSteps:
    """Run these steps of the current stage (concurrently when more than one)."""

    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Compensate:
    """Run this step's compensation."""

    step: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do until a control arrives (paused, pending, waiting for approval)."""


@dataclass(frozen=True, slots=True)
class Done:
    """The saga has stopped."""


Next = Emit | RunSteps | Compensate | Wait | Done


def compensation_order(state: SagaState) -> list[StepState]:
    """The compensable steps that may have taken effect, latest first.

    Steps that were started but never reported back are included (their
    effect may have applied); compensations are idempotent and undo nothing
    where nothing was done.
    """
    started = [
        s
        for s in state.steps
        if s.kind is StepKind.COMPENSABLE and (s.attempts > 0 or s.status is StepStatus.COMPLETED)
    ]
    return sorted(
        started,
        key=lambda s: (s.status is not StepStatus.COMPLETED, s.completed_seq, s.stage),
        reverse=True,
    )


def advance(state: SagaState, now: float) -> Next:
    """What the executor should do next with this saga."""
    status = state.status
    if status in TERMINAL:
        return Done()
    if status in (SagaStatus.PENDING, SagaStatus.PAUSED, SagaStatus.WAITING_APPROVAL):
        return Wait()
    if status is SagaStatus.COMPENSATING:
        for step in compensation_order(state):
            if step.comp is not CompensationStatus.COMPLETED:
                return Compensate(step.name)
        if state.cause == "abort":
            return Emit((ev.SagaCancelled(now, state.reason or ""),))
        return Emit((ev.SagaRolledBack(now),))
    stage = state.current_stage
    if stage is None:
        return Emit((ev.SagaCompleted(now),))
    group = [s for s in state.steps if s.stage == stage]
    failed = [s for s in group if s.status is StepStatus.FAILED]
    if failed:
        step = failed[0]
        reason = f"step {step.name} failed after {step.attempts} attempt(s): {step.error}"
        if step.kind is StepKind.RETRIABLE:
            return Emit((ev.SagaFailed(now, reason + "; retry the step once the cause is fixed"),))
        return Emit((ev.CompensationStarted(now, "failure", reason),))
    if state.deadline_at is not None and now >= state.deadline_at and not state.pivot_done:
        return Emit((ev.CompensationStarted(now, "deadline", "the saga passed its deadline"),))
    pending = [s for s in group if s.status is not StepStatus.COMPLETED]
    needs_approval = any(state.definition.step(s.name).requires_approval for s in group)
    if (
        needs_approval
        and stage not in state.approved
        and all(s.status is StepStatus.PENDING for s in group)
    ):
        return Emit((ev.ApprovalRequested(now, stage, pending[0].name),))
    return RunSteps(tuple(s.name for s in pending))
