"""The incident record: each lifecycle step journaled with the row it keeps current,
published live, and counted in the recursion KPIs."""

from __future__ import annotations

import asyncio

import pytest

from runtime import ManualClock, Runtime, recursion_kpis
from runtime.events import RuntimeEvent
from runtime.observe.diagnosis import FailureRecord, diagnose
from runtime.observe.incidents import STREAM, IncidentLog, records, steps
from runtime.observe.playbook import Remediation
from runtime.observe.triggers import Firing


def firing() -> Firing:
    return Firing("SAGA-001", "all", "The last 11 sagas in a row were compensated.", {"n": 11})


def timeouts(n: int, at: float) -> list[FailureRecord]:
    return [
        FailureRecord(str(i), "order", "charge", "shop", "timeout", "timed out", at + i)
        for i in range(n)
    ]


RAISE = Remediation("raise_timeout", "order/charge", {"step": "charge"}, "most timed out")


async def test_each_step_is_journaled_with_its_row_and_published(
    runtime: Runtime, clock: ManualClock
) -> None:
    incidents = IncidentLog(runtime)
    live = runtime.events()
    start = clock.now()
    record = await incidents.open(firing(), detected_at=start, first_failure_at=start - 40)
    clock.advance(2)
    record = await incidents.diagnosed(record, diagnose(timeouts(5, start - 40)), "order")
    clock.advance(3)
    record = await incidents.remediated(record, RAISE, "raised charge timeout", {"after": 10})
    clock.advance(60)
    record = await incidents.validated(record, True, [start + 5, start + 65])
    record = await incidents.close(record, "remediated")

    [row] = await runtime.incidents()
    assert (row.trigger, row.status, row.attempts) == ("SAGA-001", "closed", 1)
    assert (row.opened_at, row.closed_at) == (start, start + 65)
    assert row.details["key"] == "order"
    assert row.details["last_step"] == "closed: remediated"
    assert [r.incident_id for r in await records(runtime)] == [row.incident_id]

    stored = (await steps(runtime))[row.incident_id]
    assert [e.type for e in stored] == [
        "IncidentOpened",
        "IncidentDiagnosed",
        "RemediationApplied",
        "IncidentValidated",
        "IncidentClosed",
    ]
    assert stored[2].data["text"] == "remediated: raised charge timeout"
    assert await runtime.journal.verify(STREAM) == 5

    published: list[RuntimeEvent] = []
    async with asyncio.timeout(5):  # a guard: they were published before this point
        async for event in live:
            if event.kind == "incident":
                published.append(event)
                if event.type == "IncidentClosed":
                    break
    assert [e.type for e in published] == [e.type for e in stored]
    assert {e.subject for e in published} == {row.incident_id}

    kpis = await recursion_kpis(runtime)
    assert kpis["mean_time_to_detect"] == pytest.approx(40.0)
    assert kpis["mean_time_to_diagnose"] == pytest.approx(2.0)
    assert kpis["mean_time_to_remediate"] == pytest.approx(5.0)
    assert (kpis["success_rate"], kpis["false_positives"], kpis["open"]) == (1.0, 0, 0)


async def test_a_failed_attempt_counts_and_escalation_ends_the_incident(
    runtime: Runtime, clock: ManualClock
) -> None:
    incidents = IncidentLog(runtime)
    record = await incidents.open(firing(), detected_at=clock.now(), first_failure_at=None)
    record = await incidents.remediation_failed(record, RAISE, "the disk is full")
    assert (record.status, record.attempts) == ("diagnosed", 1)
    assert record.remediation is not None
    assert record.remediation["error"] == "the disk is full"
    record = await incidents.escalate(record, "nothing more to try")
    assert record.final
    assert record.outcome == "escalated: nothing more to try"
    assert (await records(runtime, unfinished=True)) == []
    kpis = await recursion_kpis(runtime)
    assert (kpis["escalated"], kpis["success_rate"]) == (1, 0.0)


async def test_an_incident_closed_with_no_change_made_is_a_false_positive(
    runtime: Runtime, clock: ManualClock
) -> None:
    incidents = IncidentLog(runtime)
    record = await incidents.open(firing(), detected_at=clock.now(), first_failure_at=None)
    record = await incidents.validated(record, True, [clock.now(), clock.now() + 60])
    await incidents.close(record, "no remediation needed")
    kpis = await recursion_kpis(runtime)
    assert (kpis["false_positives"], kpis["success_rate"]) == (1, 1.0)
    assert kpis["mean_time_to_detect"] is None  # the failure time was not known


async def test_rows_the_actor_system_writes_are_not_recursion_incidents(
    runtime: Runtime,
) -> None:
    runtime.actors._record_incident(
        {"actor": "/flaky", "reason": "always", "error": "RuntimeError", "at": 1.0}
    )
    await runtime.writer.barrier()
    assert len(await runtime.incidents()) == 1
    assert await records(runtime) == []
    assert (await recursion_kpis(runtime))["incidents"] == 0
