"""The recursion incident and its lifecycle: opened when a trigger fires,
diagnosed, remediated, validated, then closed, retried or escalated.

Every step is an event on the journal stream `incidents`, committed together
with the `incidents` row it keeps current (so the row never says more than the
chain), then published on the runtime's event bus as a `RuntimeEvent("incident",
type, incident_id, at, data)` for live views. Each event carries `text`, the
step in one line for people ("remediated: raised charge timeout of order from
5 s to 10 s").

An incident's status is `open` (fired, not yet diagnosed), `diagnosed`,
`remediated` (a change applied, waiting for a clean window), `closed`, or
`escalated` (the bound is spent or the playbook has no answer: a person looks).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
import sqlalchemy as sa

from runtime.events import RuntimeEvent
from runtime.observe.diagnosis import Diagnosis
from runtime.observe.playbook import Remediation
from runtime.observe.triggers import Firing, Trigger
from runtime.store import schema
from runtime.store.journal import NewEvent, StoredEvent, encode
from runtime.store.writer import Write

if TYPE_CHECKING:
    from runtime.facade import Runtime

STREAM = "incidents"

Status = Literal["open", "diagnosed", "remediated", "closed", "escalated"]
FINAL: frozenset[str] = frozenset({"closed", "escalated"})

LIFECYCLE = "recursion"
"""Marks the rows this module keeps (`details["lifecycle"]`), apart from the
escalations the actor system records on its own."""


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One incident as the watcher keeps it.

    Attributes:
        key: what it is about (see `Firing.key`); one open incident per (trigger, key).
        attempts: remediations tried (applied or failed).
        detected_at: the end of the first window that fired.
        first_failure_at: the earliest failure in that window, when known.
        outcome: how it ended: "remediated", "no remediation needed",
            "escalated: <why>"; None while open.
        remediation: the change last applied or tried, JSON-ready.
        last_step: the latest step in one line.
    """

    incident_id: str
    trigger: Trigger
    key: str
    status: Status
    summary: str
    attempts: int
    detected_at: float
    first_failure_at: float | None = None
    diagnosed_at: float | None = None
    remediated_at: float | None = None
    closed_at: float | None = None
    outcome: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] = field(default_factory=dict)
    remediation: dict[str, Any] | None = None
    remediations_applied: int = 0
    validations: int = 0
    last_step: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def details(self) -> dict[str, Any]:
        """The row's `details`: everything but the columns of their own."""
        data = dataclasses.asdict(self)
        for column in ("incident_id", "trigger", "status", "summary", "attempts"):
            data.pop(column)
        return {"lifecycle": LIFECYCLE, **data}

    @classmethod
    def from_row(
        cls, incident_id: str, trigger: str, status: str, summary: str, attempts: int, details: str
    ) -> IncidentRecord | None:
        """The record a row holds, or None for a row this module did not write."""
        data = orjson.loads(details)
        if not isinstance(data, dict) or data.pop("lifecycle", None) != LIFECYCLE:
            return None
        # Keys a later version added are left out rather than refused.
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(
            incident_id=incident_id,
            trigger=trigger,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            summary=summary,
            attempts=attempts,
            **{k: v for k, v in data.items() if k in known},
        )


class IncidentLog:
    """Writes each lifecycle step of the runtime's incidents."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        # One stream, many incidents: take turns at its head.
        self._lock = asyncio.Lock()

    async def _step(
        self,
        record: IncidentRecord,
        type_: str,
        text: str,
        data: dict[str, Any] | None = None,
        also: Sequence[Write] = (),
    ) -> IncidentRecord:
        rt = self._runtime
        record = dataclasses.replace(record, last_step=text)
        payload = {"incident_id": record.incident_id, "text": text, **(data or {})}
        async with self._lock:
            now = rt.clock.now()
            version, head = await rt.journal.head(STREAM)
            writes, new_head = encode(STREAM, version, head, [NewEvent(type_, payload)], now)
            writes.append(_row(record))
            writes.extend(also)
            try:
                await rt.writer.submit(writes)
            except Exception as exc:
                raise await rt.journal.failed_commit(writes, exc) from exc
            rt.journal.remember_head(STREAM, version + 1, new_head)
        # The facade keeps its bus private; this module is part of the runtime.
        rt._bus.publish(
            RuntimeEvent(
                "incident",
                type_,
                record.incident_id,
                now,
                {"trigger": record.trigger, "status": record.status, **payload},
            )
        )
        return record

    async def open(
        self, firing: Firing, *, detected_at: float, first_failure_at: float | None
    ) -> IncidentRecord:
        record = IncidentRecord(
            incident_id=uuid.uuid4().hex,
            trigger=firing.trigger,
            key=firing.key,
            status="open",
            summary=firing.summary,
            attempts=0,
            detected_at=detected_at,
            first_failure_at=first_failure_at,
            evidence=firing.evidence,
        )
        return await self._step(
            record,
            "IncidentOpened",
            f"opened: {firing.summary}",
            {"trigger": firing.trigger, "key": firing.key, "evidence": firing.evidence},
        )

    async def diagnosed(
        self, record: IncidentRecord, diagnosis: Diagnosis, key: str
    ) -> IncidentRecord:
        record = dataclasses.replace(
            record,
            status="diagnosed",
            key=key,
            diagnosed_at=record.diagnosed_at or self._runtime.clock.now(),
            diagnosis=diagnosis.to_dict(),
        )
        return await self._step(
            record,
            "IncidentDiagnosed",
            f"diagnosed: {diagnosis.summary}",
            {"key": key, "diagnosis": diagnosis.to_dict()},
        )

    async def remediated(
        self,
        record: IncidentRecord,
        remediation: Remediation,
        text: str,
        change: dict[str, Any],
        writes: Sequence[Write] = (),
    ) -> IncidentRecord:
        """Record an applied remediation; `writes` (the change itself: settings rows,
        an intake event) commit in the same transaction as this step."""
        now = self._runtime.clock.now()
        described = _remediation(remediation) | {"applied": change}
        record = dataclasses.replace(
            record,
            status="remediated",
            attempts=record.attempts + 1,
            remediated_at=now,
            remediation=described,
            remediations_applied=record.remediations_applied + 1,
        )
        return await self._step(
            record,
            "RemediationApplied",
            f"remediated: {text}",
            {"attempt": record.attempts, "remediation": described},
            writes,
        )

    async def remediation_failed(
        self, record: IncidentRecord, remediation: Remediation, error: str
    ) -> IncidentRecord:
        described = _remediation(remediation) | {"error": error}
        record = dataclasses.replace(
            record, status="diagnosed", attempts=record.attempts + 1, remediation=described
        )
        return await self._step(
            record,
            "RemediationFailed",
            f"remediation failed: {error}",
            {"attempt": record.attempts, "remediation": described},
        )

    async def validated(
        self, record: IncidentRecord, clean: bool, window: Sequence[float]
    ) -> IncidentRecord:
        record = dataclasses.replace(record, validations=record.validations + 1)
        text = (
            "validated: the next window was clean"
            if clean
            else "validated: the trigger fired again on the next window"
        )
        return await self._step(
            record, "IncidentValidated", text, {"clean": clean, "window": list(window)}
        )

    async def close(self, record: IncidentRecord, outcome: str) -> IncidentRecord:
        record = dataclasses.replace(
            record, status="closed", closed_at=self._runtime.clock.now(), outcome=outcome
        )
        return await self._step(
            record, "IncidentClosed", f"closed: {outcome}", {"outcome": outcome}
        )

    async def retry(self, record: IncidentRecord, why: str) -> IncidentRecord:
        record = dataclasses.replace(record, status="diagnosed")
        return await self._step(
            record, "IncidentRetried", f"retrying: {why}", {"attempts": record.attempts}
        )

    async def escalate(self, record: IncidentRecord, why: str) -> IncidentRecord:
        record = dataclasses.replace(
            record,
            status="escalated",
            closed_at=self._runtime.clock.now(),
            outcome=f"escalated: {why}",
        )
        return await self._step(record, "IncidentEscalated", f"escalated: {why}", {"reason": why})


def _remediation(remediation: Remediation) -> dict[str, Any]:
    return {
        "action": remediation.action,
        "target": remediation.target,
        "change": remediation.change,
        "reason": remediation.reason,
    }


def _row(record: IncidentRecord) -> tuple[str, dict[str, Any]]:
    return (
        "incidents",
        {
            "incident_id": record.incident_id,
            "trigger": record.trigger,
            "status": record.status,
            "summary": record.summary,
            "details": orjson.dumps(record.details()).decode(),
            "attempts": record.attempts,
            "opened_at": record.detected_at,
            "closed_at": record.closed_at,
        },
    )


async def records(runtime: Runtime, *, unfinished: bool = False) -> list[IncidentRecord]:
    """The incidents the recursion loop keeps, oldest first (`unfinished`: only
    those neither closed nor escalated)."""
    await runtime.writer.barrier()
    t = schema.incidents
    query = sa.select(
        t.c.incident_id, t.c.trigger, t.c.status, t.c.summary, t.c.attempts, t.c.details
    ).order_by(t.c.opened_at)
    if unfinished:
        query = query.where(t.c.status.not_in(sorted(FINAL)))
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    found = (IncidentRecord.from_row(*row) for row in rows)
    return [r for r in found if r is not None]


async def steps(
    runtime: Runtime, incident_ids: Sequence[str] = (), *, last: int = 2000
) -> dict[str, list[StoredEvent]]:
    """The journal's lifecycle steps per incident, oldest first, from the stream's
    `last` events (all incidents, or those in `incident_ids`)."""
    await runtime.writer.barrier()
    journal = runtime.journal
    events = await journal.read(STREAM, after=max(0, await journal.version(STREAM) - last))
    wanted = set(incident_ids)
    found: dict[str, list[StoredEvent]] = {}
    for event in events:
        incident_id = str(event.data.get("incident_id", ""))
        if not wanted or incident_id in wanted:
            found.setdefault(incident_id, []).append(event)
    return found


async def recursion_kpis(runtime: Runtime) -> dict[str, Any]:
    """How well the recursion loop heals, over every incident it has kept.

    Returns:
        incidents, closed, escalated, open: counts.
        mean_time_to_detect: seconds from the first failure in the window that
            fired to that window's end (incidents where the failure time is known).
        mean_time_to_diagnose, mean_time_to_remediate: seconds from detection to
            the diagnosis, and to the (last) applied remediation.
        success_rate: finished incidents closed without escalation over all
            finished ones (None before any finished).
        false_positives: incidents closed with no remediation applied, i.e. the
            trigger fired but the first validation found the next window clean
            without any change made (a transient blip, or a failed remediation
            followed by recovery on its own): they cost a look but needed no fix.
    """
    found = await records(runtime)
    finished = [r for r in found if r.final]
    closed = [r for r in finished if r.status == "closed"]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "incidents": len(found),
        "closed": len(closed),
        "escalated": len(finished) - len(closed),
        "open": len(found) - len(finished),
        "mean_time_to_detect": mean(
            [r.detected_at - r.first_failure_at for r in found if r.first_failure_at is not None]
        ),
        "mean_time_to_diagnose": mean(
            [r.diagnosed_at - r.detected_at for r in found if r.diagnosed_at is not None]
        ),
        "mean_time_to_remediate": mean(
            [r.remediated_at - r.detected_at for r in found if r.remediated_at is not None]
        ),
        "success_rate": len(closed) / len(finished) if finished else None,
        "false_positives": sum(1 for r in closed if r.remediations_applied == 0),
    }
