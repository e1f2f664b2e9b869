"""Property tests of the pure saga state machine (`evolve`, `decide`, `advance`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import IllegalTransitionError, SagaDefinition, SagaStatus, StepKind, StepStatus
from runtime.sagas import events as ev
from runtime.sagas.state import (
    FINAL,
    Approve,
    Cancel,
    Compensate,
    CompensationStatus,
    Control,
    Emit,
    ForceCompensation,
    InvalidEventError,
    Pause,
    Resume,
    RetryStep,
    RunSteps,
    SagaState,
    Start,
    decide,
    evolve,
    initial,
    replay,
)

CONTROLS = (Start, Pause, Resume, Cancel, ForceCompensation, Approve, RetryStep)


@st.composite
def definitions(draw: st.DrawFn) -> SagaDefinition:
    compensable = draw(st.integers(0, 3))
    pivot = draw(st.booleans())
    retriable = draw(st.integers(0 if compensable or pivot else 1, 2))
    steps: list[dict[str, object]] = []
    for i in range(compensable):
        step = {
            "name": f"c{i}",
            "participant": "p",
            "action": f"a{i}",
            "compensation": "u",
            "requires_approval": draw(st.booleans()),
        }
        if i and draw(st.booleans()) and isinstance(steps[-1], dict) and "name" in steps[-1]:
            steps[-1] = {"parallel": [steps[-1], step]}
        else:
            steps.append(step)
    if pivot:
        steps.append({"name": "pivot", "participant": "p", "action": "pv", "kind": "pivot"})
    for i in range(retriable):
        steps.append({"name": f"r{i}", "participant": "p", "action": f"b{i}", "kind": "retriable"})
    return SagaDefinition.model_validate(
        {"name": "prop", "steps": steps, "deadline": draw(st.none() | st.just(50.0))}
    )


Op = tuple[str, int]


@dataclass
class Run:
    state: SagaState
    log: list[ev.SagaEvent] = field(default_factory=list)
    now: float = 0.0

    def apply(self, events: list[ev.SagaEvent] | tuple[ev.SagaEvent, ...]) -> None:
        for event in events:
            self.state = evolve(self.state, event)
            self.log.append(event)


def play(definition: SagaDefinition, ops: list[Op], start_paused: bool) -> Run:
    created = ev.SagaCreated(
        0.0,
        "prop",
        "prop",
        "v",
        {},
        definition.model_dump(mode="json"),
        50.0 if definition.deadline else None,
    )
    run = Run(initial("1", created), [created])
    if not start_paused:
        run.apply([ev.SagaStarted(0.0)])
    for op, arg in ops:
        run.now += 1.0
        if op == "control":
            control_type = CONTROLS[arg % len(CONTROLS)]
            control: Control = (
                control_type(reason="r", step=None)
                if control_type is RetryStep
                else control_type(reason="r")
            )
            before = run.state
            try:
                run.apply(decide(run.state, control, run.now))
            except IllegalTransitionError:
                assert run.state is before
            continue
        from runtime.sagas.state import advance

        step = advance(run.state, run.now)
        match step:
            case Emit(events=events):
                run.apply(events)
            case RunSteps(steps=names):
                for i, name in enumerate(names):
                    outcome = (arg >> (2 * i)) & 3
                    attempt = run.state.step(name).attempts + 1
                    run.apply([ev.StepStarted(run.now, name, attempt)])
                    if outcome == 0:
                        run.apply([ev.StepFailed(run.now, name, "no", "rejected", True)])
                    elif outcome == 1:
                        run.apply([ev.StepFailed(run.now, name, "busy", "transient", False)])
                    else:
                        run.apply([ev.StepCompleted(run.now, name, {})])
            case Compensate(step=name):
                attempt = run.state.step(name).comp_attempts + 1
                run.apply([ev.CompensationStepStarted(run.now, name, attempt)])
                if arg % 5 == 0:
                    run.apply([ev.CompensationStepFailed(run.now, name, "stuck", True)])
                else:
                    run.apply([ev.CompensationStepCompleted(run.now, name)])
    return run


ops_strategy = st.lists(
    st.tuples(st.sampled_from(["advance", "advance", "advance", "control"]), st.integers(0, 255)),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(definitions(), ops_strategy, st.booleans())
def test_replaying_the_journal_rebuilds_the_same_state(
    definition: SagaDefinition, ops: list[Op], start_paused: bool
) -> None:
    run = play(definition, ops, start_paused)
    assert replay("1", run.log) == run.state
    assert run.state.version == len(run.log)


@settings(max_examples=400, deadline=None)
@given(definitions(), ops_strategy, st.booleans())
def test_final_states_accept_no_control_and_no_event(
    definition: SagaDefinition, ops: list[Op], start_paused: bool
) -> None:
    state = play(definition, ops, start_paused).state
    if state.status not in FINAL:
        return
    for control_type in CONTROLS:
        with pytest.raises(IllegalTransitionError):
            decide(state, control_type(reason="r"), 1e9)
    name = state.steps[0].name
    for event in (
        ev.StepStarted(1e9, name, 9),
        ev.StepCompleted(1e9, name, {}),
        ev.Paused(1e9, ""),
        ev.CompensationStarted(1e9, "force", ""),
        ev.SagaFailed(1e9, "x"),
    ):
        with pytest.raises(InvalidEventError):
            evolve(state, event)


@settings(max_examples=400, deadline=None)
@given(definitions(), ops_strategy, st.booleans())
def test_compensations_run_latest_first_and_never_touch_the_pivot_or_later_steps(
    definition: SagaDefinition, ops: list[Op], start_paused: bool
) -> None:
    run = play(definition, ops, start_paused)
    state = run.state
    compensated: list[str] = []
    pivot_done = False
    for event in run.log:
        kind = (
            state.step(event.step).kind
            if isinstance(event, ev.StepCompleted | ev.StepStarted)
            else None
        )
        if (isinstance(event, ev.StepCompleted) and kind is StepKind.PIVOT) or (
            isinstance(event, ev.StepStarted) and kind is StepKind.RETRIABLE
        ):
            pivot_done = True
        if isinstance(event, ev.CompensationStarted):
            assert not pivot_done, "compensation began after the pivot completed"
        if isinstance(event, ev.CompensationStepStarted) and event.step not in compensated:
            assert state.step(event.step).kind is StepKind.COMPENSABLE
            compensated.append(event.step)
    # Completed steps are compensated in reverse order of completion.
    seqs = [
        state.step(n).completed_seq
        for n in compensated
        if state.step(n).status is StepStatus.COMPLETED
    ]
    assert seqs == sorted(seqs, reverse=True)


@settings(max_examples=400, deadline=None)
@given(definitions(), ops_strategy, st.booleans())
def test_terminal_outcomes_are_consistent_with_the_steps(
    definition: SagaDefinition, ops: list[Op], start_paused: bool
) -> None:
    state = play(definition, ops, start_paused).state
    if state.status is SagaStatus.COMPLETED:
        assert all(s.status is StepStatus.COMPLETED for s in state.steps)
    if state.status in (SagaStatus.ROLLED_BACK, SagaStatus.CANCELLED):
        for step in state.steps:
            if step.kind is StepKind.COMPENSABLE and step.attempts:
                assert step.comp is CompensationStatus.COMPLETED, step
            if step.kind is StepKind.RETRIABLE:
                assert step.attempts == 0
    if state.status is SagaStatus.FAILED:
        assert state.reason
        assert state.dead_letters or any(s.status is StepStatus.FAILED for s in state.steps)
