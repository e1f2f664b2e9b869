"""Measuring a `MetricWindow` from the database and the actor system.

Every figure comes from the read models (written in the same transaction as
the journal events they summarise), in SQLAlchemy Core so SQLite and
PostgreSQL answer alike. Each query is bounded by `saga_executions.updated_at`,
which the covering index serves: a saga is updated at every transition, so
anything that happened to it in the window left its `updated_at` at or after
the window's start.

Actor restarts are the exception: the actor system counts them per live actor
and keeps no times, so a `RestartLog` listens to the runtime's live events and
keeps the times itself (in memory: restarts before it started, or in another
process, are not in it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.observe.consistency import last_score
from runtime.observe.windows import MetricWindow, Percentiles
from runtime.sagas.queries import percentile
from runtime.sagas.state import TERMINAL, SagaStatus
from runtime.store import schema
from runtime.store._translate import translate

if TYPE_CHECKING:
    from runtime.events import Subscription
    from runtime.facade import Runtime

_sagas = schema.saga_executions
_steps = schema.saga_step_executions
_comps = schema.compensations
_letters = schema.dead_letters
_incidents = schema.incidents

_ENDED = sorted(s.value for s in TERMINAL)
# Listing every status turns "updated since" into ranges of the covering index
# (status, updated_at, ...) instead of a scan of the wide saga rows.
_EVERY_STATUS = [s.value for s in SagaStatus]
_FINISHED_COMPENSATIONS = ("completed", "dead_letter")


class RestartLog:
    """When actors of each type restarted, from the runtime's live events.

    Start it before the restarts it should see; it keeps at most `keep`
    seconds (and `limit` restarts) of history.

    Args:
        runtime: an open runtime.
        keep: seconds of history kept (at least the longest window measured).
        limit: restarts kept at most, whatever their age.
    """

    def __init__(self, runtime: Runtime, *, keep: float = 3600.0, limit: int = 100_000) -> None:
        self._runtime = runtime
        self._keep = keep
        self._times: deque[tuple[float, str]] = deque(maxlen=limit)
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin listening (idempotent)."""
        if self._subscription is not None:
            return
        self._subscription = self._runtime.events()
        self._task = asyncio.create_task(self._listen(self._subscription), name="eva-restart-log")

    async def _listen(self, subscription: Subscription) -> None:
        async for event in subscription:
            if event.kind == "actor" and event.type == "ActorRestarted":
                self.record(event.at, str(event.data.get("actor_type", "unknown")))

    def record(self, at: float, actor_type: str) -> None:
        """Note one restart (the listener calls this; tests and replays may too)."""
        self._times.append((at, actor_type))
        while self._times and self._times[0][0] < at - self._keep:
            self._times.popleft()

    async def counts(self, start: float, end: float) -> dict[str, int]:
        """Restarts per actor type in [start, end)."""
        # Events are published synchronously as restarts happen; the listener
        # takes everything queued in one turn of the loop, so yielding once
        # lets it catch up with every restart made before this call.
        await asyncio.sleep(0)
        return dict(Counter(kind for at, kind in self._times if start <= at < end))

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._subscription = self._task = None


async def measure(
    runtime: Runtime,
    *,
    window: float,
    now: float | None = None,
    consistency: float | None = None,
    restarts: RestartLog | None = None,
) -> MetricWindow:
    """The runtime's figures over [now - window, now).

    Args:
        window: seconds; must be positive.
        now: the window's end (default: the runtime's clock).
        consistency: a consistency score to report (default: the last check's, carried
            forward, so SAGA-004 sees an unbroken run between checks).
        restarts: where actor restarts are counted (none counted without it).

    Raises:
        ValueError: `window` is not positive.
        StoreError: the database cannot be read (busy, gone).
    """
    if not window > 0:
        raise ValueError(f"a metric window must last more than 0 seconds, not {window!r}")
    end = runtime.clock.now() if now is None else now
    start = end - window
    await runtime.writer.barrier()  # count what was recorded, not only what was awaited
    try:
        async with runtime.engine.connect() as conn:
            figures = await _figures(conn, start, end)
    except sa.exc.DBAPIError as exc:
        raise translate(exc, runtime.url) from exc
    actor_restarts = await restarts.counts(start, end) if restarts is not None else {}
    if consistency is None:
        last = await last_score(runtime)
        consistency = last[0] if last else None
    return MetricWindow(
        start=start,
        end=end,
        actor_restarts=actor_restarts,
        consistency_score=consistency,
        **figures,
    )


async def _figures(conn: AsyncConnection, start: float, end: float) -> dict[str, Any]:
    touched = sa.and_(_sagas.c.status.in_(_EVERY_STATUS), _sagas.c.updated_at >= start)
    ended = _in(_sagas.c.completed_at, start, end)

    rows = await conn.execute(
        sa.select(_sagas.c.status, sa.func.count())
        .where(_sagas.c.status.in_(_ENDED), _sagas.c.updated_at >= start, ended)
        .group_by(_sagas.c.status)
    )
    ended_by_status = {str(status): int(count) for status, count in rows}

    started = await conn.scalar(
        sa.select(sa.func.count()).where(touched, _in(_sagas.c.started_at, start, end))
    )

    saga_rows = await conn.execute(
        sa.select(_sagas.c.saga_type, (_sagas.c.completed_at - _sagas.c.created_at) * 1000).where(
            _sagas.c.status == SagaStatus.COMPLETED.value, _sagas.c.updated_at >= start, ended
        )
    )
    step_rows = await conn.execute(
        sa.select(_sagas.c.saga_type, _steps.c.step_name, _steps.c.duration_ms)
        .join(_steps, _steps.c.saga_id == _sagas.c.saga_id)
        .where(
            touched,
            _steps.c.status == "completed",
            _steps.c.duration_ms.is_not(None),
            _in(_steps.c.completed_at, start, end),
        )
    )
    compensations = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(_comps.join(_sagas, _sagas.c.saga_id == _comps.c.saga_id))
        .where(
            touched,
            _comps.c.status.in_(_FINISHED_COMPENSATIONS),
            _in(_comps.c.completed_at, start, end),
        )
    )
    failures = await conn.scalar(
        sa.select(sa.func.count()).where(
            _letters.c.kind == "compensation", _in(_letters.c.created_at, start, end)
        )
    )
    return {
        "ended": ended_by_status,
        "started": int(started or 0),
        "consecutive_compensations": await _consecutive_compensations(
            conn, end, window=end - start
        ),
        "saga_latency": _percentiles((str(t), float(ms)) for t, ms in saga_rows),
        "step_latency": _percentiles(((str(t), str(step)), float(ms)) for t, step, ms in step_rows),
        "compensations": int(compensations or 0),
        "compensation_failures": int(failures or 0),
        "dead_letters": await _dead_letters_at(conn, end),
        "dead_letters_before": await _dead_letters_at(conn, start),
        "escalations_to_root": await _escalations(conn, start, end),
    }


def _in(column: sa.ColumnElement[Any], start: float, end: float) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


_K = TypeVar("_K")


def _percentiles(samples: Iterable[tuple[_K, float]]) -> dict[_K, Percentiles]:
    grouped: dict[_K, list[float]] = {}
    for key, value in samples:
        grouped.setdefault(key, []).append(value)
    result: dict[_K, Percentiles] = {}
    for key, values in grouped.items():
        values.sort()
        result[key] = Percentiles(
            percentile(values, 50), percentile(values, 95), percentile(values, 99), len(values)
        )
    return result


def _compensated() -> sa.ColumnElement[bool]:
    """Ended compensated: rolled back, or failed while compensating (a compensation
    was given up on; a saga that failed going forwards has no compensation row)."""
    ran_compensations = (
        sa.select(_comps.c.saga_id).where(_comps.c.saga_id == _sagas.c.saga_id).exists()
    )
    return sa.or_(
        _sagas.c.status == SagaStatus.ROLLED_BACK.value,
        sa.and_(_sagas.c.status == SagaStatus.FAILED.value, ran_compensations),
    )


async def _consecutive_compensations(conn: AsyncConnection, end: float, *, window: float) -> int:
    """How many of the sagas that ended last before `end`, in a row, ended compensated.

    The run is counted back to the latest saga that ended otherwise, Chairman
    cancellations aside (a decision, neither a compensation nor a success);
    sagas that ended at the very instant of that one are not counted (their
    order is unknown). The search looks back one window, then four times as far, and so
    on, until it finds such a saga or has seen the oldest saga there is.
    """
    oldest = await conn.scalar(sa.select(sa.func.min(_sagas.c.created_at)))
    if oldest is None:
        return 0
    span = window
    while True:
        since = end - span
        # A saga's completed_at is never after its updated_at: bounding both
        # lets the covering index answer.
        recent = sa.and_(
            _sagas.c.status.in_(_ENDED),
            _sagas.c.updated_at >= since,
            _in(_sagas.c.completed_at, since, end),
        )
        last_other = await conn.scalar(
            sa.select(sa.func.max(_sagas.c.completed_at)).where(
                recent,
                sa.not_(_compensated()),
                _sagas.c.status != SagaStatus.CANCELLED.value,
            )
        )
        if last_other is not None or since <= oldest:
            run = sa.select(sa.func.count()).where(recent, _compensated())
            if last_other is not None:
                run = run.where(_sagas.c.completed_at > last_other)
            return int(await conn.scalar(run) or 0)
        span *= 4


async def _dead_letters_at(conn: AsyncConnection, at: float) -> int:
    """Compensation dead letters recorded before `at` and not resolved by then."""
    count = await conn.scalar(
        sa.select(sa.func.count()).where(
            _letters.c.kind == "compensation",
            _letters.c.created_at < at,
            sa.or_(_letters.c.resolved_at.is_(None), _letters.c.resolved_at >= at),
        )
    )
    return int(count or 0)


async def _escalations(conn: AsyncConnection, start: float, end: float) -> int:
    """Failures that escalated past the root supervisor in the window.

    The actor system records each as a SAGA-003 incident naming the actor and
    the error; other SAGA-003 incidents (opened by the recursion triggers) do
    not, and are not escalations.
    """
    rows = await conn.execute(
        sa.select(_incidents.c.details).where(
            _incidents.c.trigger == "SAGA-003", _in(_incidents.c.opened_at, start, end)
        )
    )
    count = 0
    for (details,) in rows:
        with contextlib.suppress(ValueError):
            data = orjson.loads(details)
            if isinstance(data, dict) and "actor" in data and "error" in data:
                count += 1
    return count


def window_data(window: MetricWindow) -> dict[str, Any]:
    """A window as JSON-ready data (for `eva metrics --json` and dashboards)."""

    def timing(p: Percentiles) -> dict[str, Any]:
        return {"p50_ms": p.p50, "p95_ms": p.p95, "p99_ms": p.p99, "count": p.count}

    steps: dict[str, dict[str, Any]] = {}
    for (saga_type, step), p in sorted(window.step_latency.items()):
        steps.setdefault(saga_type, {})[step] = timing(p)
    return {
        "start": window.start,
        "end": window.end,
        "seconds": window.seconds,
        "ended": dict(sorted(window.ended.items())),
        "started": window.started,
        "success_rate": window.success_rate,
        "throughput_per_second": window.throughput,
        "consecutive_compensations": window.consecutive_compensations,
        "saga_latency": {t: timing(p) for t, p in sorted(window.saga_latency.items())},
        "step_latency": steps,
        "compensations": window.compensations,
        "compensation_failures": window.compensation_failures,
        "dead_letters": window.dead_letters,
        "dead_letters_before": window.dead_letters_before,
        "actor_restarts": dict(sorted(window.actor_restarts.items())),
        "escalations_to_root": window.escalations_to_root,
        "consistency_score": window.consistency_score,
    }
