"""Read models of a saga: the rows its events keep up to date.

Rows are computed from the state after the events, and written in the same
unit (one transaction) as the events themselves, so the tables and the
journal never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from runtime.sagas import events as ev
from runtime.sagas.definition import StepKind
from runtime.sagas.state import (
    TERMINAL,
    CompensationStatus,
    SagaState,
    StepState,
    StepStatus,
)
from runtime.store.writer import Write


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def step_key(saga_id: str, step: str) -> str:
    """The idempotency key of a step's action: the same on every attempt."""
    return f"saga-{saga_id}/{step}"


def compensation_key(saga_id: str, step: str) -> str:
    return f"saga-{saga_id}/{step}/undo"


def saga_row(state: SagaState, definition_json: str, input_json: str) -> Write:
    steps = state.steps
    current = next(
        (i for i, s in enumerate(steps) if s.status is not StepStatus.COMPLETED), len(steps)
    )
    return (
        "saga_executions",
        {
            "saga_id": state.saga_id,
            "venture_id": state.venture,
            "saga_type": state.saga_type,
            "name": state.name,
            "status": state.status.value,
            "definition": definition_json,
            "input": input_json,
            "current_step": current,
            "total_steps": len(steps),
            "failure_reason": state.reason,
            "retry_count": sum(s.failures for s in steps),
            "max_retries": state.definition.max_retries,
            "started_at": state.started_at,
            "completed_at": state.finished_at,
            "timeout_at": state.deadline_at,
            "requires_approval": state.definition.requires_approval,
            "chairman_decision": state.decision,
            "created_at": state.created_at,
            "updated_at": state.updated_at,
            "version": state.version,
        },
    )


def step_row(state: SagaState, step: StepState) -> Write:
    spec = state.definition.step(step.name)
    duration = (
        (step.finished_at - step.started_at) * 1000
        if step.finished_at is not None and step.started_at is not None
        else None
    )
    return (
        "saga_step_executions",
        {
            "step_id": f"{state.saga_id}/{step.name}",
            "saga_id": state.saga_id,
            "step_index": state.index(step.name),
            "step_name": step.name,
            "step_kind": step.kind.value,
            "status": step.status.value,
            "participant": spec.participant,
            "operation": spec.action,
            "idempotency_key": step_key(state.saga_id, step.name),
            "result": _json(step.result),
            "error": step.error,
            "started_at": step.started_at,
            "completed_at": step.finished_at,
            "duration_ms": duration,
            "retry_count": max(0, step.attempts - 1),
            "max_retries": spec.retry.max_attempts - 1,
        },
    )


def compensation_row(state: SagaState, step: StepState) -> Write:
    spec = state.definition.step(step.name)
    return (
        "compensations",
        {
            "compensation_id": f"{state.saga_id}/{step.name}/undo",
            "saga_id": state.saga_id,
            "step_name": step.name,
            "participant": spec.participant,
            "operation": spec.compensation or "",
            "status": step.comp.value,
            "attempts": step.comp_attempts,
            "error": step.comp_error,
            "started_at": step.comp_started_at,
            "completed_at": step.comp_finished_at,
        },
    )


_PARTICIPANT_STATUS = {
    StepStatus.PENDING: "READY",
    StepStatus.RUNNING: "READY",
    StepStatus.COMPLETED: "COMMITTED",
    StepStatus.FAILED: "FAILED",
}


def participant_rows(state: SagaState) -> list[Write]:
    """One row per participant service of the saga (the PRD's TransactionParticipant)."""
    by_service: dict[str, list[StepState]] = {}
    for step in state.steps:
        by_service.setdefault(state.definition.step(step.name).participant, []).append(step)
    rows: list[Write] = []
    for service, steps in by_service.items():
        statuses = [_PARTICIPANT_STATUS[s.status] for s in steps if s.attempts]
        if any(s.comp is CompensationStatus.COMPLETED for s in steps):
            status = "ABORTED"
        else:
            status = statuses[-1] if statuses else "READY"
        times = [
            (s.finished_at - s.started_at) * 1000
            for s in steps
            if s.finished_at is not None and s.started_at is not None
        ]
        attempts = sum(s.attempts for s in steps)
        spec = state.definition.step(steps[0].name)
        rows.append(
            (
                "transaction_participants",
                {
                    "participant_id": f"{state.saga_id}/{service}",
                    "saga_id": state.saga_id,
                    "service_name": service,
                    "endpoint_url": f"local://{service}",
                    "supports_prepare": False,
                    "supports_rollback": any(s.kind is StepKind.COMPENSABLE for s in steps),
                    "timeout_seconds": spec.timeout,
                    "status": status,
                    "last_response": _json(steps[-1].result) if steps[-1].result else None,
                    "average_response_time": sum(times) / len(times) if times else 0.0,
                    "failure_rate": (sum(s.failures for s in steps) / attempts)
                    if attempts
                    else 0.0,
                    "created_at": state.created_at,
                    "updated_at": state.updated_at,
                },
            )
        )
    return rows


def dead_letter_row(
    state: SagaState, step: StepState, resolved_at: float | None, failed: StepState | None = None
) -> Write:
    """The dead-letter row of a step's compensation; `failed` is the step as it was when
    the compensation gave up (its reason and time), when the row is written later."""
    spec = state.definition.step(step.name)
    failed = failed or step
    return (
        "dead_letters",
        {
            "dead_letter_id": f"saga-{state.saga_id}/{step.name}/undo",
            "kind": "compensation",
            "saga_id": state.saga_id,
            "step_name": step.name,
            "actor_path": None,
            "message_type": spec.compensation,
            "reason": failed.comp_error or "compensation failed",
            "payload": _json(
                {
                    "participant": spec.participant,
                    "attempts": failed.comp_attempts,
                    "idempotency_key": compensation_key(state.saga_id, step.name),
                }
            ),
            "created_at": failed.comp_finished_at or state.updated_at,
            "resolved_at": resolved_at,
        },
    )


def rows_for(
    before: SagaState | None,
    after: SagaState,
    events: Iterable[ev.SagaEvent],
    definition_json: str,
    input_json: str,
) -> list[Write]:
    """The read-model rows that `events` (taking `before` to `after`) change.

    A step's row appears when the step first starts (until then the saga's
    definition says what is to come). Participant rows (the PRD's
    TransactionParticipant) are written when a compensation moves and when
    the saga ends, not on every step: they summarise a participant's part in
    the whole saga.
    """
    writes = [saga_row(after, definition_json, input_json)]
    steps: set[str] = set()
    comps: set[str] = set()
    refresh_participants = after.status in TERMINAL
    for event in events:
        name = getattr(event, "step", None)
        if name is None:
            continue
        if isinstance(event, _COMPENSATION_EVENTS):
            comps.add(name)
            refresh_participants = True
        else:
            steps.add(name)
    for name in sorted(steps, key=after.index):
        writes.append(step_row(after, after.step(name)))
    for name in comps:
        step = after.step(name)
        writes.append(compensation_row(after, step))
        if step.comp is CompensationStatus.DEAD_LETTER:
            writes.append(dead_letter_row(after, step, None))
        elif (
            step.comp is CompensationStatus.COMPLETED
            and before is not None
            and _was_dead_lettered(before, name)
        ):
            writes.append(dead_letter_row(after, step, after.updated_at, before.step(name)))
    if refresh_participants:
        writes.extend(participant_rows(after))
    return writes


_COMPENSATION_EVENTS = (
    ev.CompensationStepStarted,
    ev.CompensationStepCompleted,
    ev.CompensationStepFailed,
)


def _was_dead_lettered(state: SagaState, name: str) -> bool:
    """Whether the step's compensation had been given up on (its failure is recorded)."""
    step = state.step(name)
    return step.comp_finished_at is not None and step.comp_error is not None
