"""`Runtime`: the one entry to the engine, opened on a database URL."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.actors.actor import Actor, ActorType
from runtime.actors.mailbox import Priority
from runtime.actors.ref import ActorRef
from runtime.actors.system import ActorInfo, ActorSystem
from runtime.clock import Clock, SystemClock
from runtime.coordinators import Coordinators
from runtime.decisions import DecisionLog
from runtime.errors import EngineError, RuntimeClosedError
from runtime.events import EventBus, Subscription
from runtime.sagas.definition import SagaDefinition, load_definitions
from runtime.sagas.participants import Participant
from runtime.sagas.queries import (
    DeadLetter,
    Incident,
    SagaSummary,
    count_sagas,
    dead_letters,
    incidents,
    outcomes,
    query_sagas,
    window_metrics,
)
from runtime.sagas.service import SagaService
from runtime.sagas.state import (
    Approve,
    Cancel,
    ForceCompensation,
    Pause,
    Resume,
    RetryStep,
    SagaState,
    SagaStatus,
)
from runtime.store._sqlite import SqliteThread
from runtime.store.engine import database_url, open_engine, sqlite_path
from runtime.store.journal import SqlJournal
from runtime.store.statements import EVERY_ROW, build_statements
from runtime.store.writer import Backend, GroupCommitWriter, SqlAlchemyBackend, SqliteBackend

if TYPE_CHECKING:
    from runtime.observe.consistency import ConsistencyReport
    from runtime.observe.watcher import Watcher
    from runtime.observe.windows import Thresholds


class Runtime:
    """The actor/saga runtime on one database.

    Use it as an async context manager::

        async with Runtime("sqlite+aiosqlite:///data/eva.db") as rt:
            rt.register(definition)
            saga_id = await rt.start_saga("order_fulfillment", venture="acme")

    Args:
        url: the database URL; default `EVA_DATABASE_URL` or `data/eva.db`.
        clock: time source (inject a `ManualClock` in tests).
        seed: seeds backoff jitter, for reproducible runs.
        definitions: saga definitions to register before recovery.
        participants: participants to register before recovery.
        recover: resume the sagas a previous process left in flight on open.
            Pass False to register more first, then call `recover()`.
        snapshot_every: events between snapshots of long streams.
        busy_timeout: seconds to wait for another process's write lock.
        maintenance_interval: seconds between actor housekeeping rounds
            (heartbeats, passivation, registry rows in one batch); None: never.
        saga_coordinators: give each running saga a coordinator actor under
            `/sagas`, so the supervision tree shows it (costs ~5% throughput).
        watch: run the recursion loop (`runtime.observe.watcher.Watcher`) while
            open: True with the environment's thresholds, or the thresholds (or
            overrides of them) to hold the runtime to.
        watch_interval: seconds of the runtime's clock between the watcher's ticks.

    Raises:
        ThresholdError: `watch` names a threshold that is unknown or out of range.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        definitions: Iterable[SagaDefinition] = (),
        participants: Iterable[Participant] = (),
        recover: bool = True,
        snapshot_every: int = 100,
        busy_timeout: float = 5.0,
        maintenance_interval: float | None = 1.0,
        saga_coordinators: bool = False,
        watch: Thresholds | Mapping[str, object] | bool = False,
        watch_interval: float = 1.0,
    ) -> None:
        self._watch: Thresholds | None = None
        if watch is not False:
            # Checked here, before anything opens: a bad threshold is refused up front.
            from runtime.observe.thresholds import load_thresholds
            from runtime.observe.windows import Thresholds

            if isinstance(watch, Thresholds):
                self._watch = watch
            else:
                self._watch = load_thresholds(overrides=None if watch is True else watch)
        self._watch_interval = watch_interval
        self._watcher: Watcher | None = None
        self._overrides: dict[str, SagaDefinition] = {}
        self.url = url or database_url()
        self.clock: Clock = clock or SystemClock()
        self._rng = random.Random(seed)
        self._definitions = list(definitions)
        self._participants = list(participants)
        self._recover = recover
        self._snapshot_every = snapshot_every
        self._busy_timeout = busy_timeout
        self._maintenance_interval = maintenance_interval
        self._saga_coordinators = saga_coordinators
        self._coordinators: Coordinators | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._bus = EventBus()
        self._engine: AsyncEngine | None = None
        self._writer: GroupCommitWriter | None = None
        self._journal: SqlJournal | None = None
        self._reader: SqliteThread | None = None
        self._sagas: SagaService | None = None
        self._actors: ActorSystem | None = None
        self._decisions: DecisionLog | None = None

    # --- lifecycle --------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await self.open()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the database (migrating it), and resume what was in flight.

        Raises:
            NotADatabaseError, DatabaseBusyError, StoreError: the database
                cannot be used; the message says what to do.
        """
        engine = await open_engine(self.url, busy_timeout=self._busy_timeout)
        self._engine = engine
        safe_url = make_url(self.url).render_as_string(hide_password=True)
        path = sqlite_path(self.url)
        backend: Backend
        if path is not None:
            backend = SqliteBackend(path, busy_timeout=self._busy_timeout)
            self._reader = SqliteThread(path, busy_timeout=self._busy_timeout, name="eva-reader")
            await self._reader.start()
        else:
            backend = SqlAlchemyBackend(engine)
        self._writer = GroupCommitWriter(
            backend, build_statements(engine.dialect.name), every_row=EVERY_ROW, url=safe_url
        )
        await self._writer.start()
        self._journal = SqlJournal(
            engine,
            self._writer,
            self.clock,
            reader=self._reader,
            snapshot_every=self._snapshot_every,
        )
        self._sagas = SagaService(
            engine, self._writer, self._journal, self.clock, self._bus, self._rng
        )
        await self._sagas.open()
        self._decisions = DecisionLog(engine, self._writer, self._journal, self.clock)
        self._actors = ActorSystem(
            self.clock, writer=self._writer, bus=self._bus, journal=self._journal
        )
        # Imported when called, like `check_consistency` below.
        from runtime.observe.remedies import load_overrides, load_restart_backoffs

        self._overrides = await load_overrides(self)
        self._actors.restart_backoff.update(await load_restart_backoffs(self))
        for definition in self._definitions:
            self.register(definition)
        for name, override in self._overrides.items():
            if name not in self._sagas.definitions:
                self.register(override)
        for participant in self._participants:
            self._sagas.register_participant(participant)
        if self._saga_coordinators:
            self._coordinators = Coordinators(self._actors, self._sagas)
            await self._coordinators.start()
        if self._recover:
            await self._sagas.recover()
        if self._maintenance_interval:
            self._maintenance = asyncio.create_task(self._maintain(), name="eva-maintenance")
        if self._watch is not None:
            from runtime.observe.watcher import Watcher

            self._watcher = Watcher(self, self._watch)
            self._watcher.start(self._watch_interval)

    async def _maintain(self) -> None:
        # Housekeeping keeps wall-clock time whatever clock the runtime was
        # given: heartbeats, passivation and the registry are about real
        # liveness. The checks themselves read the runtime's clock.
        actors = self.actors
        while True:
            await asyncio.sleep(self._maintenance_interval or 1.0)
            actors.check_heartbeats()
            await actors.passivate_idle()
            with contextlib.suppress(EngineError):  # a busy database: next round
                await actors.flush_registry()

    async def close(self) -> None:
        """Stop running sagas where they are (they resume on the next open) and close."""
        if self._watcher is not None:
            await self._watcher.close()
            self._watcher = None
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
            self._maintenance = None
        if self._coordinators is not None:
            await self._coordinators.settle()
        if self._actors is not None:
            await self._actors.shutdown()
            await self._actors.flush_registry()
        if self._sagas is not None:
            await self._sagas.close()
        if self._coordinators is not None:
            await self._coordinators.settle()
        if self._writer is not None:
            await self._writer.close()
        if self._reader is not None:
            await self._reader.close()
        self._bus.close()
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._writer = self._journal = self._sagas = self._reader = None
        self._actors = None
        self._decisions = None

    @property
    def sagas(self) -> SagaService:
        if self._sagas is None:
            raise RuntimeClosedError()
        return self._sagas

    @property
    def journal(self) -> SqlJournal:
        if self._journal is None:
            raise RuntimeClosedError()
        return self._journal

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeClosedError()
        return self._engine

    @property
    def writer(self) -> GroupCommitWriter:
        if self._writer is None:
            raise RuntimeClosedError()
        return self._writer

    # --- definitions and participants -------------------------------------

    def register(self, definition: SagaDefinition) -> None:
        """Register (or replace) a saga type. A remediation's saved change to the type
        (a newer version in `settings`) stays in force over an older definition."""
        override = self._overrides.get(definition.name)
        if override is not None and override.version > definition.version:
            definition = override
        self.sagas.register(definition)

    def load_definitions(self, folder: str | Path) -> list[SagaDefinition]:
        """Register every YAML definition in a folder.

        Raises:
            DefinitionError: naming the file, step and rule of the first bad one;
                none of the folder's definitions is registered then.
        """
        definitions = load_definitions(Path(folder))
        for definition in definitions:
            self.register(definition)
        return definitions

    def register_participant(self, participant: Participant) -> None:
        self.sagas.register_participant(participant)

    @property
    def saga_types(self) -> list[str]:
        return sorted(self.sagas.definitions)

    async def recover(self) -> list[str]:
        """Resume every saga left in flight; returns their ids."""
        return await self.sagas.recover()

    # --- sagas ------------------------------------------------------------

    async def start_saga(
        self, saga_type: str, venture: str = "", input: Mapping[str, Any] | None = None
    ) -> str:
        """Start a saga of a registered type; returns its id once committed."""
        return await self.sagas.start(saga_type, venture, input)

    async def get_saga(self, saga_id: str) -> SagaState:
        """One saga in full: steps, compensations, timings, errors.

        Raises:
            UnknownSagaError: no saga has this id.
        """
        return await self.sagas.get(saga_id)

    async def query_sagas(
        self,
        *,
        status: str | Sequence[str] | None = None,
        since_seconds: float | None = None,
        saga_type: str | None = None,
        venture: str | None = None,
        limit: int | None = None,
    ) -> list[SagaSummary]:
        """Sagas by status(es), time window ending now, type and venture; newest first."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        since = self.clock.now() - since_seconds if since_seconds is not None else None
        await self.writer.barrier()
        return await query_sagas(
            self.engine,
            statuses=statuses,
            since=since,
            saga_type=saga_type,
            venture=venture,
            limit=limit,
        )

    async def count_sagas(
        self,
        *,
        status: str | Sequence[str] | None = None,
        since_seconds: float | None = None,
        saga_type: str | None = None,
        venture: str | None = None,
    ) -> int:
        """How many sagas `query_sagas` would find without a limit."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        since = self.clock.now() - since_seconds if since_seconds is not None else None
        await self.writer.barrier()
        return await count_sagas(
            self.engine, statuses=statuses, since=since, saga_type=saga_type, venture=venture
        )

    async def saga_metrics(self, since_seconds: float) -> dict[str, Any]:
        """Counts by status and completed-saga latency percentiles (ms) over the window,
        computed in the database: {"counts": {...}, "p50_ms", "p95_ms", "p99_ms"}."""
        await self.writer.barrier()
        since = self.clock.now() - since_seconds
        if self._reader is None:
            rows = await outcomes(self.engine, since)
            counts = Counter(status for status, _, _ in rows)
            return window_metrics(
                dict(counts),
                [
                    (done - created) * 1000
                    for status, created, done in rows
                    if status == "completed" and done is not None
                ],
            )
        # Both queries are answered from the (status, updated_at, created_at,
        # completed_at) index alone.
        statuses = ", ".join(f"'{s.value}'" for s in SagaStatus)
        window = f"status IN ({statuses}) AND updated_at >= :since"
        counts_sql = f"SELECT status, COUNT(*) FROM saga_executions WHERE {window} GROUP BY status"
        durations_sql = (
            "SELECT (completed_at - created_at) * 1000 FROM saga_executions "
            "WHERE status = 'completed' AND updated_at >= :since"
        )

        def job(conn: Any) -> dict[str, Any]:
            counts = dict(conn.execute(counts_sql, {"since": since}).fetchall())
            durations = [d for (d,) in conn.execute(durations_sql, {"since": since})]
            return window_metrics(counts, durations)

        return await self._reader.run(job)

    async def pause_saga(self, saga_id: str, reason: str = "") -> SagaState:
        return await self.sagas.control(saga_id, Pause(reason))

    async def resume_saga(self, saga_id: str, reason: str = "") -> SagaState:
        return await self.sagas.control(saga_id, Resume(reason))

    async def cancel_saga(self, saga_id: str, reason: str = "") -> SagaState:
        """Chairman ABORT: compensate what completed; refused past the pivot."""
        return await self.sagas.control(saga_id, Cancel(reason))

    async def force_compensation(self, saga_id: str, reason: str = "") -> SagaState:
        """Chairman FORCE_COMPENSATION: compensate now, re-driving dead-lettered compensations."""
        return await self.sagas.control(saga_id, ForceCompensation(reason))

    async def retry_step(
        self, saga_id: str, step: str | None = None, reason: str = ""
    ) -> SagaState:
        return await self.sagas.control(saga_id, RetryStep(reason, step))

    async def approve_saga(self, saga_id: str, reason: str = "") -> SagaState:
        """Chairman CONTINUE on a saga waiting for approval."""
        return await self.sagas.control(saga_id, Approve(reason))

    # --- intake -----------------------------------------------------------

    @property
    def intake_paused(self) -> bool:
        """Whether new sagas of every type wait as `pending`."""
        return self.sagas.intake_paused

    @property
    def intake_reason(self) -> str:
        """Why every type waits ("" while intake is open, or no reason was given)."""
        return self.sagas.intake.reason

    @property
    def paused_saga_types(self) -> dict[str, str]:
        """Saga types whose new sagas wait on their own, each with its reason."""
        return dict(self.sagas.intake.types)

    async def pause_intake(self, reason: str = "", saga_type: str | None = None) -> None:
        """New sagas (of every type, or of `saga_type`) queue as `pending` until intake
        resumes; in-flight ones go on.

        Raises:
            UnknownSagaTypeError: `saga_type` names no registered definition.
        """
        await self.sagas.set_intake(True, reason, saga_type)

    async def resume_intake(self, reason: str = "", saga_type: str | None = None) -> int:
        """Start accepting sagas again (of every type, or of `saga_type`); returns how
        many pending sagas started. A type paused on its own stays paused when the
        whole intake resumes.

        Raises:
            UnknownSagaTypeError: `saga_type` names no registered definition.
        """
        return await self.sagas.set_intake(False, reason, saga_type)

    # --- the Chairman decision log ---------------------------------------

    @property
    def decisions(self) -> DecisionLog:
        """The hash-chained log of every executed Chairman command."""
        if self._decisions is None:
            raise RuntimeClosedError()
        return self._decisions

    # --- actors -----------------------------------------------------------

    @property
    def coordinators(self) -> Coordinators | None:
        """The saga coordinator actors, when enabled."""
        return self._coordinators

    @property
    def actors(self) -> ActorSystem:
        """The actor system: spawn, tell, ask, stop, restart, tree, dead letters."""
        if self._actors is None:
            raise RuntimeClosedError()
        return self._actors

    async def spawn(
        self,
        factory: Callable[[], Actor],
        name: str,
        actor_type: ActorType | str,
        **options: Any,
    ) -> ActorRef:
        """Start an actor (see `ActorSystem.spawn` for the options)."""
        return await self.actors.spawn(factory, name, ActorType(actor_type), **options)

    def tell(self, path: str, message: Any, priority: Priority = Priority.NORMAL) -> None:
        """Tell the actor at `path`; a message to nobody is dead-lettered, then refused.

        Raises:
            ActorNotFoundError: no actor lives at `path`.
        """
        self.actors.ref_or_dead_letter(path, message).tell(message, priority)

    async def ask(self, path: str, message: Any, timeout: float = 5.0) -> Any:
        """Ask the actor at `path` (see `ActorRef.ask`)."""
        return await self.actors.ref_or_dead_letter(path, message).ask(message, timeout)

    async def stop_actor(self, path: str) -> None:
        await self.actors.stop(path)

    async def restart_actor(self, path: str, reason: str = "restarted on request") -> None:
        await self.actors.restart(path, reason)

    def actor_tree(self) -> list[ActorInfo]:
        return self.actors.tree()

    # --- observing --------------------------------------------------------

    async def dead_letters(
        self,
        *,
        since_seconds: float | None = None,
        unresolved: bool = False,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[DeadLetter]:
        since = self.clock.now() - since_seconds if since_seconds is not None else None
        await self.writer.barrier()  # read what was recorded, not only what was awaited
        return await dead_letters(
            self.engine, since=since, unresolved=unresolved, kind=kind, limit=limit
        )

    async def incidents(
        self,
        *,
        since_seconds: float | None = None,
        trigger: str | None = None,
        limit: int | None = None,
    ) -> list[Incident]:
        """Recursion-trigger incidents (SAGA-001..004), newest first."""
        since = self.clock.now() - since_seconds if since_seconds is not None else None
        await self.writer.barrier()
        return await incidents(self.engine, since=since, trigger=trigger, limit=limit)

    def events(self, maxsize: int = 10_000) -> Subscription:
        """A live stream of what happens, for dashboards: `async for e in rt.events()`."""
        return self._bus.subscribe(maxsize)

    async def verify_journal(self, prefix: str = "") -> int:
        """Check every stream's hash chain; returns the number of events checked.

        Raises:
            IntegrityError: naming the first broken stream and event.
        """
        total = 0
        for stream_id in await self.journal.stream_ids(prefix):
            total += await self.journal.verify(stream_id)
        return total

    async def check_consistency(
        self, *, repair: bool = False, max_sagas: int = 10_000
    ) -> ConsistencyReport:
        """Check the read models, compensations, participants' holdings, deadlines and
        hash chains against the journal; with `repair`, mend what is safe (see
        `runtime.observe.consistency.check_consistency`). Every check is journalled.

        Args:
            max_sagas: sagas replayed at most; past it, a sample (the report says so).
        """
        # Imported when called: a module of runtime.observe may import the facade when
        # loaded, and an import at the top of this module would then be circular.
        from runtime.observe.consistency import check_consistency

        return await check_consistency(self, repair=repair, max_sagas=max_sagas)

    @property
    def watcher(self) -> Watcher | None:
        """The recursion loop, when the runtime was opened with `watch`."""
        return self._watcher

    async def watch_once(self) -> list[str]:
        """One round of the recursion loop now (a watcher is made if none runs);
        returns the ids of the incidents it changed."""
        if self._watcher is None:
            from runtime.observe.watcher import Watcher

            self._watcher = Watcher(self, self._watch)
        return await self._watcher.tick()

    async def wait_settled(self) -> None:
        """Until every saga running here is finished or waiting on a person (paused, pending,
        waiting for approval)."""
        await self.sagas.wait_settled()

    async def wait_for(self, saga_ids: Iterable[str]) -> None:
        await self.sagas.wait_for(saga_ids)
