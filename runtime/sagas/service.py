"""The saga service: definitions, participants, running sagas, controls, intake, recovery."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.clock import Clock
from runtime.errors import (
    ConcurrencyError,
    DefinitionError,
    IntegrityError,
    UnknownSagaError,
    UnknownSagaTypeError,
)
from runtime.events import EventBus, RuntimeEvent
from runtime.sagas import events as ev
from runtime.sagas.definition import SagaDefinition
from runtime.sagas.executor import SagaRunner, created_event, stream_of
from runtime.sagas.intake import STREAM as INTAKE_STREAM
from runtime.sagas.intake import IntakeChange, IntakeState, change_event, setting_write
from runtime.sagas.participants import Participant
from runtime.sagas.projection import rows_for
from runtime.sagas.queries import max_numeric_id, unfinished_ids
from runtime.sagas.state import (
    FINAL,
    Control,
    SagaState,
    SagaStatus,
    Start,
    evolve,
    from_snapshot,
    initial,
    replay,
)
from runtime.store import schema
from runtime.store._translate import is_stale_write
from runtime.store.journal import GENESIS, NewEvent, SqlJournal, StoredEvent, encode, verify_chain
from runtime.store.writer import GroupCommitWriter

log = logging.getLogger("eva.sagas")


class SagaService:
    def __init__(
        self,
        engine: AsyncEngine,
        writer: GroupCommitWriter,
        journal: SqlJournal,
        clock: Clock,
        bus: EventBus,
        rng: random.Random,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._journal = journal
        self._clock = clock
        self._bus = bus
        self._rng = rng
        self.definitions: dict[str, SagaDefinition] = {}
        self.participants: dict[str, Participant] = {}
        self.runners: dict[str, SagaRunner] = {}
        self.quarantined: dict[str, IntegrityError] = {}
        """Sagas whose journal stream is broken: reported, never run."""
        self.on_launch: list[Callable[[SagaRunner], None]] = []
        """Called when a saga starts running here (the runtime adds its coordinator actor)."""
        self.on_finish: list[Callable[[SagaRunner], None]] = []
        self.intake = IntakeState()
        self._next_id = 1
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()

    # --- set-up -----------------------------------------------------------

    async def open(self) -> None:
        self._next_id = await max_numeric_id(self._engine) + 1
        query = sa.select(schema.settings.c.value).where(schema.settings.c.key == "intake")
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        if value:
            self.intake = IntakeState.from_json(value)

    def register(self, definition: SagaDefinition) -> None:
        """Register (or replace) a saga type. Running sagas keep the definition they began with."""
        self.definitions[definition.name] = definition

    def register_participant(self, participant: Participant) -> None:
        self.participants[participant.name] = participant

    # --- starting ---------------------------------------------------------

    async def start(
        self, saga_type: str, venture: str = "", payload: Mapping[str, Any] | None = None
    ) -> str:
        """Create a saga; it runs at once, or waits as `pending` while intake is paused.

        Returns the saga's id once its creation is committed.

        Raises:
            UnknownSagaTypeError: no definition has this name.
            DefinitionError: a participant the definition needs is not registered.
        """
        definition = self.definitions.get(saga_type)
        if definition is None:
            raise UnknownSagaTypeError(saga_type, sorted(self.definitions))
        for step in definition.all_steps:
            if step.participant not in self.participants:
                raise DefinitionError(
                    f"saga type {saga_type}",
                    step.name,
                    f"participant {step.participant!r} is not registered",
                )
        definition_data = definition.as_data
        for _ in range(100):
            saga_id = str(self._next_id)
            self._next_id += 1
            runner = self._create(
                saga_id, definition, definition_data, venture, dict(payload or {})
            )
            assert runner.pending_creation is not None
            try:
                await runner.pending_creation
            except Exception as exc:
                if not is_stale_write(exc):
                    raise
                # Another process took this id: move past every id it has used.
                self._next_id = max(self._next_id, await max_numeric_id(self._engine) + 1)
                continue
            self._launch(runner)
            return saga_id
        raise ConcurrencyError("saga ids", self._next_id, -1)

    def _create(
        self,
        saga_id: str,
        definition: SagaDefinition,
        definition_data: dict[str, Any],
        venture: str,
        payload: dict[str, Any],
    ) -> SagaRunner:
        now = self._clock.now()
        created = created_event(
            now, definition.name, venture, payload, definition_data, definition.deadline
        )
        events: list[ev.SagaEvent] = [created]
        state = initial(saga_id, created, definition)
        if self.intake.admits(definition.name):
            events.append(ev.SagaStarted(now))
            state = evolve(state, events[-1])
        runner = self._runner(state, GENESIS)
        writes, head = encode(
            runner.stream_id, 0, GENESIS, [NewEvent(e.type, e.to_data()) for e in events], now
        )
        writes.extend(rows_for(None, state, events, runner.definition_json, runner.input_json))
        runner.head = head
        runner.pending_creation = self._writer.submit(writes)
        if self._bus.active:
            runner.pending_creation.add_done_callback(
                lambda f: None if f.exception() else self._publish_created(state)
            )
        return runner

    def _publish_created(self, state: SagaState) -> None:
        self._bus.publish(
            RuntimeEvent(
                "saga",
                "SagaCreated",
                state.saga_id,
                state.created_at,
                {
                    "status": state.status.value,
                    "saga_type": state.saga_type,
                    "venture": state.venture,
                },
            )
        )

    def _runner(self, state: SagaState, head: str) -> SagaRunner:
        return SagaRunner(
            state,
            head,
            writer=self._writer,
            journal=self._journal,
            participants=self.participants,
            clock=self._clock,
            rng=self._rng,
            bus=self._bus,
            on_finish=self._finished,
            on_wait=self._changed.set,
        )

    def _launch(self, runner: SagaRunner) -> None:
        self.runners[runner.saga_id] = runner
        self._idle.clear()
        runner.start()
        for hook in self.on_launch:
            hook(runner)

    def _finished(self, runner: SagaRunner) -> None:
        if self.runners.get(runner.saga_id) is runner:
            del self.runners[runner.saga_id]
        for hook in self.on_finish:
            hook(runner)
        if runner.error is not None and self._bus.active:
            self._bus.publish(
                RuntimeEvent(
                    "saga",
                    "RunnerStopped",
                    runner.saga_id,
                    self._clock.now(),
                    {"error": str(runner.error)},
                )
            )
        if not self.runners:
            self._idle.set()
        self._changed.set()

    # --- reading ----------------------------------------------------------

    async def get(self, saga_id: str) -> SagaState:
        """The saga's current state (live if it is running here, else from the journal).

        Raises:
            UnknownSagaError: no saga has this id.
            IntegrityError: its journal stream is broken.
        """
        runner = self.runners.get(saga_id)
        if runner is not None:
            return runner.state
        state, _ = await self._load(saga_id)
        return state

    async def _load(self, saga_id: str) -> tuple[SagaState, str]:
        """The saga from its latest snapshot and the events after it (or its whole stream)."""
        stream = stream_of(saga_id)
        snapshot = await self._journal.load_snapshot(stream)
        if snapshot is not None:
            version, data = snapshot
            head = data.pop("head")
            tail = await self._journal.read(stream, after=version)
            verify_chain(stream, tail, start_hash=head)
            start = from_snapshot(data)
            try:
                state = replay(saga_id, [ev.from_record(e.type, e.data) for e in tail], start)
            except Exception as exc:
                raise IntegrityError(stream, version, f"its events do not replay ({exc})") from exc
            return state, tail[-1].hash if tail else head
        stored = await self._journal.read(stream)
        if not stored:
            raise UnknownSagaError(saga_id)
        return _rebuild(saga_id, stored)

    # --- controls ---------------------------------------------------------

    async def control(self, saga_id: str, control: Control) -> SagaState:
        """Carry out a Chairman control on one saga.

        Raises:
            UnknownSagaError, IllegalTransitionError (nothing changed),
            IntegrityError (its journal is broken).
        """
        runner = self.runners.get(saga_id)
        if runner is not None:
            return await runner.control(control)
        state, head = await self._load(saga_id)
        runner = self._runner(state, head)
        state = await runner.control(control)
        if state.status not in FINAL:
            self._launch(runner)
        return state

    # --- intake -----------------------------------------------------------

    @property
    def intake_paused(self) -> bool:
        """Whether every saga type waits (see `intake` for single types)."""
        return self.intake.paused

    async def prepare_intake(
        self, paused: bool, reason: str = "", saga_type: str | None = None
    ) -> IntakeChange:
        """The writes that pause or resume intake, for every type or for `saga_type`;
        commit them (alone or with other writes), then call `intake_committed`.

        Raises:
            UnknownSagaTypeError: `saga_type` names no registered definition.
        """
        if saga_type is not None and saga_type not in self.definitions:
            raise UnknownSagaTypeError(saga_type, sorted(self.definitions))
        now = self._clock.now()
        state = self.intake.changed(paused, reason, saga_type)
        event = change_event(paused, reason, saga_type)
        version, head = await self._journal.head(INTAKE_STREAM)
        writes, new_head = encode(INTAKE_STREAM, version, head, [event], now)
        writes.append(setting_write(state, now))
        return IntakeChange(writes, state, event, version + 1, new_head, now)

    def intake_committed(self, change: IntakeChange) -> None:
        """Take a committed intake change into effect here and tell the live views.
        Pending sagas it admits start with `start_pending`."""
        self._journal.remember_head(INTAKE_STREAM, change.version, change.head)
        self.intake = change.state
        self._bus.publish(
            RuntimeEvent(
                "intake", change.event.type, INTAKE_STREAM, change.at, dict(change.event.data)
            )
        )

    async def set_intake(self, paused: bool, reason: str = "", saga_type: str | None = None) -> int:
        """Pause or resume the start of new sagas, of every type or of `saga_type`;
        returns how many pending sagas started.

        Raises:
            UnknownSagaTypeError: `saga_type` names no registered definition.
        """
        change = await self.prepare_intake(paused, reason, saga_type)
        try:
            await self._writer.submit(change.writes)
        except Exception as exc:
            raise await self._journal.failed_commit(change.writes, exc) from exc
        self.intake_committed(change)
        if paused:
            return 0
        return await self.start_pending()

    async def start_pending(self) -> int:
        """Start the pending sagas intake now admits, oldest first; returns how many."""
        pending = sorted(
            (
                r
                for r in self.runners.values()
                if r.state.status is SagaStatus.PENDING and self.intake.admits(r.state.saga_type)
            ),
            key=lambda r: (r.state.created_at, int(r.saga_id) if r.saga_id.isdigit() else 0),
        )
        for runner in pending:
            await runner.control(Start())
        return len(pending)

    # --- recovery ---------------------------------------------------------

    async def recover(self) -> list[str]:
        """Resume every saga a previous process left unfinished; returns their ids."""
        ids = await unfinished_ids(self._engine)
        streams = await self._journal.read_many([stream_of(i) for i in ids])
        resumed: list[str] = []
        for saga_id in ids:
            if saga_id in self.runners:
                continue
            stored = streams[stream_of(saga_id)]
            try:
                state, head = _rebuild(saga_id, stored)
            except IntegrityError as exc:
                self.quarantined[saga_id] = exc
                log.error("%s", exc)
                continue
            runner = self._runner(state, head)
            self._journal.remember_head(runner.stream_id, state.version, head)
            self._launch(runner)
            resumed.append(saga_id)
        await self.start_pending()
        return resumed

    # --- waiting ----------------------------------------------------------

    async def wait_idle(self) -> None:
        """Until no saga is running here (none in flight, waiting or paused)."""
        await self._idle.wait()

    async def wait_settled(self) -> None:
        """Until every runner here has finished or waits on a person."""
        while not all(r.waiting for r in self.runners.values()):
            self._changed.clear()
            await self._changed.wait()

    async def wait_for(self, saga_ids: Iterable[str]) -> None:
        """Until each of these sagas has stopped running (terminal, or quarantined)."""
        tasks = [r.task for i in saga_ids if (r := self.runners.get(i)) and r.task]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop every runner where it is; the journal has what they committed."""
        tasks = [r.task for r in self.runners.values() if r.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def in_flight(self) -> Sequence[SagaState]:
        return [r.state for r in self.runners.values()]


def _rebuild(saga_id: str, stored: list[StoredEvent]) -> tuple[SagaState, str]:
    """Replay a saga's stream after checking its hash chain."""
    stream = stream_of(saga_id)
    verify_chain(stream, stored)
    try:
        state = replay(saga_id, [ev.from_record(e.type, e.data) for e in stored])
    except Exception as exc:
        raise IntegrityError(stream, len(stored), f"its events do not replay ({exc})") from exc
    return state, stored[-1].hash
