"""Reading sagas back: summaries by status, time and type; one saga in detail."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.store import schema

FAILURE_STATUSES = ("failed", "rolled_back", "compensating")
"""What "saga failures" means in a query: every saga that ended, or is ending, in failure."""


@dataclass(frozen=True, slots=True)
class SagaSummary:
    """One row of the saga table."""

    saga_id: str
    saga_type: str
    venture: str
    status: str
    current_step: str | None
    steps_done: int
    total_steps: int
    failure_reason: str | None
    chairman_decision: str | None
    created_at: float
    updated_at: float
    completed_at: float | None

    @property
    def age(self) -> float:
        return (self.completed_at or self.updated_at) - self.created_at


@dataclass(frozen=True, slots=True)
class DeadLetter:
    dead_letter_id: str
    kind: str
    saga_id: str | None
    step_name: str | None
    actor_path: str | None
    message_type: str | None
    reason: str
    payload: dict[str, Any]
    created_at: float
    resolved_at: float | None


@functools.lru_cache(maxsize=256)
def _step_names(definition: str) -> tuple[str, ...]:
    # Thousands of rows share a handful of definitions: read each once.
    steps = orjson.loads(definition)["steps"]
    return tuple(s["name"] for group in steps for s in (group.get("parallel") or [group]))


def _summary(row: sa.Row[Any]) -> SagaSummary:
    names = _step_names(row.definition)
    current = names[row.current_step] if row.current_step < len(names) else None
    return SagaSummary(
        saga_id=row.saga_id,
        saga_type=row.saga_type,
        venture=row.venture_id,
        status=row.status,
        current_step=current,
        steps_done=row.current_step,
        total_steps=row.total_steps,
        failure_reason=row.failure_reason,
        chairman_decision=row.chairman_decision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
    )


def _filtered(
    query: sa.Select[Any],
    statuses: Sequence[str],
    since: float | None,
    saga_type: str | None,
    venture: str | None,
) -> sa.Select[Any]:
    """The saga filters shared by listing and counting."""
    t = schema.saga_executions
    if statuses:
        query = query.where(t.c.status.in_(list(statuses)))
    if since is not None:
        query = query.where(t.c.updated_at >= since)
    if saga_type:
        query = query.where(t.c.saga_type == saga_type)
    if venture:
        query = query.where(t.c.venture_id == venture)
    return query


async def query_sagas(
    engine: AsyncEngine,
    *,
    statuses: Sequence[str] = (),
    since: float | None = None,
    saga_type: str | None = None,
    venture: str | None = None,
    limit: int | None = None,
    ids: Sequence[str] = (),
) -> list[SagaSummary]:
    """Sagas matching every filter given, newest first.

    `since` keeps sagas updated at or after that time (a saga is updated when it
    is created and at every transition), so "failures in the last 24 hours"
    includes an old saga that failed an hour ago.
    """
    t = schema.saga_executions
    query = _filtered(sa.select(t), statuses, since, saga_type, venture)
    if ids:
        query = query.where(t.c.saga_id.in_(list(ids)))
    query = query.order_by(t.c.created_at.desc(), t.c.saga_id.desc())
    if limit:
        query = query.limit(limit)
    async with engine.connect() as conn:
        return [_summary(row) for row in await conn.execute(query)]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values sorted ascending; 0 when empty."""
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))])


def window_metrics(counts: dict[str, int], durations: Sequence[float]) -> dict[str, Any]:
    """Counts by status and p50/p95/p99 of completed sagas' durations (ms, any order)."""
    ordered = sorted(durations)
    return {"counts": counts, **{f"p{q}_ms": percentile(ordered, q) for q in (50, 95, 99)}}


async def outcomes(engine: AsyncEngine, since: float) -> list[tuple[str, float, float | None]]:
    """(status, created_at, completed_at) of the sagas touched since `since`: the raw
    material of success rate, latency and throughput, without whole rows."""
    t = schema.saga_executions
    query = sa.select(t.c.status, t.c.created_at, t.c.completed_at).where(t.c.updated_at >= since)
    async with engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in await conn.execute(query)]


async def count_sagas(
    engine: AsyncEngine,
    *,
    statuses: Sequence[str] = (),
    since: float | None = None,
    saga_type: str | None = None,
    venture: str | None = None,
) -> int:
    """How many sagas match (the same filters as `query_sagas`)."""
    query = _filtered(
        sa.select(sa.func.count()).select_from(schema.saga_executions),
        statuses,
        since,
        saga_type,
        venture,
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar() or 0)


@dataclass(frozen=True, slots=True)
class Incident:
    """A recursion-trigger firing (SAGA-001..004) and where it stands."""

    incident_id: str
    trigger: str
    status: str
    summary: str
    details: dict[str, Any]
    attempts: int
    opened_at: float
    closed_at: float | None


async def incidents(
    engine: AsyncEngine,
    *,
    since: float | None = None,
    trigger: str | None = None,
    limit: int | None = None,
) -> list[Incident]:
    """Incidents, newest first."""
    t = schema.incidents
    query = sa.select(t).order_by(t.c.opened_at.desc())
    if since is not None:
        query = query.where(t.c.opened_at >= since)
    if trigger:
        query = query.where(t.c.trigger == trigger)
    if limit:
        query = query.limit(limit)
    async with engine.connect() as conn:
        return [
            Incident(
                r.incident_id,
                r.trigger,
                r.status,
                r.summary,
                orjson.loads(r.details),
                r.attempts,
                r.opened_at,
                r.closed_at,
            )
            for r in await conn.execute(query)
        ]


async def count_by_status(engine: AsyncEngine) -> dict[str, int]:
    t = schema.saga_executions
    query = sa.select(t.c.status, sa.func.count()).group_by(t.c.status)
    async with engine.connect() as conn:
        return {row[0]: row[1] for row in await conn.execute(query)}


async def unfinished_ids(engine: AsyncEngine) -> list[str]:
    """Sagas a crash may have interrupted: neither final nor failed."""
    t = schema.saga_executions
    query = (
        sa.select(t.c.saga_id)
        .where(t.c.status.not_in(["completed", "rolled_back", "cancelled", "failed"]))
        .order_by(t.c.created_at)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


async def max_numeric_id(engine: AsyncEngine) -> int:
    t = schema.saga_executions
    query = sa.select(sa.func.max(sa.cast(t.c.saga_id, sa.Integer)))
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar() or 0)


async def dead_letters(
    engine: AsyncEngine,
    *,
    since: float | None = None,
    unresolved: bool = False,
    kind: str | None = None,
    limit: int | None = None,
) -> list[DeadLetter]:
    t = schema.dead_letters
    query = sa.select(t).order_by(t.c.created_at.desc())
    if since is not None:
        query = query.where(t.c.created_at >= since)
    if unresolved:
        query = query.where(t.c.resolved_at.is_(None))
    if kind:
        query = query.where(t.c.kind == kind)
    if limit:
        query = query.limit(limit)
    async with engine.connect() as conn:
        return [
            DeadLetter(
                r.dead_letter_id,
                r.kind,
                r.saga_id,
                r.step_name,
                r.actor_path,
                r.message_type,
                r.reason,
                orjson.loads(r.payload),
                r.created_at,
                r.resolved_at,
            )
            for r in await conn.execute(query)
        ]
