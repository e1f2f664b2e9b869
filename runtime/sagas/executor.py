"""The saga executor: runs each saga's steps through its participants.

One `SagaRunner` (the saga's coordinator) per saga in flight. It asks the
pure core what to do next (`advance`), does it (calls a participant with a
timeout, retries with backoff, compensates), and records every transition
through the group-commit writer. A step's completion is committed before the
next step starts. Controls (pause, abort, ...) are decided against the
runner's state, recorded, and observed at the next step boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from runtime.clock import Clock
from runtime.errors import RuntimeClosedError, StepError, StepTimeoutError
from runtime.events import EventBus, RuntimeEvent
from runtime.sagas import events as ev
from runtime.sagas.participants import Participant, StepCall
from runtime.sagas.projection import compensation_key, rows_for, step_key
from runtime.sagas.state import (
    Compensate,
    Control,
    Done,
    Emit,
    RunSteps,
    SagaState,
    SagaStatus,
    Wait,
    advance,
    decide,
    evolve,
    to_snapshot,
)
from runtime.store.journal import NewEvent, SqlJournal, encode
from runtime.store.writer import GroupCommitWriter

log = logging.getLogger("eva.sagas")


class SagaRunner:
    """Carries one saga forward; the only writer of its journal stream."""

    def __init__(
        self,
        state: SagaState,
        head_hash: str,
        *,
        writer: GroupCommitWriter,
        journal: SqlJournal,
        participants: Mapping[str, Participant],
        clock: Clock,
        rng: random.Random,
        bus: EventBus,
        on_finish: Callable[[SagaRunner], None],
        on_wait: Callable[[], None],
    ) -> None:
        self.state = state
        self.head = head_hash
        """The hash of the stream's last event (staged, not necessarily committed)."""
        self._writer = writer
        self._journal = journal
        self._participants = participants
        self._clock = clock
        self._rng = rng
        self._bus = bus
        self._on_finish = on_finish
        self._on_wait = on_wait
        self.waiting = False
        """Idle until a control arrives (paused, pending, waiting for approval)."""
        self._wake = asyncio.Event()
        self.definition_json = state.definition.as_json
        self.input_json = orjson.dumps(state.input).decode()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.pending_creation: asyncio.Future[None] | None = None
        self._staged: list[ev.SagaEvent] = []
        self._staged_from = state

    @property
    def saga_id(self) -> str:
        return self.state.saga_id

    @property
    def stream_id(self) -> str:
        return stream_of(self.state.saga_id)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"saga-{self.saga_id}")

    # --- recording ---------------------------------------------------------

    def stage(self, events: Sequence[ev.SagaEvent], *, follow: bool = False) -> None:
        """Apply events to the state now; they commit with the next `flush`.

        A staged event that nothing flushes is flushed on the next turn of the
        event loop, so "step started" reaches the store while a slow
        participant works, and rides along with "step completed" when the
        participant answers at once.

        Args:
            follow: also apply the transitions that follow without calling
                anyone (the saga's completion after its last step), so they
                commit together.
        """
        if not self._staged:
            self._staged_from = self.state
            asyncio.get_running_loop().call_soon(self._flush_staged)
        after = self.state
        for event in events:
            after = evolve(after, event)
            self._staged.append(event)
        while follow:
            step = advance(after, self._clock.now())
            if not isinstance(step, Emit):
                break
            for event in step.events:
                after = evolve(after, event)
                self._staged.append(event)
        self.state = after

    def flush(self) -> asyncio.Future[None]:
        """Hand the staged events and the read-model rows they change to the writer."""
        before, after, events = self._staged_from, self.state, self._staged
        self._staged = []
        writes, self.head = encode(
            self.stream_id,
            before.version,
            self.head,
            [NewEvent(e.type, e.to_data()) for e in events],
            self._clock.now(),
        )
        writes.extend(rows_for(before, after, events, self.definition_json, self.input_json))
        if self._journal.snapshot_due(before.version, after.version):
            snapshot = to_snapshot(after)
            snapshot["head"] = self.head
            writes.append(self._journal.snapshot_write(self.stream_id, after.version, snapshot))
        future = self._writer.submit(writes)
        if self._bus.active:
            future.add_done_callback(lambda f: self._publish(f, events, after.status))
        return future

    def _flush_staged(self) -> None:
        # Closing: what was not committed is redone on recovery.
        if self._staged:
            with contextlib.suppress(RuntimeClosedError):
                self.flush()

    async def record(self, events: Sequence[ev.SagaEvent]) -> None:
        """Apply events (and the transitions that follow from them) and wait for the commit."""
        self.stage(events, follow=True)
        await self.flush()

    def _publish(
        self, future: asyncio.Future[None], events: Sequence[ev.SagaEvent], status: SagaStatus
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        for event in events:
            data = event.to_data()
            data.pop("definition", None)
            data["status"] = status.value
            data["saga_type"] = self.state.saga_type
            self._bus.publish(RuntimeEvent("saga", event.type, self.saga_id, event.at, data))

    # --- controls ----------------------------------------------------------

    async def control(self, control: Control) -> SagaState:
        """Carry out a control; raises `IllegalTransitionError` and changes nothing if illegal."""
        events = decide(self.state, control, self._clock.now())
        await self.record(events)
        # Not waiting from now on: `wait_settled` must not see a woken saga as idle
        # before its loop has run again.
        self.waiting = False
        self._wake.set()
        return self.state

    # --- the loop ----------------------------------------------------------

    async def _run(self) -> None:
        try:
            while True:
                step = advance(self.state, self._clock.now())
                match step:
                    case Emit(events=events):
                        await self.record(events)
                    case RunSteps(steps=names):
                        if len(names) == 1:
                            await self._run_step(names[0])
                        else:
                            await asyncio.gather(*(self._run_step(n) for n in names))
                    case Compensate(step=name):
                        await self._compensate(name)
                    case Wait():
                        self._wake.clear()
                        self.waiting = True
                        self._on_wait()
                        await self._wake.wait()
                        self.waiting = False
                    case Done():
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The store refused a write (disk, lock) or a bug: the saga stays
            # where its last committed event left it and resumes on recovery.
            self.error = exc
            log.error("saga %s stopped: %s", self.saga_id, exc)
        finally:
            self._on_finish(self)

    def _call(self, name: str, action: str, key: str, attempt: int) -> StepCall:
        spec = self.state.definition.step(name)
        return StepCall(
            saga_id=self.saga_id,
            saga_type=self.state.saga_type,
            venture=self.state.venture,
            step=name,
            action=action,
            idempotency_key=key,
            attempt=attempt,
            input=self.state.input,
            parameters=spec.parameters,
        )

    def _participant(self, name: str) -> Participant:
        spec = self.state.definition.step(name)
        participant = self._participants.get(spec.participant)
        if participant is None:
            raise StepError(f"participant {spec.participant!r} is not registered", kind="config")
        return participant

    async def _run_step(self, name: str) -> None:
        spec = self.state.definition.step(name)
        key = step_key(self.saga_id, name)
        while True:
            current = self.state.step(name)
            attempt = current.attempts + 1
            self.stage([ev.StepStarted(self._clock.now(), name, attempt)])
            try:
                participant = self._participant(name)
                result = await self._clock.wait_for(
                    participant.perform(self._call(name, spec.action, key, attempt)),
                    spec.timeout,
                )
            except Exception as exc:
                kind, retryable, message = _classify(exc, name, spec.timeout)
                failures = self.state.step(name).failures + 1
                retry = (
                    spec.retry.retries(kind, retryable)
                    and failures < spec.retry.max_attempts
                    and self.state.status in (SagaStatus.RUNNING, SagaStatus.PAUSED)
                )
                failed = ev.StepFailed(self._clock.now(), name, message, kind, not retry)
                if not retry:
                    await self.record([failed])
                    return
                self.stage([failed])
                await self._clock.sleep(spec.retry.backoff(failures, self._rng))
                continue
            await self.record([ev.StepCompleted(self._clock.now(), name, result)])
            return

    async def _compensate(self, name: str) -> None:
        spec = self.state.definition.step(name)
        policy = self.state.definition.compensation_retry
        key = compensation_key(self.saga_id, name)
        while True:
            attempt = self.state.step(name).comp_attempts + 1
            self.stage([ev.CompensationStepStarted(self._clock.now(), name, attempt)])
            try:
                participant = self._participant(name)
                await self._clock.wait_for(
                    participant.compensate(self._call(name, spec.action, key, attempt)),
                    spec.timeout,
                )
            except Exception as exc:
                kind, retryable, message = _classify(exc, name, spec.timeout)
                retry = policy.retries(kind, retryable) and attempt < policy.max_attempts
                failed = ev.CompensationStepFailed(self._clock.now(), name, message, not retry)
                if not retry:
                    await self.record([failed])
                    return
                self.stage([failed])
                await self._clock.sleep(policy.backoff(attempt, self._rng))
                continue
            await self.record([ev.CompensationStepCompleted(self._clock.now(), name)])
            return


def stream_of(saga_id: str) -> str:
    """The journal stream of a saga."""
    return f"saga-{saga_id}"


def _classify(exc: BaseException, step: str, timeout: float) -> tuple[str, bool, str]:
    """(kind, retryable, message) of a participant's failure."""
    if isinstance(exc, TimeoutError):
        exc = StepTimeoutError(step, timeout)
    if isinstance(exc, StepError):
        return exc.kind, exc.retryable, str(exc)
    return type(exc).__name__, False, f"{type(exc).__name__}: {exc}"


def created_event(
    now: float,
    saga_type: str,
    venture: str,
    payload: dict[str, Any],
    definition: dict[str, Any],
    deadline: float | None,
) -> ev.SagaCreated:
    return ev.SagaCreated(
        now,
        saga_type=saga_type,
        name=f"{saga_type} for {venture}" if venture else saga_type,
        venture=venture,
        input=payload,
        definition=definition,
        deadline_at=now + deadline if deadline else None,
    )
