"""The consistency validator: each kind of violation injected for real, found, named,
scored, and (where safe) repaired; a clean run scores 1.0."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from runtime import (
    ConsistencyReport,
    Faults,
    Holder,
    ManualClock,
    Runtime,
    SagaStatus,
    StepCall,
    Violation,
    ViolationKind,
    install_demo,
    run_demo,
)
from runtime.demo import DemoParticipant
from runtime.observe._repairs import Repairer
from runtime.observe.violations import STREAM, WEIGHTS, score
from runtime.sagas.projection import step_key
from runtime.store import schema
from tests.conftest import Recorder, order_definition
from tests.runtime.test_sagas import fail_with, hold

T = TypeVar("T")


async def drive(clock: ManualClock, work: Awaitable[T]) -> T:
    """Await `work`, moving the clock to each backoff as the sagas come to sleep on it."""
    task = asyncio.ensure_future(work)
    while not task.done():
        sleeping = asyncio.ensure_future(clock.until_sleeping())
        await asyncio.wait({task, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        sleeping.cancel()
        delay = clock.next_deadline()
        if delay is not None:
            clock.advance(delay)
    return task.result()


def kinds(report: ConsistencyReport) -> list[tuple[ViolationKind, str]]:
    return [(v.kind, v.subject) for v in report.violations]


async def dead_lettered_saga(runtime: Runtime, recorder: Recorder, clock: ManualClock) -> str:
    """An order saga whose "reserve" compensation failed past its retries."""
    recorder.behaviour["charge"] = fail_with("rejected", False)
    recorder.behaviour["undo:reserve"] = fail_with("transient", True)
    saga_id = await runtime.start_saga("order", "acme")
    await drive(clock, runtime.wait_for([saga_id]))
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.FAILED
    return saga_id


async def test_a_clean_demo_run_scores_one_and_the_check_is_journalled(
    runtime: Runtime, clock: ManualClock
) -> None:
    participants = await install_demo(runtime, Faults(failure_rate=0.3), seed=3)
    summary = await drive(clock, run_demo(runtime, sagas=40, seed=3))
    assert summary.rolled_back > 0  # compensations and ledger undos are in what is checked
    assert all(isinstance(p, Holder) for p in participants)
    report = await runtime.check_consistency()
    assert report.violations == []
    assert report.score == 1.0
    assert (report.sagas_checked, report.sagas_total) == (40, 40)
    held = [holding for p in participants for holding in await p.held()]
    assert held
    assert report.checked >= 40 + len(held)
    [event] = await runtime.journal.read(STREAM)
    assert event.type == "ConsistencyChecked"
    assert (event.data["score"], event.data["violations"]) == (1.0, {})


async def test_a_row_edited_behind_the_engines_back_disagrees_with_the_replay(
    runtime: Runtime,
) -> None:
    saga_id, other = await runtime.start_saga("order", "acme"), await runtime.start_saga("order")
    await runtime.wait_for([saga_id, other])
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(schema.saga_executions)
            .where(schema.saga_executions.c.saga_id == saga_id)
            .values(status="running", current_step=1)
        )
    report = await runtime.check_consistency()
    [violation] = report.violations
    assert (violation.kind, violation.subject) == (
        ViolationKind.READ_MODEL_MISMATCH,
        f"saga {saga_id}",
    )
    assert "status is 'running', the journal says 'completed'" in violation.detail
    assert "current_step is 1, the journal says 4" in violation.detail
    assert not violation.repairable
    assert report.score < 1.0


async def test_a_corrupt_row_is_a_violation_not_a_crash(runtime: Runtime) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(schema.saga_executions)
            .where(schema.saga_executions.c.saga_id == saga_id)
            .values(definition="{not json", version=999, saga_type="refund")
        )
    report = await runtime.check_consistency()
    [violation] = report.violations
    assert violation.kind is ViolationKind.READ_MODEL_MISMATCH
    for column in ("definition", "version is 999", "saga_type is 'refund'"):
        assert column in violation.detail


async def test_a_saga_whose_row_was_deleted_is_named_by_its_journal_stream(
    runtime: Runtime,
) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    async with runtime.engine.begin() as conn:
        for table in (
            schema.saga_step_executions,
            schema.transaction_participants,
            schema.saga_executions,
        ):
            await conn.execute(sa.delete(table).where(table.c.saga_id == saga_id))
    report = await runtime.check_consistency()
    assert kinds(report) == [(ViolationKind.READ_MODEL_MISMATCH, f"saga {saga_id}")]
    assert report.violations[0].detail == "its journal stream has no saga_executions row"


async def test_a_dead_lettered_compensation_is_named_and_repair_redrives_it(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    saga_id = await dead_lettered_saga(runtime, recorder, clock)
    report = await runtime.check_consistency()
    [violation] = report.violations
    assert (violation.kind, violation.subject) == (
        ViolationKind.COMPENSATION_DEAD_LETTERED,
        f"saga {saga_id}, step reserve",
    )
    assert violation.repairable
    assert "gave up after 5 attempt(s)" in violation.detail
    assert report.score == 1.0 - 1 / report.checked
    assert report.repaired == []

    del recorder.behaviour["undo:reserve"]  # the cause is fixed
    repaired = await runtime.check_consistency(repair=True)
    assert repaired.violations == report.violations  # as found, before repairing
    [repair] = repaired.repaired
    assert repair.ok
    assert repair.action == f"force compensation on saga {saga_id}"
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.ROLLED_BACK
    assert "consistency repair" in (state.reason or "")
    after = await runtime.check_consistency()
    assert after.violations == []
    assert after.score == 1.0
    events = await runtime.journal.read(STREAM)
    assert [e.type for e in events] == [
        "ConsistencyChecked",
        "ConsistencyChecked",
        "ConsistencyRepaired",
        "ConsistencyChecked",
    ]
    assert events[2].data["saga_id"] == saga_id
    assert events[2].data["ok"] is True


async def test_an_orphaned_demo_reservation_is_found_and_released(runtime: Runtime) -> None:
    participants = {p.name: p for p in await install_demo(runtime, Faults())}
    saga_id = await runtime.start_saga("venture_onboarding", "acme")
    await runtime.wait_settled()  # validated, budget held, waiting for the compliance approval
    await runtime.force_compensation(saga_id, "the venture withdrew")
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.ROLLED_BACK
    assert (await runtime.check_consistency()).violations == []
    # A compliance check that hung, answered after the saga had rolled back: its
    # effect lands in the ledger with nothing left to undo it.
    compliance: DemoParticipant = participants["compliance"]
    await compliance.perform(
        StepCall(
            saga_id,
            "venture_onboarding",
            "acme",
            "compliance_check",
            "check",
            step_key(saga_id, "compliance_check"),
            1,
            {},
        )
    )
    report = await runtime.check_consistency()
    [violation] = report.violations
    assert (violation.kind, violation.subject, violation.repairable) == (
        ViolationKind.ORPHANED_RESERVATION,
        f"saga {saga_id}, step compliance_check",
        True,
    )
    assert violation.detail.startswith("compliance holds check at compliance for a saga that is")
    assert report.score < 1.0

    repaired = await runtime.check_consistency(repair=True)
    [repair] = repaired.repaired
    assert (repair.action, repair.outcome, repair.ok) == (
        "revoke_check at compliance",
        "released",
        True,
    )
    assert [s for s, _, _ in await compliance.held() if s == saga_id] == []
    assert (await runtime.check_consistency()).violations == []


async def test_a_saga_past_its_deadline_is_stuck_and_repair_leaves_it_running(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    entered, gate = hold(recorder, "check")
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition(deadline=2)], participants=[shop]
    ) as rt:
        saga_id = await rt.start_saga("order", "acme")
        await entered.wait()
        clock.advance(3)  # past the deadline, within the step's 5 s timeout
        before = await rt.get_saga(saga_id)
        report = await rt.check_consistency(repair=True)
        [violation] = report.violations
        assert (violation.kind, violation.subject, violation.repairable) == (
            ViolationKind.STUCK_PAST_DEADLINE,
            f"saga {saga_id}",
            False,
        )
        assert "running 1 s past its deadline; it runs in this process" in violation.detail
        assert report.score == 1.0 - WEIGHTS[ViolationKind.STUCK_PAST_DEADLINE] / report.checked
        assert report.repaired == []
        assert await rt.get_saga(saga_id) == before
        assert recorder.steps("undo") == []
        gate.set()
        await rt.wait_for([saga_id])
        assert (await rt.get_saga(saga_id)).status is SagaStatus.ROLLED_BACK
        assert (await rt.check_consistency()).violations == []


async def test_a_stale_report_never_gets_a_running_saga_repaired(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    saga_id = await dead_lettered_saga(runtime, recorder, clock)
    del recorder.behaviour["undo:reserve"]
    stale = await runtime.check_consistency()
    entered, gate = hold(recorder, "undo:reserve")
    await runtime.force_compensation(saga_id, "the Chairman got there first")
    await entered.wait()
    [repair] = await Repairer(runtime).run(stale.violations)
    assert (repair.ok, repair.outcome) == (False, "left alone: the saga is running")
    gate.set()
    await runtime.wait_for([saga_id])
    assert recorder.steps("undo").count("reserve") == 6  # 5 that failed, the Chairman's 1


async def test_a_tampered_event_and_decision_are_broken_chains_not_crashes(
    runtime: Runtime,
) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    await runtime.decisions.record(intent="pause_intake", slots={}, text="pause intake", call="x")
    async with runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(schema.events)
            .where(schema.events.c.stream_id == f"saga-{saga_id}", schema.events.c.version == 1)
            .values(data=sa.func.replace(schema.events.c.data, "acme", "evil"))
        )
        await conn.execute(
            sa.update(schema.chairman_decisions).values(
                record=sa.func.replace(schema.chairman_decisions.c.record, "pause", "erase")
            )
        )
    report = await runtime.check_consistency()
    assert kinds(report) == [
        (ViolationKind.BROKEN_CHAIN, f"saga {saga_id}"),
        (ViolationKind.BROKEN_CHAIN, "the decision log"),
    ]
    assert "content was changed" in report.violations[0].detail
    assert report.score < 1.0


async def test_an_unfinished_saga_of_an_unregistered_type_is_named(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as rt:
        await rt.pause_intake()
        saga_id = await rt.start_saga("order", "acme")
    async with Runtime(db_url, clock=clock, participants=[shop]) as rt:
        report = await rt.check_consistency()
    assert kinds(report) == [(ViolationKind.UNKNOWN_SAGA_TYPE, f"saga {saga_id}")]
    assert "of type 'order', which is not registered here" in report.violations[0].detail


async def test_a_bounded_check_says_how_many_sagas_it_sampled(runtime: Runtime) -> None:
    ids = [await runtime.start_saga("order", "acme") for _ in range(5)]
    await runtime.wait_for(ids)
    report = await runtime.check_consistency(max_sagas=2)
    assert (report.sagas_checked, report.sagas_total) == (2, 5)
    assert report.score == 1.0


_violations = st.lists(
    st.builds(Violation, st.sampled_from(list(ViolationKind)), st.just("x"), st.just("y"))
)


@given(_violations, st.integers(min_value=0, max_value=10_000))
def test_the_score_is_a_fraction_that_only_violations_lower(
    violations: list[Violation], checked: int
) -> None:
    value = score(violations, checked)
    assert 0.0 <= value <= 1.0
    assert (value == 1.0) == (not violations)
    worse = score([*violations, Violation(ViolationKind.BROKEN_CHAIN, "x", "y")], checked)
    assert worse <= value
    if checked and not violations:
        assert worse == max(0.0, 1.0 - 1.0 / checked)
