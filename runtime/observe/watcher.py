"""The recursion loop: measure, evaluate the SAGA-001..004 rules, open an incident
per new firing, diagnose it, apply the playbook's remediation, and validate it on
a later window.

Validation looks only at what happened after the change: the window from the
remediation to now, once `validation_window` seconds have passed. If the rule
does not fire for the incident's (trigger, key) there, the incident closes; if it
does, the watcher tries again while `next_step` allows, then escalates to the
Chairman's review panel. A remediation that raises counts as a failed attempt
and is retried on the next tick (the watcher itself never stops on it), unless a
whole validation window since detection is clean: then the incident closes with
no remediation applied (a false positive in `recursion_kpis`).

Detection of a trigger restarts after an incident for it closes or escalates:
its window then begins at the change (or the escalation), so the failures the
incident already answered for do not open another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa

from runtime.clock import Clock
from runtime.errors import EngineError
from runtime.observe import remedies
from runtime.observe.consistency import check_consistency, last_score
from runtime.observe.diagnosis import Diagnosis, FailureRecord, classify_error, diagnose
from runtime.observe.incidents import IncidentLog, IncidentRecord, records
from runtime.observe.metrics import RestartLog, measure
from runtime.observe.playbook import narrow, propose
from runtime.observe.suite import failure_suite_green
from runtime.observe.thresholds import load_thresholds
from runtime.observe.triggers import (
    BOUNDS,
    MIN_ENDED,
    Firing,
    Trigger,
    next_step,
    saga_001,
    saga_002,
    saga_003,
    saga_004,
)
from runtime.observe.windows import MetricWindow, Thresholds
from runtime.sagas.executor import stream_of
from runtime.sagas.state import SagaStatus
from runtime.store import schema

if TYPE_CHECKING:
    from runtime.facade import Runtime

log = logging.getLogger("eva.watcher")

MAX_FAILURES = 200
"""Failed sagas read for one diagnosis at most (the most recent): enough for
shares to be stable, bounded however bad the window was."""

_FAILED = (SagaStatus.ROLLED_BACK.value, SagaStatus.FAILED.value)
_INSTANT = 1e-6


_CHECKED_SAGAS = 2_000
"""Sagas a scheduled consistency check replays (unfinished first, then a sample)."""


class Watcher:
    """Watches one runtime and heals what the playbook knows how to heal.

    Args:
        runtime: an open runtime.
        thresholds: what it is held to; a mapping is a set of overrides of the
            environment's defaults (see `load_thresholds`); None: the defaults.
        clock: time source (default: the runtime's).
        validation_window: seconds after a remediation before it is judged
            (default: the thresholds' `latency_window`).
        min_ended: sagas that must end in a window before its success rate counts.
        failure_suite_green: whether the failure suite passed (SAGA-004); None: as the
            last run recorded in the journal says (`eva chaos` records each).
        consistency_every: while started, run a consistency check (no repairs) this
            often, in seconds of the runtime's clock, so SAGA-004 and the dashboard
            have a current score; None: only on demand.

    Raises:
        ThresholdError: a threshold override is out of range or unknown.
    """

    def __init__(
        self,
        runtime: Runtime,
        thresholds: Thresholds | Mapping[str, object] | None = None,
        clock: Clock | None = None,
        *,
        validation_window: float | None = None,
        min_ended: int = MIN_ENDED,
        failure_suite_green: bool | None = None,
        consistency_every: float | None = 300.0,
    ) -> None:
        if not isinstance(thresholds, Thresholds):
            thresholds = load_thresholds(overrides=thresholds)
        self.runtime = runtime
        self.thresholds = thresholds
        self.clock = clock or runtime.clock
        self.validation_window = validation_window or thresholds.latency_window
        self.min_ended = min_ended
        self.failure_suite_green = failure_suite_green
        self.consistency_every = consistency_every
        self.incidents = IncidentLog(runtime)
        self.restarts = RestartLog(
            runtime, keep=max(thresholds.restart_window, thresholds.success_window)
        )
        sustained = math.ceil(thresholds.consistency_sustained / thresholds.latency_window)
        self.history: deque[MetricWindow] = deque(maxlen=sustained + 2)
        """Consecutive `latency_window` windows, for SAGA-004's sustained run."""
        self.errors: list[str] = []
        """Ticks that failed (a busy database, say), newest last; kept to the last 100."""
        self._open: dict[tuple[str, str], IncidentRecord] | None = None
        self._since: dict[str, float] = {}
        self._cooldown: dict[tuple[str, str], float] = {}
        self._stage_done = False
        self._task: asyncio.Task[None] | None = None

    # --- running ------------------------------------------------------------

    def start(self, interval: float = 1.0) -> None:
        """Tick every `interval` seconds of the runtime's clock until `close`."""
        self.restarts.start()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(interval), name="eva-watcher")

    async def _loop(self, interval: float) -> None:
        checked_at = self.clock.now()
        while True:
            await self.clock.sleep(interval)
            try:
                await self.tick()
                every = self.consistency_every
                if every is not None and self.clock.now() - checked_at >= every:
                    checked_at = self.clock.now()
                    await check_consistency(self.runtime, max_sagas=_CHECKED_SAGAS)
            except Exception as exc:  # a busy database, say: the next tick tries again
                self.errors = [*self.errors[-99:], str(exc) or type(exc).__name__]
                log.warning(
                    "watcher tick failed: %s", exc, exc_info=not isinstance(exc, EngineError)
                )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.restarts.close()

    # --- one round ------------------------------------------------------------

    async def tick(self) -> list[str]:
        """One round: validate or retry the open incidents, then open incidents for
        new firings. Returns the ids of the incidents it changed."""
        self.restarts.start()
        now = self.clock.now()
        current = await self._current()
        touched: list[str] = []
        for record in list(current.values()):
            updated = await self._advance(record, now)
            if updated is not record:
                touched.append(updated.incident_id)
        for firing, start in await self._firings(now):
            opened = await self._open_incident(firing, start, now)
            if opened is not None:
                touched.append(opened.incident_id)
        return touched

    async def _current(self) -> dict[tuple[str, str], IncidentRecord]:
        if self._open is None:
            found = await records(self.runtime)
            self._stage_done = any(r.trigger == "SAGA-004" and r.status == "closed" for r in found)
            self._open = {(r.trigger, r.key): r for r in found if not r.final}
            # A restarted process must not open again what an earlier one finished.
            for record in found:
                if record.final:
                    self._ended(record)
        return self._open

    def _keep(self, record: IncidentRecord) -> IncidentRecord:
        assert self._open is not None
        slot = (record.trigger, record.key)
        if record.final:
            self._open.pop(slot, None)
            self._ended(record)
        else:
            self._open[slot] = record
        return record

    def _ended(self, record: IncidentRecord) -> None:
        """Evidence a finished incident answered for is not evidence of a new one:
        detection of its trigger starts after it, and an escalated one waits a
        window before the same thing is raised again."""
        ended = record.closed_at if record.closed_at is not None else self.clock.now()
        if record.status == "closed" and record.remediated_at:
            ended = record.remediated_at
        self._since[record.trigger] = max(self._since.get(record.trigger, 0.0), ended)
        if record.status == "escalated":
            slot = (record.trigger, record.key)
            until = ended + self.thresholds.success_window
            self._cooldown[slot] = max(self._cooldown.get(slot, -math.inf), until)

    # --- detection --------------------------------------------------------------

    async def _window(self, start: float, now: float) -> MetricWindow:
        window = await measure(self.runtime, window=now - start, now=now)
        restarts_from = max(start, now - self.thresholds.restart_window)
        counts = await self.restarts.counts(restarts_from, now)
        return _with_restarts(window, counts)

    async def _firings(self, now: float) -> list[tuple[Firing, float]]:
        t = self.thresholds
        windows: dict[float, MetricWindow] = {}
        found: list[tuple[Firing, float]] = []
        for trigger in ("SAGA-001", "SAGA-002", "SAGA-003"):
            # SAGA-003 counts restarts over its own, shorter window.
            length = t.restart_window if trigger == "SAGA-003" else t.success_window
            start = max(now - length, self._since.get(trigger, -math.inf))
            if start >= now:
                continue
            if start not in windows:
                windows[start] = await self._window(start, now)
            window = windows[start]
            if trigger == "SAGA-001":
                # A run of compensations that ended before the window is old news.
                fired = (
                    saga_001(window, t, min_ended=self.min_ended) if window.ended_total else None
                )
                found.extend([(fired, start)] if fired else [])
            elif trigger == "SAGA-002":
                fired = saga_002(window, t)
                found.extend([(fired, start)] if fired else [])
            else:
                found.extend((f, start) for f in saga_003(window, t))
        done = await self._stage(now)
        if done is not None:
            found.append((done, now - t.latency_window))
        return found

    async def _stage(self, now: float) -> Firing | None:
        """SAGA-004 over the history of consecutive windows (measured when one is due)."""
        t = self.thresholds
        last = self.history[-1].end if self.history else now - t.latency_window
        if now - last < t.latency_window:
            return None
        score = await last_score(self.runtime)
        window = await measure(
            self.runtime, window=now - last, now=now, consistency=score[0] if score else None
        )
        self.history.append(window)
        if self._stage_done:
            return None
        green = self.failure_suite_green
        if green is None:
            green = await failure_suite_green(self.runtime)
        return saga_004(list(self.history), t, green, min_ended=self.min_ended)

    async def _open_incident(
        self, firing: Firing, start: float, now: float
    ) -> IncidentRecord | None:
        failures = await self._failures(firing.trigger, start, now)
        diagnosis = diagnose(failures)
        narrowed = narrow(firing, diagnosis)
        slot = (narrowed.trigger, narrowed.key)
        current = await self._current()
        if slot in current or self._cooldown.get(slot, -math.inf) > now:
            return None
        first = min((f.at for f in failures), default=None)
        record = await self.incidents.open(narrowed, detected_at=now, first_failure_at=first)
        record = self._keep(await self.incidents.diagnosed(record, diagnosis, narrowed.key))
        return await self._remediate(record, narrowed, diagnosis)

    # --- the lifecycle ------------------------------------------------------------

    async def _advance(self, record: IncidentRecord, now: float) -> IncidentRecord:
        if record.status in ("open", "diagnosed"):
            # Not remediated yet (a failed attempt, or a crash before the first). If a
            # whole window since detection is clean, it went away on its own.
            if now - record.detected_at >= self.validation_window:
                since = await self._window(record.detected_at, now)
                if await self._fired_again(record, since, record.detected_at, now) is None:
                    record = await self.incidents.validated(record, True, [record.detected_at, now])
                    return self._keep(await self.incidents.close(record, "no remediation needed"))
            start = now - self.thresholds.success_window
            firing, diagnosis = await self._rediagnose(record, start, now)
            return await self._remediate(record, firing, diagnosis)
        if record.status != "remediated" or record.remediated_at is None:
            return record
        if now - record.remediated_at < self.validation_window:
            return record
        start = record.remediated_at
        # Restarts a remediation makes itself happen at (or, on a coarse clock, the
        # instant of) its record: only later ones are evidence against it.
        window = await self._window(start + _INSTANT, now)
        again = await self._fired_again(record, window, start, now)
        record = await self.incidents.validated(record, again is None, [start, now])
        if again is None:
            outcome = "remediated" if record.remediations_applied else "no remediation needed"
            return self._keep(await self.incidents.close(record, outcome))
        firing, diagnosis = again
        if next_step(record.attempts, record.trigger) == "escalate":
            return self._keep(await self.incidents.escalate(record, _spent(record)))
        record = self._keep(
            await self.incidents.retry(
                record,
                f"{firing.summary} (attempt {record.attempts + 1} of {BOUNDS[record.trigger]})",
            )
        )
        return await self._remediate(record, firing, diagnosis)

    async def _fired_again(
        self, record: IncidentRecord, window: MetricWindow, start: float, now: float
    ) -> tuple[Firing, Diagnosis] | None:
        t = self.thresholds
        firings: list[Firing] = []
        if record.trigger == "SAGA-001":
            fired = saga_001(window, t, min_ended=self.min_ended) if window.ended_total else None
            firings = [fired] if fired else []
        elif record.trigger == "SAGA-002":
            fired = saga_002(window, t)
            firings = [fired] if fired else []
        elif record.trigger == "SAGA-003":
            firings = saga_003(window, t)
        for firing in firings:
            diagnosis = diagnose(await self._failures(firing.trigger, start, now))
            narrowed = narrow(firing, diagnosis)
            if narrowed.key == record.key or firing.key == record.key:
                return narrowed, diagnosis
        return None

    async def _rediagnose(
        self, record: IncidentRecord, start: float, now: float
    ) -> tuple[Firing, Diagnosis]:
        diagnosis = diagnose(await self._failures(record.trigger, start, now))
        firing = Firing(record.trigger, record.key, record.summary, record.evidence)
        return firing, diagnosis

    async def _remediate(
        self, record: IncidentRecord, firing: Firing, diagnosis: Diagnosis
    ) -> IncidentRecord:
        if next_step(record.attempts, record.trigger) == "escalate":
            return self._keep(await self.incidents.escalate(record, _spent(record)))
        remediation = propose(firing, diagnosis)
        if remediation is None:
            why = "the playbook has no safe change for it"
            if diagnosis.failures:
                why += f" ({diagnosis.summary.rstrip('.')})"
            return self._keep(await self.incidents.escalate(record, why))
        try:
            prepared = await remedies.prepare(self.runtime, remediation)
            # The change and the incident's step commit together, or neither does.
            applied = await self.incidents.remediated(
                record, remediation, prepared.text, prepared.change, prepared.writes
            )
        except remedies.RemedyUnavailableError as exc:
            record = await self.incidents.remediation_failed(record, remediation, str(exc))
            return self._keep(await self.incidents.escalate(record, exc.why))
        except Exception as exc:  # a failed attempt, recorded; the loop goes on
            error = str(exc) or type(exc).__name__
            log.warning(
                "remediation %s on %s failed: %s", remediation.action, remediation.target, error
            )
            record = self._keep(await self.incidents.remediation_failed(record, remediation, error))
            if next_step(record.attempts, record.trigger) == "escalate":
                return self._keep(await self.incidents.escalate(record, _spent(record)))
            return record
        record = self._keep(applied)
        try:
            await prepared.take_effect()
        except Exception as exc:  # committed all the same: validation judges what took
            log.warning("remediation %s on %s: %s", remediation.action, remediation.target, exc)
        if remediation.action == "complete_stage":
            self._stage_done = True
            return self._keep(await self.incidents.close(record, "stage complete"))
        if prepared.needs_person:
            return self._keep(await self.incidents.escalate(record, prepared.text))
        return record

    # --- evidence ----------------------------------------------------------------

    async def _failures(self, trigger: Trigger, start: float, end: float) -> list[FailureRecord]:
        if trigger == "SAGA-001":
            return await self._step_failures(start, end)
        if trigger == "SAGA-002":
            return await self._compensation_failures()
        return []

    async def _step_failures(self, start: float, end: float) -> list[FailureRecord]:
        """The final step failure of each saga that ended failed or rolled back in
        [start, end): the covering index finds the sagas, their journal the kinds."""
        s = schema.saga_executions
        query = (
            sa.select(s.c.saga_id, s.c.saga_type)
            .where(
                s.c.status.in_(_FAILED),
                s.c.updated_at >= start,
                s.c.completed_at >= start,
                s.c.completed_at < end,
            )
            .order_by(s.c.completed_at.desc())
            .limit(MAX_FAILURES)
        )
        await self.runtime.writer.barrier()
        async with self.runtime.engine.connect() as conn:
            sagas = [(str(i), str(t)) for i, t in await conn.execute(query)]
        streams = await self.runtime.journal.read_many([stream_of(i) for i, _ in sagas])
        failures: list[FailureRecord] = []
        for saga_id, saga_type in sagas:
            failed = [e for e in streams.get(stream_of(saga_id), []) if e.type == "StepFailed"]
            if not failed:
                continue  # cancelled by a deadline or the Chairman: no step failed
            event = failed[-1]
            step = str(event.data.get("step", ""))
            error = str(event.data.get("error", ""))
            failures.append(
                FailureRecord(
                    saga_id=saga_id,
                    saga_type=saga_type,
                    step=step,
                    participant=self._participant(saga_type, step),
                    error_class=classify_error(event.data.get("kind"), error),
                    error=error,
                    at=event.recorded_at,
                )
            )
        return failures

    async def _compensation_failures(self) -> list[FailureRecord]:
        """The compensations dead-lettered and not yet resolved, one per saga and step."""
        d, s = schema.dead_letters, schema.saga_executions
        query = (
            sa.select(d.c.saga_id, s.c.saga_type, d.c.step_name, d.c.reason, d.c.created_at)
            .join(s, s.c.saga_id == d.c.saga_id)
            .where(d.c.kind == "compensation", d.c.resolved_at.is_(None))
            .order_by(d.c.created_at.desc())
            .limit(MAX_FAILURES)
        )
        await self.runtime.writer.barrier()
        async with self.runtime.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            FailureRecord(
                saga_id=str(saga_id),
                saga_type=str(saga_type),
                step=str(step),
                participant=self._participant(str(saga_type), str(step)),
                error_class=classify_error(None, str(reason)),
                error=str(reason),
                at=float(at),
            )
            for saga_id, saga_type, step, reason, at in rows
        ]

    def _participant(self, saga_type: str, step: str) -> str:
        definition = self.runtime.sagas.definitions.get(saga_type)
        if definition is None or step not in definition.step_positions:
            return "unknown"
        return definition.step(step).participant


def _with_restarts(window: MetricWindow, counts: dict[str, int]) -> MetricWindow:
    return dataclasses.replace(window, actor_restarts=counts)


def _spent(record: IncidentRecord) -> str:
    return (
        f"{record.attempts} remediation attempt(s) made, the most {record.trigger} allows "
        f"({BOUNDS[record.trigger]}), and it still fires"
    )
