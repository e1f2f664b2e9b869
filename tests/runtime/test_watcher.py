"""The recursion loop on a real runtime: a trigger fires, the incident is diagnosed,
remediated, validated, and closed or escalated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from eva.assistant import Assistant
from runtime import (
    Actor,
    ActorFailedError,
    ActorStatus,
    ActorType,
    Backoff,
    ManualClock,
    Runtime,
    SagaStatus,
    StepCall,
    StepError,
    ThresholdError,
    Thresholds,
    Watcher,
    failure_suite_green,
    record_failure_suite,
    recursion_kpis,
)
from runtime.events import RuntimeEvent, Subscription
from runtime.observe import remedies
from runtime.observe.incidents import STREAM, IncidentRecord, records
from runtime.store.journal import NewEvent
from tests.conftest import Recorder, order_definition

THRESHOLDS = Thresholds()
VALIDATION = 60.0


def slow(clock: ManualClock, seconds: float) -> Callable[[StepCall], Awaitable[None]]:
    """A participant that answers after `seconds` of the test's clock."""

    async def script(call: StepCall) -> None:
        await clock.sleep(seconds)

    return script


def refuse(kind: str, retryable: bool = False) -> Callable[[StepCall], Awaitable[None]]:
    async def script(call: StepCall) -> None:
        raise StepError(f"{call.step} said no", kind=kind, retryable=retryable)

    return script


async def run(runtime: Runtime, clock: ManualClock) -> str:
    """Start an order and run it to its end, moving the clock to each wake-up."""
    saga_id = await runtime.start_saga("order", "acme")
    done = asyncio.ensure_future(runtime.wait_for([saga_id]))
    while not done.done():
        sleeping = asyncio.ensure_future(clock.until_sleeping())
        await asyncio.wait({done, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        sleeping.cancel()
        delay = clock.next_deadline(include_timeouts=True)
        if delay is not None:
            clock.advance(delay)
    return saga_id


async def run_many(runtime: Runtime, clock: ManualClock, times: int) -> list[SagaStatus]:
    """Run `times` orders one after the other, then let a second pass (a window
    ends before its end: the last saga must be in it)."""
    statuses = [(await runtime.get_saga(await run(runtime, clock))).status for _ in range(times)]
    clock.advance(1)
    return statuses


async def only(runtime: Runtime) -> IncidentRecord:
    found = await records(runtime)
    assert len(found) == 1, found
    return found[0]


async def journal_steps(runtime: Runtime) -> list[str]:
    await runtime.writer.barrier()
    return [e.type for e in await runtime.journal.read(STREAM)]


async def test_a_step_that_keeps_timing_out_gets_a_longer_timeout_that_survives_a_restart(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    recorder.behaviour["check"] = slow(clock, 7)  # its timeout is 5 s
    async with Runtime(
        db_url, clock=clock, seed=1, definitions=[order_definition()], participants=[shop]
    ) as rt:
        watcher = Watcher(rt, THRESHOLDS, validation_window=VALIDATION)
        assert set(await run_many(rt, clock, 11)) == {SagaStatus.ROLLED_BACK}

        opened = await watcher.tick()
        incident = await only(rt)
        assert opened == [incident.incident_id]
        assert (incident.trigger, incident.key, incident.status) == (
            "SAGA-001",
            "order",
            "remediated",
        )
        assert incident.diagnosis["dominant_step"] == "order/check"
        assert incident.diagnosis["dominant_error_class"] == "timeout"
        assert incident.remediation is not None
        assert incident.remediation["action"] == "raise_timeout"
        raised = rt.sagas.definitions["order"]
        assert (raised.version, raised.step("check").timeout) == (2, 10.0)

        # Not judged before the validation window has passed.
        assert await watcher.tick() == []
        assert set(await run_many(rt, clock, 2)) == {SagaStatus.COMPLETED}
        clock.advance(VALIDATION)
        assert await watcher.tick() == [incident.incident_id]
        closed = await only(rt)
        assert (closed.status, closed.outcome, closed.attempts) == ("closed", "remediated", 1)
        assert closed.closed_at == clock.now()
        assert await journal_steps(rt) == [
            "IncidentOpened",
            "IncidentDiagnosed",
            "RemediationApplied",
            "IncidentValidated",
            "IncidentClosed",
        ]
        # The failures it answered for do not open another incident.
        clock.advance(1)
        assert await watcher.tick() == []

        reply = await Assistant(rt).handle("show recursion incidents")
        assert reply.text.startswith("1 recursion incident")
        row = reply.rows[0]
        assert (row["trigger"], row["status"], row["attempts"]) == ("SAGA-001", "closed", 1)
        assert row["latest"] == "closed: remediated"
        texts = [e.data["text"] for e in await rt.journal.read(STREAM)]
        assert texts[2] == (
            "remediated: raised check timeout of order from 5 s to 10 s (definition version 2)"
        )

        kpis = await recursion_kpis(rt)
        assert kpis["incidents"] == kpis["closed"] == 1
        assert kpis["success_rate"] == 1.0
        assert kpis["false_positives"] == 0
        # The first saga timed out 10 sagas (5 s each) and a second before the window ended.
        assert kpis["mean_time_to_detect"] == pytest.approx(51.0)
        await watcher.close()

    async with Runtime(
        db_url, clock=clock, definitions=[order_definition()], participants=[shop]
    ) as again:
        kept = again.sagas.definitions["order"]
        assert (kept.version, kept.step("check").timeout) == (2, 10.0)
        again.register(order_definition())  # an older version does not undo the change
        assert again.sagas.definitions["order"].step("check").timeout == 10.0
        assert await again.verify_journal(STREAM) == 5


async def test_a_remediation_that_does_not_help_is_retried_to_the_bound_then_escalated(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    recorder.behaviour["check"] = slow(clock, 100)  # longer than any timeout it will get
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    await run_many(runtime, clock, 11)
    await watcher.tick()
    for attempt in (1, 2, 3):
        incident = await only(runtime)
        assert (incident.status, incident.attempts) == ("remediated", attempt)
        await run_many(runtime, clock, 1)  # still fails
        clock.advance(VALIDATION)
        await watcher.tick()
    escalated = await only(runtime)
    assert (escalated.status, escalated.attempts) == ("escalated", 3)
    assert escalated.outcome is not None
    assert "3 remediation attempt(s)" in escalated.outcome
    assert runtime.sagas.definitions["order"].step("check").timeout == 40.0
    steps = await journal_steps(runtime)
    assert steps.count("RemediationApplied") == 3
    assert steps.count("IncidentRetried") == 2
    assert steps[-1] == "IncidentEscalated"
    # A person has it now: the same failures do not open a new incident at once,
    # nor in a process started afterwards (its watcher reads what was escalated).
    await run_many(runtime, clock, 1)
    await watcher.tick()
    assert await Watcher(runtime, THRESHOLDS, validation_window=VALIDATION).tick() == []
    assert len(await records(runtime)) == 1
    reply = await Assistant(runtime).handle("show recursion incidents")
    assert "0 open, 1 escalated. The loop healed 0% of those it finished" in reply.text
    assert (await recursion_kpis(runtime))["success_rate"] == 0.0


async def test_a_dead_lettered_compensation_is_re_driven_and_the_incident_closes(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    recorder.behaviour["charge"] = refuse("rejected")
    recorder.behaviour["undo:reserve"] = refuse("transient", retryable=True)
    [status] = await run_many(runtime, clock, 1)
    assert status is SagaStatus.FAILED
    assert len(await runtime.dead_letters(unresolved=True, kind="compensation")) == 1
    del recorder.behaviour["undo:reserve"]  # the service behind the compensation is back

    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    await watcher.tick()
    incident = await only(runtime)
    assert (incident.trigger, incident.key, incident.status) == (
        "SAGA-002",
        "order/reserve",
        "remediated",
    )
    assert incident.remediation is not None
    assert incident.remediation["action"] == "redrive_compensations"
    await runtime.wait_settled()
    assert await runtime.dead_letters(unresolved=True, kind="compensation") == []

    clock.advance(VALIDATION)
    await watcher.tick()
    assert (await only(runtime)).status == "closed"


async def test_bad_thresholds_are_refused_and_the_runtime_keeps_working(
    runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    with pytest.raises(ThresholdError, match="success_rate_min"):
        Watcher(runtime, {"success_rate_min": 1.5})
    with pytest.raises(ThresholdError, match="restart_window"):
        Runtime(db_url, watch={"restart_window": -1})
    assert set(await run_many(runtime, clock, 1)) == {SagaStatus.COMPLETED}
    assert await runtime.watch_once() == []


async def test_a_remediation_that_raises_is_a_failed_attempt_and_the_watcher_goes_on(
    runtime: Runtime,
    clock: ManualClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder.behaviour["check"] = slow(clock, 7)
    await run_many(runtime, clock, 11)

    async def broken(*_: object, **__: object) -> remedies.Prepared:
        raise OSError("the settings disk is full")

    monkeypatch.setattr(remedies, "prepare", broken)
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    await watcher.tick()
    failed = await only(runtime)
    assert (failed.status, failed.attempts) == ("diagnosed", 1)
    assert failed.remediation is not None
    assert failed.remediation["error"] == "the settings disk is full"
    assert failed.last_step == "remediation failed: the settings disk is full"
    assert runtime.sagas.definitions["order"].version == 1

    monkeypatch.undo()
    clock.advance(1)
    await watcher.tick()  # the next tick tries again, and this time it takes
    retried = await only(runtime)
    assert (retried.status, retried.attempts) == ("remediated", 2)
    assert runtime.sagas.definitions["order"].step("check").timeout == 10.0
    assert await journal_steps(runtime) == [
        "IncidentOpened",
        "IncidentDiagnosed",
        "RemediationFailed",
        "RemediationApplied",
    ]


async def test_a_watching_runtime_ticks_on_its_own_clock(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    recorder.behaviour["check"] = slow(clock, 7)
    async with Runtime(
        db_url,
        clock=clock,
        definitions=[order_definition()],
        participants=[shop],
        watch=THRESHOLDS,
        watch_interval=100.0,  # past every saga below: it ticks when the test says
        maintenance_interval=None,
    ) as rt:
        assert rt.watcher is not None
        events = rt.events()
        for _ in range(11):
            saga_id = await rt.start_saga("order")
            await clock.until_sleeping(2)  # the watcher and the participant
            clock.advance(5)  # the step's timeout
            await rt.wait_for([saga_id])
        clock.advance(100 - 55)
        async with asyncio.timeout(10):  # a guard: the events come at once
            seen = [e async for e in _until(events, "RemediationApplied")]
        assert [e.type for e in seen] == [
            "IncidentOpened",
            "IncidentDiagnosed",
            "RemediationApplied",
        ]
        assert seen[0].kind == "incident"
        assert seen[0].data["trigger"] == "SAGA-001"
    assert rt.watcher is None


async def _until(events: Subscription, last: str) -> AsyncIterator[RuntimeEvent]:
    async for event in events:
        if event.kind == "incident":
            yield event
            if event.type == last:
                return


class Fragile(Actor):
    async def on_receive(self, message: Any) -> Any:
        if message.get("op") == "crash":
            raise ValueError("boom")
        return "ok"


async def test_an_actor_type_that_keeps_crashing_is_restarted_and_the_incident_closes(
    runtime: Runtime, clock: ManualClock
) -> None:
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    watcher.restarts.start()  # restarts are counted from live events
    for name in ("a", "b", "c"):
        await runtime.spawn(Fragile, name, ActorType.COMPLIANCE_CHECKER)
        for _ in range(2):  # within what the guardian allows one actor
            with pytest.raises(ActorFailedError):
                await runtime.ask(f"/{name}", {"op": "crash"})
    clock.advance(1)
    await watcher.tick()
    incident = await only(runtime)
    assert (incident.trigger, incident.key, incident.status) == (
        "SAGA-003",
        "compliance_checker",
        "remediated",
    )
    assert incident.last_step.startswith("remediated: restarted 3 compliance_checker actor(s)")
    assert await runtime.ask("/a", {"op": "hello"}) == "ok"

    clock.advance(VALIDATION)  # its own restarts are not held against it
    await watcher.tick()
    assert (await only(runtime)).status == "closed"
    await watcher.close()


async def test_an_incident_that_clears_before_any_change_took_closes_as_a_false_positive(
    runtime: Runtime,
    clock: ManualClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder.behaviour["check"] = slow(clock, 7)
    await run_many(runtime, clock, 11)

    async def broken(*_: object, **__: object) -> remedies.Prepared:
        raise OSError("the settings disk is full")

    monkeypatch.setattr(remedies, "prepare", broken)
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    await watcher.tick()
    del recorder.behaviour["check"]  # the slow service recovers by itself
    await run_many(runtime, clock, 1)
    clock.advance(VALIDATION)
    await watcher.tick()
    closed = await only(runtime)
    assert (closed.status, closed.outcome, closed.remediations_applied) == (
        "closed",
        "no remediation needed",
        0,
    )
    assert (await recursion_kpis(runtime))["false_positives"] == 1


async def test_the_failure_suite_verdict_is_the_last_run_recorded(runtime: Runtime) -> None:
    assert not await failure_suite_green(runtime)
    await record_failure_suite(runtime, True, {"kills": 3})
    assert await failure_suite_green(runtime)
    await record_failure_suite(runtime, False, {"kills": 3})
    assert not await failure_suite_green(runtime)


async def test_a_saga_type_whose_service_refuses_is_paused_until_the_chairman_resumes_it(
    db_url: str, clock: ManualClock, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    recorder.behaviour["check"] = refuse("rejected")
    async with Runtime(
        db_url, clock=clock, seed=1, definitions=[order_definition()], participants=[shop]
    ) as rt:
        watcher = Watcher(rt, THRESHOLDS, validation_window=VALIDATION)
        await run_many(rt, clock, 11)
        await watcher.tick()
        incident = await only(rt)
        assert (incident.trigger, incident.key, incident.status) == (
            "SAGA-001",
            "order",
            "escalated",
        )
        assert incident.remediation is not None
        assert incident.remediation["action"] == "pause_saga_type"
        assert incident.outcome == (
            "escalated: paused new order sagas; they wait as pending until the Chairman "
            "resumes them"
        )
        assert list(rt.paused_saga_types) == ["order"]
        assert await journal_steps(rt) == [
            "IncidentOpened",
            "IncidentDiagnosed",
            "RemediationApplied",
            "IncidentEscalated",
        ]
        held = await rt.start_saga("order", "acme")
        await rt.wait_settled()
        assert (await rt.get_saga(held)).status is SagaStatus.PENDING
    del recorder.behaviour["check"]  # the service is fixed
    async with Runtime(
        db_url, clock=clock, seed=1, definitions=[order_definition()], participants=[shop]
    ) as rt:
        assert list(rt.paused_saga_types) == ["order"]  # the change was committed
        reply = await Assistant(rt).handle("resume new order sagas")
        assert reply.text == "New order sagas start again; 1 pending saga started."
        await rt.wait_for([held])
        assert (await rt.get_saga(held)).status is SagaStatus.COMPLETED


async def _overtaken(
    runtime: Runtime,
    clock: ManualClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    meanwhile: Callable[[], Awaitable[object]],
) -> tuple[Watcher, IncidentRecord]:
    """A saga type the watcher pauses, with `meanwhile` run between working out the
    remediation and committing it; the watcher and the incident after its tick."""
    recorder.behaviour["check"] = refuse("rejected")
    await run_many(runtime, clock, 11)
    prepare = remedies.prepare

    async def interleaved(rt: Runtime, remediation: Any) -> remedies.Prepared:
        prepared = await prepare(rt, remediation)
        await meanwhile()
        return prepared

    monkeypatch.setattr(remedies, "prepare", interleaved)
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION)
    await watcher.tick()
    return watcher, await only(runtime)


async def test_a_remediation_overtaken_by_the_chairman_keeps_nothing(
    runtime: Runtime, clock: ManualClock, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Chairman closes all intake between the plan and its commit, so the plan's
    # intake event no longer extends the stream.
    _, incident = await _overtaken(
        runtime,
        clock,
        recorder,
        monkeypatch,
        lambda: runtime.pause_intake("Chairman: everything waits"),
    )
    assert (incident.status, incident.attempts) == ("diagnosed", 1)
    assert incident.last_step.startswith("remediation failed: stream 'intake' is at version 1")
    assert "RemediationApplied" not in await journal_steps(runtime)
    assert runtime.paused_saga_types == {}
    changes = [(e.type, e.data) for e in await runtime.journal.read("intake")]
    assert changes == [("IntakePaused", {"reason": "Chairman: everything waits"})]


async def test_a_remediation_whose_incident_step_fails_leaves_no_change_behind(
    runtime: Runtime,
    db_url: str,
    clock: ManualClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def another_watcher_writes() -> None:
        # A second process on the same database writes to the incidents stream,
        # so this one's step no longer extends it.
        async with Runtime(db_url, clock=clock, recover=False) as other:
            version = await other.journal.version(STREAM)
            await other.journal.append(STREAM, version, [NewEvent("IncidentNote", {})])

    watcher, failed = await _overtaken(
        runtime, clock, recorder, monkeypatch, another_watcher_writes
    )
    assert (failed.status, failed.attempts) == ("diagnosed", 1)
    assert failed.last_step.startswith(
        "remediation failed: stream 'incidents' is at version 3, not 2: another writer"
    )
    # The pause was to commit with the step: it is not in force, here or on disk.
    assert runtime.paused_saga_types == {}
    assert await runtime.journal.read("intake") == []
    assert "RemediationApplied" not in await journal_steps(runtime)
    monkeypatch.undo()
    clock.advance(1)
    await watcher.tick()  # the stream's head is read afresh, and the retry takes
    assert (await only(runtime)).status == "escalated"
    assert list(runtime.paused_saga_types) == ["order"]
    assert await runtime.verify_journal(STREAM) == 6


async def test_after_a_restart_storm_the_actor_type_backs_off_before_each_restart(
    db_url: str, clock: ManualClock
) -> None:
    async with Runtime(db_url, clock=clock) as rt:
        watcher = Watcher(rt, THRESHOLDS, validation_window=VALIDATION)
        watcher.restarts.start()
        for name in ("a", "b", "c"):
            await rt.spawn(Fragile, name, ActorType.COMPLIANCE_CHECKER)
            for _ in range(2):
                with pytest.raises(ActorFailedError):
                    await rt.ask(f"/{name}", {"op": "crash"})
        clock.advance(1)
        await watcher.tick()
        incident = await only(rt)
        assert incident.status == "remediated"
        assert incident.last_step == (
            "remediated: restarted 3 compliance_checker actor(s); from now on each waits 1 s "
            "before a restart, doubling up to 60 s"
        )
        await watcher.close()
    async with Runtime(db_url, clock=clock) as rt:
        # The backoff is configuration: it outlives the process that set it.
        assert rt.actors.restart_backoff == {ActorType.COMPLIANCE_CHECKER: Backoff(1.0, 2.0, 60.0)}
        await rt.spawn(Fragile, "a", ActorType.COMPLIANCE_CHECKER)
        await rt.spawn(Fragile, "x", ActorType.METRICS_COLLECTOR)
        for name in ("a", "x"):
            with pytest.raises(ActorFailedError):
                await rt.ask(f"/{name}", {"op": "crash"})
        assert await rt.ask("/x", {"op": "hello"}) == "ok"  # other types restart at once
        answer = asyncio.ensure_future(rt.ask("/a", {"op": "hello"}, timeout=30))
        await clock.until_sleeping()
        assert rt.actors.info("/a").status is ActorStatus.RECOVERING
        assert not answer.done()
        clock.advance(1)
        assert await answer == "ok"


async def test_a_day_of_consistent_operation_completes_the_stage_once_with_a_report(
    runtime: Runtime, clock: ManualClock
) -> None:
    """SAGA-004 from a real 24 h run on the test's clock: a saga every ten minutes,
    the watcher ticking after each, a consistency check every hour (as the watcher
    schedules them), and the failure suite's green verdict in the journal."""
    await record_failure_suite(runtime, True, {"kills": 3})
    watcher = Watcher(runtime, THRESHOLDS, validation_window=VALIDATION, consistency_every=None)
    fired_at: int | None = None
    for tick in range(150):
        if tick % 6 == 0:
            assert (await runtime.check_consistency()).score == 1.0
        if await watcher.tick():
            fired_at = fired_at if fired_at is not None else tick
        await run_many(runtime, clock, 1)
        clock.advance(600 - 1)
    assert fired_at == 144  # the first tick with 24 hours of consistent windows behind it
    [stage] = await records(runtime)
    assert (stage.trigger, stage.status, stage.outcome) == ("SAGA-004", "closed", "stage complete")
    report = stage.evidence
    assert report["windows"] == 144
    assert report["window"][1] - report["window"][0] == 86_400
    assert report["consistency_min"] == 1.0
    assert report["success_rate"] == 1.0
    assert report["ended"] == {"completed": 144}
    assert isinstance(report["suggestions"], list)
    reply = await Assistant(runtime).handle("show consistency verified incidents")
    assert reply.rows[0]["trigger"] == "SAGA-004"
    assert reply.data["completion_report"] == report
    assert reply.text.endswith(
        "The stage is complete: consistency stayed at or above 95.0% for 24 h (lowest "
        "100.0%), 100.0% of 144 sagas completed. Nothing stands out to optimise."
    )
