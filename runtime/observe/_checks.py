"""The checks of the consistency validator (see `runtime.observe.consistency`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from runtime.decisions import STREAM as DECISIONS_STREAM
from runtime.errors import EngineError, IntegrityError
from runtime.observe.violations import LET_GO, Holder, Violation, ViolationKind
from runtime.sagas import events as ev
from runtime.sagas.definition import StepKind
from runtime.sagas.executor import stream_of
from runtime.sagas.projection import saga_row
from runtime.sagas.state import (
    FINAL,
    TERMINAL,
    CompensationStatus,
    SagaState,
    SagaStatus,
    compensation_order,
    replay,
)
from runtime.store import schema
from runtime.store.journal import StoredEvent, verify_chain

if TYPE_CHECKING:
    from runtime.facade import Runtime

_CHUNK = 500
_WAITING_ON_A_PERSON = (SagaStatus.PENDING, SagaStatus.PAUSED, SagaStatus.WAITING_APPROVAL)
"""Sagas that wait for the Chairman (intake, resume, approval): late, but not stuck."""


class Check:
    """One consistency check in progress: what was checked, and what was found."""

    def __init__(self, runtime: Runtime, deadline_grace: float) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.now = runtime.clock.now()
        self.grace = deadline_grace
        self.violations: list[Violation] = []
        self.checked = 0
        self.sagas_checked = 0
        self.states: dict[str, SagaState] = {}

    def add(
        self,
        kind: ViolationKind,
        subject: str,
        detail: str,
        *,
        repairable: bool = False,
        saga_id: str | None = None,
        step: str | None = None,
    ) -> None:
        self.violations.append(Violation(kind, subject, detail, repairable, saga_id, step))

    # --- sagas: read models against a replay of the journal ------------------

    async def sagas(self, bound: int) -> int:
        """Replay the sagas (all, or a sample of `bound`); returns how many there are."""
        total, ids = await self._sample(bound)
        self.sagas_checked = len(ids)
        for chunk in _chunks(ids):
            # Rows first, then the streams, then the rows again: a row and its
            # events commit together, so a saga whose version did not move
            # between the two row reads was read whole and at rest.
            rows = await self._rows(schema.saga_executions, chunk)
            streams = await self.runtime.journal.read_many([stream_of(i) for i in chunk])
            compensations = await self._rows(schema.compensations, chunk)
            letters = await self._rows(schema.dead_letters, chunk)
            versions = await self._versions(chunk)
            for saga_id in chunk:
                self.checked += 1
                row = next(iter(rows.get(saga_id, [])), None)
                try:
                    self._saga(
                        saga_id,
                        row,
                        streams[stream_of(saga_id)],
                        compensations.get(saga_id, []),
                        letters.get(saga_id, []),
                        versions.get(saga_id),
                    )
                except Exception as exc:
                    self.add(
                        ViolationKind.UNREADABLE,
                        f"saga {saga_id}",
                        f"its records cannot be read ({type(exc).__name__}: {exc})",
                        saga_id=saga_id,
                    )
        await self._streams_without_rows()
        return total

    async def _sample(self, bound: int) -> tuple[int, list[str]]:
        t = schema.saga_executions
        final = [s.value for s in FINAL]
        async with self.engine.connect() as conn:
            total = int(
                (await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar() or 0
            )
            if total <= bound:
                query = sa.select(t.c.saga_id).order_by(t.c.created_at, t.c.saga_id)
                return total, list((await conn.execute(query)).scalars())
            # Unfinished sagas are where trouble still lives; finished ones are
            # sampled at random so that old history is checked too, over time.
            unfinished = sa.select(t.c.saga_id).where(t.c.status.not_in(final))
            ids = list((await conn.execute(unfinished.limit(bound))).scalars())
            if len(ids) < bound:
                finished = (
                    sa.select(t.c.saga_id)
                    .where(t.c.status.in_(final))
                    .order_by(sa.func.random())
                    .limit(bound - len(ids))
                )
                ids += list((await conn.execute(finished)).scalars())
        return total, ids

    async def _rows(self, table: sa.Table, ids: Sequence[str]) -> dict[str, list[Any]]:
        query = sa.select(table).where(table.c.saga_id.in_(list(ids)))
        found: dict[str, list[Any]] = {}
        async with self.engine.connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.saga_id, []).append(row)
        return found

    async def _versions(self, ids: Sequence[str]) -> dict[str, Any]:
        t = schema.saga_executions
        query = sa.select(t.c.saga_id, t.c.version).where(t.c.saga_id.in_(list(ids)))
        async with self.engine.connect() as conn:
            return {row.saga_id: row.version for row in await conn.execute(query)}

    def _saga(
        self,
        saga_id: str,
        row: Any,
        stored: list[StoredEvent],
        compensations: list[Any],
        letters: list[Any],
        version_after: Any,
    ) -> None:
        subject = f"saga {saga_id}"
        try:
            verify_chain(stream_of(saga_id), stored)
        except IntegrityError as exc:
            self.add(ViolationKind.BROKEN_CHAIN, subject, str(exc), saga_id=saga_id)
            return
        if row is None or not stored:
            missing = "its saga_executions row" if row is None else "its journal stream"
            self.add(ViolationKind.UNREADABLE, subject, f"{missing} is missing", saga_id=saga_id)
            return
        version = row.version
        at_rest = version_after == version
        try:
            events = [ev.from_record(e.type, e.data) for e in stored]
            state = replay(saga_id, events)
            # A saga that moved while it was read is compared as of its row's
            # version: the prefix of its stream the row was written with.
            compared = (
                replay(saga_id, events[:version])
                if not at_rest and isinstance(version, int) and 1 <= version < len(events)
                else state
            )
        except Exception as exc:
            self.add(
                ViolationKind.UNREADABLE,
                subject,
                f"its events do not replay ({type(exc).__name__}: {exc})",
                saga_id=saga_id,
            )
            return
        self.states[saga_id] = state
        differences = _row_differences(row, compared)
        if differences:
            self.add(
                ViolationKind.READ_MODEL_MISMATCH,
                subject,
                "saga_executions disagrees with the journal: " + "; ".join(differences),
                saga_id=saga_id,
            )
        if at_rest and state.status in TERMINAL:
            differences = _compensation_differences(state, compensations, letters)
            if differences:
                self.add(
                    ViolationKind.READ_MODEL_MISMATCH,
                    subject,
                    "its compensation records disagree with the journal: " + "; ".join(differences),
                    saga_id=saga_id,
                )
        self._saga_rules(state)

    def _saga_rules(self, state: SagaState) -> None:
        saga_id, subject = state.saga_id, f"saga {state.saga_id}"
        if state.status in LET_GO:
            for step in compensation_order(state):
                if step.comp is not CompensationStatus.COMPLETED:
                    self.add(
                        ViolationKind.COMPENSATION_INCOMPLETE,
                        f"{subject}, step {step.name}",
                        f"the saga is {state.status.value.replace('_', ' ')} but the "
                        f"compensation of {step.name} is {step.comp.value}",
                        saga_id=saga_id,
                        step=step.name,
                    )
        for step in state.dead_letters:
            participant = state.definition.step(step.name).participant
            registered = participant in self.runtime.sagas.participants
            self.add(
                ViolationKind.COMPENSATION_DEAD_LETTERED,
                f"{subject}, step {step.name}",
                f"its compensation gave up after {step.comp_attempts} attempt(s) "
                f"({step.comp_error}); "
                + (
                    "force compensation re-drives it"
                    if registered
                    else f"participant {participant!r} is not registered here to re-drive it"
                ),
                repairable=registered,
                saga_id=saga_id,
                step=step.name,
            )
        late = state.deadline_at is not None and self.now - state.deadline_at > self.grace
        if late and state.status not in TERMINAL and state.status not in _WAITING_ON_A_PERSON:
            assert state.deadline_at is not None
            where = (
                "it runs in this process"
                if saga_id in self.runtime.sagas.runners
                else "no runner here holds it; recovery resumes it when a runtime opens"
            )
            self.add(
                ViolationKind.STUCK_PAST_DEADLINE,
                subject,
                f"it is {state.status.value.replace('_', ' ')} "
                f"{self.now - state.deadline_at:.0f} s past its deadline; {where}",
                saga_id=saga_id,
            )
        if state.status not in FINAL and state.saga_type not in self.runtime.sagas.definitions:
            self.add(
                ViolationKind.UNKNOWN_SAGA_TYPE,
                subject,
                f"it is {state.status.value.replace('_', ' ')} and of type "
                f"{state.saga_type!r}, which is not registered here",
                saga_id=saga_id,
            )

    async def _streams_without_rows(self) -> None:
        e, t = schema.events, schema.saga_executions
        query = (
            sa.select(e.c.stream_id)
            .distinct()
            .where(
                e.c.stream_id.startswith("saga-"),
                ~sa.exists().where(t.c.saga_id == sa.func.substr(e.c.stream_id, 6)),
            )
        )
        async with self.engine.connect() as conn:
            orphans = list((await conn.execute(query)).scalars())
        for stream in orphans:
            self.checked += 1
            saga_id = stream.removeprefix("saga-")
            self.add(
                ViolationKind.READ_MODEL_MISMATCH,
                f"saga {saga_id}",
                "its journal stream has no saga_executions row",
                saga_id=saga_id,
            )

    # --- what participants still hold ------------------------------------------

    async def holdings(self) -> None:
        participants = self.runtime.sagas.participants
        found: list[tuple[str, str, str, str]] = []
        for name, participant in sorted(participants.items()):
            if not isinstance(participant, Holder):
                continue
            try:
                found += [(name, str(s), str(st), str(w)) for s, st, w in await participant.held()]
            except Exception as exc:
                self.checked += 1
                self.add(
                    ViolationKind.UNREADABLE,
                    f"participant {name}",
                    f"it cannot say what it holds ({type(exc).__name__}: {exc})",
                )
        statuses = await self._statuses(sorted({saga_id for _, saga_id, _, _ in found}))
        for name, saga_id, step, what in found:
            self.checked += 1
            known = self.states.get(saga_id)
            status = known.status.value if known is not None else statuses.get(saga_id)
            subject = f"saga {saga_id}, step {step}"
            if status is None:
                self.add(
                    ViolationKind.ORPHANED_RESERVATION,
                    subject,
                    f"{name} holds {what} for a saga that does not exist; release it by hand",
                    saga_id=saga_id,
                    step=step,
                )
            elif status in LET_GO:
                await self._orphan(name, saga_id, step, what, status)

    async def _statuses(self, ids: Sequence[str]) -> dict[str, str]:
        t = schema.saga_executions
        found: dict[str, str] = {}
        async with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                query = sa.select(t.c.saga_id, t.c.status).where(t.c.saga_id.in_(list(chunk)))
                found.update({row.saga_id: row.status for row in await conn.execute(query)})
        return found

    async def _orphan(self, name: str, saga_id: str, step: str, what: str, status: str) -> None:
        subject = f"saga {saga_id}, step {step}"
        said = f"{name} holds {what} for a saga that is {status.replace('_', ' ')}"
        state = self.states.get(saga_id)
        if state is None:
            try:
                state = await self.runtime.get_saga(saga_id)
            except EngineError as exc:
                self.add(
                    ViolationKind.ORPHANED_RESERVATION,
                    subject,
                    f"{said}; the saga cannot be read ({exc})",
                    saga_id=saga_id,
                    step=step,
                )
                return
        how = _release(state, step, name)
        self.add(
            ViolationKind.ORPHANED_RESERVATION,
            subject,
            f"{said}; " + (how or "it has no compensation to release it: release it by hand"),
            repairable=how is not None,
            saga_id=saga_id,
            step=step,
        )

    # --- hash chains -----------------------------------------------------------

    async def chains(self) -> None:
        """Every journal stream but the sagas' (checked with their replay) and the
        decision log's (checked with its rows by `DecisionLog.verify`)."""
        e = schema.events
        query = sa.select(e.c.stream_id).distinct().where(~e.c.stream_id.startswith("saga-"))
        async with self.engine.connect() as conn:
            streams = sorted((await conn.execute(query)).scalars())
        journal = self.runtime.journal
        for stream in streams:
            if stream == DECISIONS_STREAM:
                continue
            self.checked += 1
            try:
                await journal.verify(stream)
            except IntegrityError as exc:
                self.add(ViolationKind.BROKEN_CHAIN, f"journal stream {stream}", str(exc))
        self.checked += 1
        try:
            await self.runtime.decisions.verify()
        except IntegrityError as exc:
            self.add(ViolationKind.BROKEN_CHAIN, "the decision log", str(exc))


def _row_differences(row: Any, state: SagaState) -> list[str]:
    """Each column of the saga's row that is not what the projection makes of `state`."""
    _, expected = saga_row(state, state.definition.as_json, orjson.dumps(state.input).decode())
    differences = []
    for column, want in expected.items():
        got = getattr(row, column)
        if column in ("definition", "input"):
            try:
                same = orjson.loads(got) == orjson.loads(want)
            except (orjson.JSONDecodeError, TypeError):
                same = False
        elif column == "requires_approval":
            same = bool(got) == bool(want)
        else:
            same = got == want
        if not same:
            differences.append(f"{column} is {_short(got)}, the journal says {_short(want)}")
    return differences


def _compensation_differences(
    state: SagaState, compensations: Sequence[Any], letters: Sequence[Any]
) -> list[str]:

    differences = []
    names = {s.name for s in state.steps}
    rows = {r.step_name: r for r in compensations}
    for name, row in sorted(rows.items()):
        if name not in names:
            differences.append(f"a compensation row names step {name!r}, which the saga lacks")
            continue
        step = state.step(name)
        if (row.status, row.attempts) != (step.comp.value, step.comp_attempts):
            differences.append(
                f"compensation of {name} is {row.status} after {row.attempts} attempt(s), "
                f"the journal says {step.comp.value} after {step.comp_attempts}"
            )
    for step in state.steps:
        if step.comp is not CompensationStatus.NONE and step.name not in rows:
            differences.append(f"the compensation of {step.name} has no row")
    open_letters = {
        r.step_name for r in letters if r.kind == "compensation" and r.resolved_at is None
    }
    dead = {s.name for s in state.dead_letters}
    for name in sorted(open_letters - dead):
        differences.append(f"the dead-letter queue holds {name}'s compensation, which did not fail")
    for name in sorted(dead - open_letters):
        differences.append(f"{name}'s failed compensation is not in the dead-letter queue")
    return differences


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _release(state: SagaState, step: str, holder: str) -> str | None:
    """How to release what `holder` holds for `step` of a saga that let go; None: no way."""
    try:
        spec = state.definition.step(step)
    except KeyError:
        return None
    if spec.kind is not StepKind.COMPENSABLE or not spec.compensation or spec.participant != holder:
        return None
    return f"its compensation {spec.compensation!r} releases it"


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
