"""The executor, end to end on a real SQLite file, with a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from runtime import (
    IllegalTransitionError,
    ManualClock,
    Runtime,
    SagaStatus,
    StepCall,
    StepError,
    StepStatus,
    UnknownSagaError,
    UnknownSagaTypeError,
)
from runtime.store import schema
from tests.conftest import Recorder, order_definition


def fail_with(
    kind: str, retryable: bool, times: int = 10**9
) -> Callable[[StepCall], Awaitable[None]]:
    remaining = [times]

    async def script(call: StepCall) -> None:
        if remaining[0] > 0:
            remaining[0] -= 1
            raise StepError(f"{call.step} said no", kind=kind, retryable=retryable)

    return script


def hold(recorder: Recorder, step: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Make `step` wait: the first event is set when it starts, it goes on when the second is."""
    entered, gate = asyncio.Event(), asyncio.Event()

    async def slow(call: StepCall) -> None:
        entered.set()
        await gate.wait()

    recorder.behaviour[step] = slow
    return entered, gate


async def start_held(runtime: Runtime, recorder: Recorder) -> tuple[str, asyncio.Event]:
    """Start an order saga and hold it in its "check" step; set the event to let it go on."""
    entered, gate = hold(recorder, "check")
    saga_id = await runtime.start_saga("order", "acme")
    await entered.wait()
    return saga_id, gate


async def test_a_saga_runs_every_step_in_order_and_completes(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id = await runtime.start_saga("order", "acme", {"sku": "x"})
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.COMPLETED
    assert recorder.steps("do") == ["reserve", "check", "charge", "confirm"]
    assert recorder.steps("undo") == []
    assert all(s.status is StepStatus.COMPLETED for s in state.steps)


async def test_every_transition_is_in_the_journal_and_the_read_model_agrees(
    runtime: Runtime,
) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    events = await runtime.journal.read(f"saga-{saga_id}")
    assert [e.type for e in events] == [
        "SagaCreated",
        "SagaStarted",
        "StepStarted",
        "StepCompleted",
        "StepStarted",
        "StepCompleted",
        "StepStarted",
        "StepCompleted",
        "StepStarted",
        "StepCompleted",
        "SagaCompleted",
    ]
    [row] = await runtime.query_sagas(status="completed")
    assert (row.saga_id, row.saga_type, row.venture) == (saga_id, "order", "acme")
    assert row.steps_done == row.total_steps == 4
    assert await runtime.verify_journal() == len(events)


async def test_a_rejected_step_compensates_completed_steps_in_reverse_order(
    runtime: Runtime, recorder: Recorder
) -> None:
    recorder.behaviour["charge"] = fail_with("rejected", False)
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.ROLLED_BACK
    assert recorder.steps("undo") == ["check", "reserve"]
    assert "charge failed" in (state.reason or "")


async def test_retries_use_the_same_idempotency_key_and_wait_the_backoff(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    recorder.behaviour["reserve"] = fail_with("transient", True, times=2)
    saga_id = await runtime.start_saga("order", "acme")
    for _ in range(2):
        await clock.until_sleeping()
        delay = clock.next_deadline()
        assert delay is not None
        assert 0 < delay <= 5
        clock.advance(delay)
    await runtime.wait_for([saga_id])
    keys = {key for kind, step, key in recorder.calls if step == "reserve"}
    assert recorder.steps("do").count("reserve") == 3
    assert keys == {f"saga-{saga_id}/reserve"}
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.COMPLETED
    assert state.step("reserve").attempts == 3


async def test_a_step_that_hangs_past_its_timeout_fails_and_the_saga_rolls_back(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    entered = asyncio.Event()

    async def hang(call: StepCall) -> None:
        entered.set()
        await asyncio.Event().wait()

    recorder.behaviour["check"] = hang
    saga_id = await runtime.start_saga("order", "acme")
    await entered.wait()
    await clock.until_sleeping(include_timeouts=True)
    clock.advance(5.0)
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.ROLLED_BACK
    assert "timed out after 5s" in (state.step("check").error or "")
    assert recorder.steps("undo") == ["check", "reserve"]


async def test_a_failing_retriable_step_leaves_the_saga_failed_and_retry_step_finishes_it(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    recorder.behaviour["confirm"] = fail_with("rejected", False, times=1)
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert recorder.steps("undo") == []  # past the pivot nothing is compensated
    with pytest.raises(IllegalTransitionError, match="it is failed; only running"):
        await runtime.cancel_saga(saga_id)
    state = await runtime.retry_step(saga_id, reason="the order desk is back")
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.COMPLETED


async def test_pause_takes_effect_at_the_next_step_boundary_and_resume_continues(
    runtime: Runtime, recorder: Recorder
) -> None:
    entered, gate = hold(recorder, "check")
    saga_id = await runtime.start_saga("order", "acme")
    await entered.wait()
    state = await runtime.pause_saga(saga_id, "checking with finance")
    assert state.status is SagaStatus.PAUSED
    gate.set()
    await runtime.wait_settled()
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.PAUSED
    assert state.step("check").status is StepStatus.COMPLETED
    assert "charge" not in recorder.steps("do")
    await runtime.resume_saga(saga_id)
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.COMPLETED


async def test_abort_compensates_what_completed_and_ends_cancelled(
    runtime: Runtime, recorder: Recorder
) -> None:
    entered, gate = hold(recorder, "check")
    saga_id = await runtime.start_saga("order", "acme")
    await entered.wait()
    state = await runtime.cancel_saga(saga_id, "the customer withdrew")
    assert state.status is SagaStatus.COMPENSATING
    gate.set()
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.CANCELLED
    assert state.decision == "ABORT"
    assert recorder.steps("undo") == ["check", "reserve"]
    assert "charge" not in recorder.steps("do")


async def test_abort_is_refused_past_the_pivot(runtime: Runtime, recorder: Recorder) -> None:
    entered, gate = hold(recorder, "confirm")
    saga_id = await runtime.start_saga("order", "acme")
    await entered.wait()
    with pytest.raises(IllegalTransitionError, match="past its pivot step 'charge'"):
        await runtime.cancel_saga(saga_id, "too late")
    with pytest.raises(IllegalTransitionError, match="past its pivot"):
        await runtime.force_compensation(saga_id)
    gate.set()
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.COMPLETED


async def test_illegal_controls_are_refused_and_change_nothing(runtime: Runtime) -> None:
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    before = await runtime.journal.read(f"saga-{saga_id}")
    with pytest.raises(
        IllegalTransitionError, match=f"cannot resume saga {saga_id}: it is completed"
    ):
        await runtime.resume_saga(saga_id)
    for control in (
        runtime.pause_saga,
        runtime.cancel_saga,
        runtime.approve_saga,
        runtime.force_compensation,
    ):
        with pytest.raises(IllegalTransitionError):
            await control(saga_id, "")
    assert await runtime.journal.read(f"saga-{saga_id}") == before


async def test_unknown_saga_ids_and_types_get_errors_that_say_what_to_do(
    runtime: Runtime,
) -> None:
    with pytest.raises(UnknownSagaError, match="no saga has id '999'; list sagas"):
        await runtime.pause_saga("999")
    with pytest.raises(UnknownSagaError):
        await runtime.get_saga("999")
    with pytest.raises(UnknownSagaTypeError, match="known types: order"):
        await runtime.start_saga("refund", "acme")


async def test_a_stuck_compensation_is_dead_lettered_and_force_compensation_redrives_it(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    recorder.behaviour["charge"] = fail_with("rejected", False)
    recorder.behaviour["undo:reserve"] = fail_with("transient", True)
    saga_id = await runtime.start_saga("order", "acme")
    task = asyncio.ensure_future(runtime.wait_for([saga_id]))
    while not task.done():
        await asyncio.wait(
            {task, asyncio.ensure_future(clock.until_sleeping())},
            return_when=asyncio.FIRST_COMPLETED,
        )
        delay = clock.next_deadline()
        if delay is not None:
            clock.advance(delay)
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert "dead-letter queue" in (state.reason or "")
    assert recorder.steps("undo").count("reserve") == 5  # compensation_retry default
    [letter] = await runtime.dead_letters(unresolved=True)
    assert (letter.saga_id, letter.step_name, letter.kind) == (saga_id, "reserve", "compensation")

    del recorder.behaviour["undo:reserve"]
    state = await runtime.force_compensation(saga_id, "supplier cancelled")
    await runtime.wait_for([saga_id])
    state = await runtime.get_saga(saga_id)
    assert state.status is SagaStatus.ROLLED_BACK
    assert state.decision == "FORCE_COMPENSATION"
    assert await runtime.dead_letters(unresolved=True) == []


async def test_a_step_needing_approval_waits_for_the_chairman(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    base = order_definition()
    steps = [s.model_copy(update={"requires_approval": s.name == "charge"}) for s in base.all_steps]
    definition = base.model_copy(update={"steps": steps})
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(db_url, clock=clock, definitions=[definition], participants=[shop]) as rt:
        saga_id = await rt.start_saga("order", "acme")
        await rt.wait_settled()
        state = await rt.get_saga(saga_id)
        assert state.status is SagaStatus.WAITING_APPROVAL
        assert recorder.steps("do") == ["reserve", "check"]
        await rt.approve_saga(saga_id, "numbers look right")
        await rt.wait_for([saga_id])
        state = await rt.get_saga(saga_id)
        assert state.status is SagaStatus.COMPLETED
        assert state.decision == "CONTINUE"


async def test_paused_intake_queues_new_sagas_as_pending_and_resuming_starts_them_all(
    runtime: Runtime, recorder: Recorder
) -> None:
    await runtime.pause_intake("maintenance window")
    ids = [await runtime.start_saga("order", "acme") for _ in range(3)]
    await runtime.wait_settled()
    assert {(await runtime.get_saga(i)).status for i in ids} == {SagaStatus.PENDING}
    assert recorder.calls == []
    assert await runtime.resume_intake() == 3
    await runtime.wait_for(ids)
    assert {(await runtime.get_saga(i)).status for i in ids} == {SagaStatus.COMPLETED}


async def test_paused_intake_survives_a_restart_and_pending_sagas_start_when_it_resumes(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as rt:
        await rt.pause_intake()
        saga_id = await rt.start_saga("order", "acme")
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as rt:
        assert rt.intake_paused
        await rt.wait_settled()
        assert (await rt.get_saga(saga_id)).status is SagaStatus.PENDING
        await rt.resume_intake()
        await rt.wait_for([saga_id])
        assert (await rt.get_saga(saga_id)).status is SagaStatus.COMPLETED


async def test_pausing_one_saga_type_holds_only_its_new_sagas_across_restarts(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    definitions = [order_definition(), order_definition(name="refund")]
    async with Runtime(db_url, clock=clock, definitions=definitions, participants=[shop]) as rt:
        await rt.pause_intake("the card gateway is down", saga_type="order")
        held = await rt.start_saga("order", "acme")
        refund = await rt.start_saga("refund", "acme")
        await rt.wait_for([refund])
        assert (await rt.get_saga(refund)).status is SagaStatus.COMPLETED
        assert (await rt.get_saga(held)).status is SagaStatus.PENDING
        assert rt.paused_saga_types == {"order": "the card gateway is down"}
        assert not rt.intake_paused
    async with Runtime(db_url, clock=clock, definitions=definitions, participants=[shop]) as rt:
        await rt.wait_settled()
        assert (await rt.get_saga(held)).status is SagaStatus.PENDING
        # Opening the whole intake leaves the type's own pause alone.
        await rt.pause_intake()
        assert await rt.resume_intake() == 0
        assert rt.paused_saga_types == {"order": "the card gateway is down"}
        assert await rt.resume_intake("gateway back", saga_type="order") == 1
        await rt.wait_for([held])
        assert (await rt.get_saga(held)).status is SagaStatus.COMPLETED
        assert rt.paused_saga_types == {}
        changes = [(e.type, e.data) for e in await rt.journal.read("intake")]
    assert changes == [
        ("IntakePaused", {"reason": "the card gateway is down", "saga_type": "order"}),
        ("IntakePaused", {"reason": ""}),
        ("IntakeResumed", {"reason": ""}),
        ("IntakeResumed", {"reason": "gateway back", "saga_type": "order"}),
    ]


async def test_pausing_an_unknown_saga_type_is_refused_and_changes_nothing(
    runtime: Runtime,
) -> None:
    with pytest.raises(UnknownSagaTypeError, match="ordr"):
        await runtime.pause_intake(saga_type="ordr")
    assert runtime.paused_saga_types == {}
    assert await runtime.journal.read("intake") == []


async def test_a_saga_past_its_deadline_before_the_pivot_compensates(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    recorder.behaviour["reserve"] = fail_with("transient", True, times=1)
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition(deadline=0.01)], participants=[shop]
    ) as rt:
        saga_id = await rt.start_saga("order", "acme")
        await clock.until_sleeping()
        clock.advance(1.0)
        await rt.wait_for([saga_id])
        state = await rt.get_saga(saga_id)
        assert state.status is SagaStatus.ROLLED_BACK
        assert state.reason == "the saga passed its deadline"
        assert recorder.steps("undo") == ["reserve"]


async def test_parallel_steps_all_run_and_are_all_compensated(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    definition = order_definition(
        steps=[
            {
                "parallel": [
                    {
                        "name": "reserve",
                        "participant": "shop",
                        "action": "reserve",
                        "compensation": "release",
                    },
                    {
                        "name": "check",
                        "participant": "shop",
                        "action": "check",
                        "compensation": "uncheck",
                    },
                ]
            },
            {
                "name": "charge",
                "participant": "shop",
                "action": "charge",
                "kind": "pivot",
                "retry": {"max_attempts": 1},
            },
        ]
    )
    shop = recorder.participant("shop", ["reserve", "check", "charge"])
    recorder.behaviour["charge"] = fail_with("rejected", False)
    async with Runtime(db_url, clock=clock, definitions=[definition], participants=[shop]) as rt:
        saga_id = await rt.start_saga("order", "acme")
        await rt.wait_for([saga_id])
        assert (await rt.get_saga(saga_id)).status is SagaStatus.ROLLED_BACK
    assert sorted(recorder.steps("do")[:2]) == ["check", "reserve"]
    assert sorted(recorder.steps("undo")) == ["check", "reserve"]


async def test_queries_filter_by_status_time_window_type_and_venture(
    runtime: Runtime, recorder: Recorder, clock: ManualClock
) -> None:
    old = await runtime.start_saga("order", "acme")
    await runtime.wait_for([old])
    clock.advance(2 * 86400)
    recorder.behaviour["charge"] = fail_with("rejected", False)
    failed = await runtime.start_saga("order", "globex")
    await runtime.wait_for([failed])
    day = 86400
    assert [s.saga_id for s in await runtime.query_sagas(since_seconds=day)] == [failed]
    assert [s.saga_id for s in await runtime.query_sagas(status="completed")] == [old]
    failures = await runtime.query_sagas(
        status=["failed", "rolled_back", "compensating"], since_seconds=day
    )
    assert [s.saga_id for s in failures] == [failed]
    assert [s.saga_id for s in await runtime.query_sagas(venture="acme")] == [old]
    assert len(await runtime.query_sagas(saga_type="order")) == 2
    assert await runtime.query_sagas(saga_type="refund") == []


async def test_live_events_report_each_committed_transition(runtime: Runtime) -> None:
    subscription = runtime.events()
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga_id])
    subscription.close()
    seen = [(e.type, e.data["status"]) async for e in subscription if e.subject == saga_id]
    assert seen[0] == ("SagaCreated", "running")
    assert seen[-1] == ("SagaCompleted", "completed")


async def test_a_broken_hash_chain_is_reported_and_the_saga_is_not_run(
    db_url: str, clock: ManualClock, recorder: Recorder, runtime: Runtime
) -> None:
    await runtime.pause_intake()
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.close()
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(schema.events)
            .where(schema.events.c.stream_id == f"saga-{saga_id}", schema.events.c.version == 1)
            .values(data=sa.func.replace(schema.events.c.data, "acme", "evil"))
        )
    await engine.dispose()
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as rt:
        await rt.resume_intake()
        assert saga_id in rt.sagas.quarantined
        from runtime import IntegrityError

        with pytest.raises(IntegrityError, match="content was changed; restore"):
            await rt.get_saga(saga_id)
        with pytest.raises(IntegrityError):
            await rt.verify_journal()
    assert recorder.calls == []


async def test_long_sagas_are_snapshotted_and_load_the_same_from_the_snapshot(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    recorder.behaviour["reserve"] = fail_with("transient", True, times=2)
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop], snapshot_every=4
    ) as rt:
        saga_id = await rt.start_saga("order", "acme")
        for _ in range(2):
            await clock.until_sleeping()
            clock.advance(clock.next_deadline() or 0)
        await rt.wait_for([saga_id])
        live = await rt.get_saga(saga_id)
        snapshot = await rt.journal.load_snapshot(f"saga-{saga_id}")
        assert snapshot is not None
        assert snapshot[0] % 4 == 0
    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as rt:
        assert await rt.get_saga(saga_id) == live
        assert live.status is SagaStatus.COMPLETED
