"""The safe repairs of the consistency validator (see `runtime.observe.consistency`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runtime.errors import EngineError
from runtime.observe.violations import LET_GO, Holder, Repair, Violation, ViolationKind, record
from runtime.sagas.participants import StepCall
from runtime.sagas.projection import compensation_key
from runtime.sagas.state import (
    SagaState,
    SagaStatus,
)
from runtime.store.journal import NewEvent

if TYPE_CHECKING:
    from runtime.facade import Runtime


class Repairer:
    """Mends the repairable violations of one check, recording each repair."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.repairs: list[Repair] = []

    async def run(self, violations: Sequence[Violation]) -> list[Repair]:
        redriven: set[str] = set()
        for violation in violations:
            if not violation.repairable or violation.saga_id is None:
                continue
            if violation.kind is ViolationKind.COMPENSATION_DEAD_LETTERED:
                if violation.saga_id not in redriven:
                    redriven.add(violation.saga_id)
                    await self._redrive(violation)
            elif violation.kind is ViolationKind.ORPHANED_RESERVATION:
                await self._release(violation)
        return self.repairs

    async def _done(self, violation: Violation, action: str, outcome: str, ok: bool) -> None:
        repair = Repair(violation.kind, violation.subject, action, outcome, ok)
        self.repairs.append(repair)
        await record(
            self.runtime,
            [
                NewEvent(
                    "ConsistencyRepaired",
                    {
                        "kind": repair.kind.value,
                        "subject": repair.subject,
                        "saga_id": violation.saga_id,
                        "step": violation.step,
                        "action": repair.action,
                        "outcome": repair.outcome,
                        "ok": repair.ok,
                    },
                )
            ],
        )

    async def _redrive(self, violation: Violation) -> None:
        saga_id = violation.saga_id
        assert saga_id is not None
        action = f"force compensation on saga {saga_id}"
        state = await self._stopped(saga_id, (SagaStatus.FAILED,))
        if isinstance(state, str) or not state.dead_letters:
            outcome = state if isinstance(state, str) else "nothing is dead-lettered any more"
            await self._done(violation, action, f"left alone: {outcome}", False)
            return
        steps = ", ".join(s.name for s in state.dead_letters)
        try:
            after = await self.runtime.force_compensation(
                saga_id,
                f"consistency repair: re-driving the dead-lettered compensation of {steps}",
            )
        except EngineError as exc:
            await self._done(violation, action, f"refused: {exc}", False)
            return
        await self._done(
            violation,
            action,
            f"compensation of {steps} re-driven; the saga is {after.status}",
            True,
        )

    async def _release(self, violation: Violation) -> None:
        saga_id, step = violation.saga_id, violation.step
        assert saga_id is not None
        assert step is not None
        state = await self._stopped(saga_id, LET_GO)
        if isinstance(state, str):
            await self._done(violation, f"release {step}", f"left alone: {state}", False)
            return
        spec = state.definition.step(step)
        action = f"{spec.compensation} at {spec.participant}"
        participant = self.runtime.sagas.participants.get(spec.participant)
        if participant is None:
            await self._done(violation, action, "its participant is not registered here", False)
            return
        call = StepCall(
            saga_id=saga_id,
            saga_type=state.saga_type,
            venture=state.venture,
            step=step,
            action=spec.action,
            idempotency_key=compensation_key(saga_id, step),
            attempt=1,
            input=state.input,
            parameters=spec.parameters,
        )
        try:
            await self.runtime.clock.wait_for(participant.compensate(call), spec.timeout)
        except Exception as exc:
            await self._done(violation, action, f"failed: {type(exc).__name__}: {exc}", False)
            return
        still = isinstance(participant, Holder) and any(
            (str(s), str(st)) == (saga_id, step) for s, st, _ in await participant.held()
        )
        outcome = "compensated, but it still holds it" if still else "released"
        await self._done(violation, action, outcome, not still)

    async def _stopped(self, saga_id: str, allowed: Sequence[SagaStatus]) -> SagaState | str:
        """The saga as it is now if it may be repaired; else why not, in words."""
        if saga_id in self.runtime.sagas.runners:
            return "the saga is running"
        try:
            state = await self.runtime.get_saga(saga_id)
        except EngineError as exc:
            return f"the saga cannot be read ({exc})"
        if state.status not in allowed:
            return f"the saga is now {state.status.value.replace('_', ' ')}"
        return state


# --- recording ----------------------------------------------------------------
