"""Metric windows measured from a real runtime, and the Prometheus endpoint scraped over HTTP."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime import (
    Actor,
    ActorFailedError,
    ActorType,
    ManualClock,
    Runtime,
    SagaStatus,
    StepCall,
    StepError,
)
from runtime.observe.metrics import RestartLog, measure, window_data
from runtime.observe.prometheus import MetricsExporter, MetricsPortError
from runtime.observe.thresholds import load_thresholds
from runtime.observe.windows import Percentiles
from tests.conftest import Recorder, order_definition


def refuse(
    kind: str = "rejected", retryable: bool = False
) -> Callable[[StepCall], Awaitable[None]]:
    async def script(call: StepCall) -> None:
        raise StepError(f"{call.step} said no", kind=kind, retryable=retryable)

    return script


async def run(runtime: Runtime, clock: ManualClock, saga_type: str = "order") -> str:
    """Start a saga and run it to its end, moving the clock through its backoffs."""
    saga_id = await runtime.start_saga(saga_type, "acme")
    done = asyncio.ensure_future(runtime.wait_for([saga_id]))
    while not done.done():
        sleeping = asyncio.ensure_future(clock.until_sleeping())
        await asyncio.wait({done, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        sleeping.cancel()
        delay = clock.next_deadline()
        if delay is not None:
            clock.advance(delay)
    return saga_id


async def succeed(runtime: Runtime, clock: ManualClock, times: int = 1) -> None:
    for _ in range(times):
        await run(runtime, clock)


async def roll_back(runtime: Runtime, clock: ManualClock, recorder: Recorder) -> str:
    """A saga whose pivot refuses: its two compensable steps are undone."""
    recorder.behaviour["charge"] = refuse()
    try:
        saga_id = await run(runtime, clock)
    finally:
        del recorder.behaviour["charge"]
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.ROLLED_BACK
    return saga_id


async def fail_compensating(runtime: Runtime, clock: ManualClock, recorder: Recorder) -> str:
    """A saga whose rollback cannot undo `reserve`: dead-lettered, the saga failed."""
    recorder.behaviour["charge"] = refuse()
    recorder.behaviour["undo:reserve"] = refuse("transient", retryable=True)
    try:
        saga_id = await run(runtime, clock)
    finally:
        del recorder.behaviour["charge"], recorder.behaviour["undo:reserve"]
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.FAILED
    return saga_id


async def test_a_window_counts_what_ended_and_started_in_it_and_nothing_else(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    began = clock.now()
    await succeed(runtime, clock, 3)
    clock.advance(30)
    await roll_back(runtime, clock, recorder)

    # [start, end): a saga ending at the very end of a window belongs to the next.
    assert (await measure(runtime, window=60, now=began + 30)).ended == {"completed": 3}

    clock.advance(1)
    w = await measure(runtime, window=60)
    assert (w.start, w.end) == (began - 29, began + 31)
    assert w.ended == {"completed": 3, "rolled_back": 1}
    assert w.started == 4
    assert w.success_rate == 0.75
    assert w.throughput == pytest.approx(4 / 60)
    assert w.compensations == 2  # check and reserve undone
    assert w.compensation_failures == 0
    assert w.saga_latency["order"].count == 3

    clock.advance(30)  # the window starts a second after the first three ended
    moved = await measure(runtime, window=60)
    assert (moved.ended, moved.started, moved.compensations) == ({"rolled_back": 1}, 1, 2)
    assert moved.success_rate == 0.0
    assert moved.saga_latency == {}

    clock.advance(60)
    empty = await measure(runtime, window=60)
    assert (empty.ended, empty.started, empty.compensations) == ({}, 0, 0)
    assert empty.success_rate is None
    assert empty.saga_latency == {}
    assert empty.step_latency == {}
    assert (await measure(runtime, window=300)).ended == {"completed": 3, "rolled_back": 1}


async def test_consecutive_compensations_count_the_latest_run_of_compensated_sagas(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    async def streak() -> int:
        clock.advance(1)
        return (await measure(runtime, window=60)).consecutive_compensations

    await succeed(runtime, clock)
    assert await streak() == 0
    await roll_back(runtime, clock, recorder)
    clock.advance(1)
    await roll_back(runtime, clock, recorder)
    assert await streak() == 2
    await fail_compensating(runtime, clock, recorder)  # failed while compensating: counts
    assert await streak() == 3
    await runtime.pause_intake()
    queued = await runtime.start_saga("order", "acme")
    await runtime.cancel_saga(queued, "not now")  # the Chairman's decision: no break
    await runtime.resume_intake()
    assert await streak() == 3

    clock.advance(1000)  # the run is counted however far back it began
    assert (await measure(runtime, window=5)).consecutive_compensations == 3

    recorder.behaviour["confirm"] = refuse()  # failed after the pivot: no compensation
    await run(runtime, clock)
    del recorder.behaviour["confirm"]
    assert await streak() == 0
    await roll_back(runtime, clock, recorder)
    assert await streak() == 1
    await succeed(runtime, clock)
    assert await streak() == 0


async def test_saga_and_step_latencies_are_per_saga_type_and_step(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    runtime.register(order_definition(name="refund"))
    pauses = iter([0.25, 0.5, 2.0])

    async def slow_check(call: StepCall) -> None:
        await clock.sleep(next(pauses))

    recorder.behaviour["check"] = slow_check
    await run(runtime, clock)
    await run(runtime, clock)
    await run(runtime, clock, "refund")
    clock.advance(1)

    w = await measure(runtime, window=60)
    assert set(w.step_latency) == {
        (saga_type, step)
        for saga_type in ("order", "refund")
        for step in ("reserve", "check", "charge", "confirm")
    }
    # Nearest-rank percentiles of 250 and 500 ms.
    assert w.step_latency[("order", "check")] == Percentiles(500.0, 500.0, 500.0, 2)
    assert w.step_latency[("order", "reserve")] == Percentiles(0.0, 0.0, 0.0, 2)
    assert w.step_latency[("refund", "check")] == Percentiles(2000.0, 2000.0, 2000.0, 1)
    assert w.saga_latency["order"] == Percentiles(500.0, 500.0, 500.0, 2)
    assert w.saga_latency["refund"].p99 == 2000.0

    # Steps count by their own end: the refund's reserve ended 2 s before its other steps.
    clock.advance(58)
    late = await measure(runtime, window=60)
    assert set(late.step_latency) == {("refund", s) for s in ("check", "charge", "confirm")}
    assert set(late.saga_latency) == {"refund"}


async def test_dead_lettered_compensations_are_failures_and_dead_letters_until_resolved(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    saga_id = await fail_compensating(runtime, clock, recorder)
    clock.advance(1)
    w = await measure(runtime, window=60)
    assert (w.compensations, w.compensation_failures) == (2, 1)
    assert (w.dead_letters, w.dead_letters_before) == (1, 0)

    clock.advance(100)
    later = await measure(runtime, window=60)
    assert (later.compensation_failures, later.dead_letters, later.dead_letters_before) == (0, 1, 1)

    await runtime.force_compensation(saga_id, "the supplier took it back")
    await runtime.wait_for([saga_id])
    clock.advance(1)
    resolved = await measure(runtime, window=60)
    assert resolved.dead_letters == 0
    assert resolved.ended == {"rolled_back": 1}


async def test_a_resolved_dead_letter_still_counts_where_it_failed(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    saga_id = await fail_compensating(runtime, clock, recorder)
    clock.advance(100)
    await runtime.force_compensation(saga_id, "the supplier took it back")
    await runtime.wait_for([saga_id])
    clock.advance(1)
    assert (await measure(runtime, window=60)).dead_letters_before == 1
    assert (await measure(runtime, window=60)).compensation_failures == 0
    assert (await measure(runtime, window=200)).compensation_failures == 1


class Fragile(Actor):
    async def on_receive(self, message: Any) -> Any:
        if message == {"op": "crash"}:
            raise ValueError("boom")
        return "ok"


async def crash(runtime: Runtime, path: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(ActorFailedError):
            await runtime.ask(path, {"op": "crash"})


@pytest.fixture
async def restart_log(runtime: Runtime) -> AsyncIterator[RestartLog]:
    log = RestartLog(runtime)
    log.start()
    yield log
    await log.close()


async def test_actor_restarts_are_counted_per_actor_type_in_the_window(
    runtime: Runtime, clock: ManualClock, restart_log: RestartLog
) -> None:
    await runtime.spawn(Fragile, "checker", ActorType.COMPLIANCE_CHECKER)
    await runtime.spawn(Fragile, "dispatcher", ActorType.NOTIFICATION_DISPATCHER)
    await crash(runtime, "/checker", 2)
    await crash(runtime, "/dispatcher")
    assert await runtime.ask("/checker", {"op": "hello"}) == "ok"  # restarted, working
    clock.advance(1)
    w = await measure(runtime, window=60, restarts=restart_log)
    assert w.actor_restarts == {"compliance_checker": 2, "notification_dispatcher": 1}
    assert w.escalations_to_root == 0

    clock.advance(60)
    assert (await measure(runtime, window=60, restarts=restart_log)).actor_restarts == {}
    assert (await measure(runtime, window=60)).actor_restarts == {}  # no log: not counted


async def test_an_actor_past_its_restart_intensity_escalates_to_the_root_and_is_counted(
    runtime: Runtime, clock: ManualClock, restart_log: RestartLog
) -> None:
    await runtime.spawn(Fragile, "flaky", ActorType.BACKUP_MANAGER)
    await crash(runtime, "/flaky", 4)  # the guardian allows 3 restarts a minute
    clock.advance(1)
    w = await measure(runtime, window=60, restarts=restart_log)
    assert w.actor_restarts == {"backup_manager": 3}
    assert w.escalations_to_root == 1
    [incident] = await runtime.incidents(trigger="SAGA-003")
    assert incident.details["actor"] == "/flaky"
    clock.advance(60)
    assert (await measure(runtime, window=60)).escalations_to_root == 0


async def test_consistency_is_passed_through_and_a_window_must_last(runtime: Runtime) -> None:
    assert (await measure(runtime, window=60)).consistency_score is None
    assert (await measure(runtime, window=60, consistency=0.998)).consistency_score == 0.998
    with pytest.raises(ValueError, match="more than 0 seconds"):
        await measure(runtime, window=0)


async def test_window_data_is_plain_json_ready_data(
    runtime: Runtime, clock: ManualClock, recorder: Recorder
) -> None:
    await succeed(runtime, clock)
    clock.advance(1)
    data = window_data(await measure(runtime, window=60))
    assert data["ended"] == {"completed": 1}
    assert data["success_rate"] == 1.0
    assert set(data["step_latency"]["order"]) == {"reserve", "check", "charge", "confirm"}
    assert data["saga_latency"]["order"]["count"] == 1


# --- the Prometheus endpoint ------------------------------------------------


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def value(samples: Iterable[tuple[dict[str, str], float]], **labels: str) -> float:
    [found] = [v for have, v in samples if have == labels]
    return found


@pytest.fixture
def score() -> list[float | None]:
    """The consistency validator's last score, as the exporter reads it."""
    return [None]


@pytest.fixture
async def exporter(runtime: Runtime, score: list[float | None]) -> AsyncIterator[MetricsExporter]:
    thresholds = load_thresholds("dev", {"success_rate_min": 0.97}, env={})
    exporter = MetricsExporter(runtime, thresholds, interval=3600, consistency=lambda: score[0])
    await exporter.start(0)
    yield exporter
    await exporter.close()


async def test_a_scrape_shows_the_latest_windows_by_the_blueprints_names(
    runtime: Runtime,
    clock: ManualClock,
    recorder: Recorder,
    exporter: MetricsExporter,
    score: list[float | None],
) -> None:
    url = f"http://127.0.0.1:{exporter.port}/metrics"
    before = await asyncio.to_thread(scrape, url)
    assert "saga_transaction_success_rate" not in before  # nothing ended: no evidence
    assert value(before["saga_dead_letters"]) == 0

    await succeed(runtime, clock, 2)
    clock.advance(1)
    await roll_back(runtime, clock, recorder)
    await runtime.spawn(Fragile, "checker", ActorType.COMPLIANCE_CHECKER)
    await crash(runtime, "/checker")
    clock.advance(1)
    score[0] = 0.999
    await exporter.refresh()

    metrics = await asyncio.to_thread(scrape, url)
    assert value(metrics["saga_transaction_success_rate"]) == pytest.approx(2 / 3)
    assert value(metrics["saga_throughput_per_second"]) == pytest.approx(3 / 60)
    assert value(metrics["saga_compensations_total"]) == 2
    assert value(metrics["saga_compensation_failures_total"]) == 0
    assert value(metrics["saga_dead_letters"]) == 0
    assert value(metrics["saga_consecutive_compensations"]) == 1
    assert value(metrics["saga_consistency_score"]) == 0.999
    assert {q for labels, _ in metrics["saga_latency_ms"] for q in [labels["quantile"]]} == {
        "0.5",
        "0.95",
        "0.99",
    }
    assert value(metrics["saga_latency_ms"], saga_type="order", quantile="0.99") >= 0
    steps = {labels["step"] for labels, _ in metrics["saga_step_latency_ms"]}
    assert steps == {"reserve", "check", "charge", "confirm"}
    restarts = metrics["actor_restarts_total"]
    assert value(restarts, type="compliance_checker") == 1
    assert value(restarts, type="backup_manager") == 0
    assert value(metrics["actor_escalations_to_root_total"]) == 0
    thresholds = metrics["saga_threshold"]
    assert value(thresholds, name="success_rate_min") == 0.97
    assert value(thresholds, name="step_p95_max_ms") == 200


async def test_scrapes_read_the_last_refresh_and_never_the_database(
    runtime: Runtime, clock: ManualClock, exporter: MetricsExporter
) -> None:
    url = f"http://127.0.0.1:{exporter.port}/metrics"
    await succeed(runtime, clock)
    clock.advance(1)
    assert "saga_transaction_success_rate" not in await asyncio.to_thread(scrape, url)
    await exporter.refresh()
    assert value((await asyncio.to_thread(scrape, url))["saga_transaction_success_rate"]) == 1


async def test_a_port_in_use_is_refused_clearly_and_the_runtime_keeps_working(
    runtime: Runtime, clock: ManualClock
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exporter = MetricsExporter(runtime, load_thresholds(env={}))
        with pytest.raises(MetricsPortError, match=rf"^port {port} is in use; choose another"):
            await exporter.start(port)
    await succeed(runtime, clock)
    await exporter.start(0)
    try:
        assert "saga_threshold" in await asyncio.to_thread(
            scrape, f"http://127.0.0.1:{exporter.port}/metrics"
        )
    finally:
        await exporter.close()
