"""The SAGA-001..004 recursion triggers: pure rules over metric windows."""

from __future__ import annotations

import random
from typing import Any, get_args

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runtime.observe.triggers import (
    BOUNDS,
    MIN_ENDED,
    ROOT,
    Trigger,
    evaluate,
    next_step,
    saga_001,
    saga_002,
    saga_003,
    saga_004,
)
from runtime.observe.windows import PROFILES, MetricWindow, Percentiles, Thresholds

DEV = PROFILES["dev"]
PROD = PROFILES["prod"]
FAST = Percentiles(p50=20.0, p95=60.0, p99=120.0, count=50)
"""Step latency well within the 200 ms p95 / 500 ms p99 limits."""


def window(start: float = 0.0, end: float = 300.0, **figures: Any) -> MetricWindow:
    return MetricWindow(start=start, end=end, **figures)


def day(
    thresholds: Thresholds = DEV, hours: int = 24, score: float = 0.99, **latest: Any
) -> list[MetricWindow]:
    """One-hour windows ending at t=hours*3600, each checked consistent at `score`,
    each with 10 sagas completed; `latest` overrides the last window's figures."""
    windows = [
        window(
            h * 3600.0,
            (h + 1) * 3600.0,
            ended={"completed": 10},
            consistency_score=score,
            step_latency={("order", "reserve"): FAST},
        )
        for h in range(hours)
    ]
    if latest:
        last = windows[-1]
        fields = {f: getattr(last, f) for f in last.__dataclass_fields__} | latest
        windows[-1] = MetricWindow(**fields)
    return windows


# --- examples ---------------------------------------------------------------


def test_a_healthy_window_fires_nothing() -> None:
    healthy = window(
        ended={"completed": 97, "rolled_back": 3},
        consecutive_compensations=1,
        compensations=3,
        dead_letters=2,
        dead_letters_before=2,
        actor_restarts={"payment_worker": 5},
        step_latency={("order", "reserve"): FAST},
    )
    assert evaluate([healthy], DEV, failure_suite_green=True) == []


def test_one_failed_saga_out_of_one_is_not_enough_evidence_for_saga_001() -> None:
    assert saga_001(window(ended={"failed": 1}), DEV) is None
    assert saga_001(window(ended={"failed": MIN_ENDED}), DEV) is not None


def test_a_success_rate_under_the_minimum_fires_saga_001_with_the_numbers() -> None:
    firing = saga_001(window(ended={"completed": 41, "rolled_back": 7, "failed": 2}), DEV)
    assert firing is not None
    assert (firing.trigger, firing.key) == ("SAGA-001", "all")
    assert firing.summary == (
        "The transaction success rate was 82.0% over 5 min (41 of 50 sagas completed), "
        "under the 90.0% minimum."
    )
    assert firing.evidence["conditions"] == ["success_rate"]
    # The same window passes in dev at 90% but not in prod at 99.5%.
    borderline = window(ended={"completed": 198, "rolled_back": 2})
    assert saga_001(borderline, DEV) is None
    assert saga_001(borderline, PROD) is not None


def test_more_than_ten_compensations_in_a_row_fire_saga_001_even_with_few_sagas() -> None:
    assert saga_001(window(ended={"rolled_back": 10}, consecutive_compensations=10), DEV) is None
    firing = saga_001(window(ended={"rolled_back": 11}, consecutive_compensations=11), DEV)
    assert firing is not None
    assert firing.summary == (
        "The last 11 sagas in a row were compensated, more than the 10 allowed."
    )


def test_a_compensation_that_gave_up_or_a_growing_dead_letter_queue_fires_saga_002() -> None:
    gave_up = saga_002(window(compensations=4, compensation_failures=1, dead_letters=1), DEV)
    assert gave_up is not None
    assert gave_up.summary == (
        "1 of 4 compensations gave up after their retries in 5 min; and compensation dead "
        "letters grew from 0 to 1, more than the 0 allowed."
    )
    # Dead letters from before the window, resolved or not, are not new evidence.
    assert saga_002(window(dead_letters=3, dead_letters_before=3), DEV) is None
    grew = saga_002(window(dead_letters=3, dead_letters_before=1), DEV)
    assert grew is not None
    assert grew.evidence["conditions"] == ["dead_letter_growth"]
    tolerant = DEV.model_copy(update={"dead_letter_growth_max": 2})
    assert saga_002(window(dead_letters=3, dead_letters_before=1), tolerant) is None


def test_each_actor_type_over_its_restart_limit_fires_its_own_saga_003() -> None:
    firings = saga_003(
        window(
            0,
            60,
            actor_restarts={"payment_worker": 7, "compliance_checker": 6, "backup_manager": 5},
            escalations_to_root=1,
        ),
        DEV,
    )
    assert [f.key for f in firings] == ["compliance_checker", "payment_worker", ROOT]
    assert firings[1].summary == (
        "Actor type payment_worker restarted 7 times in 1 min, more than the 5 allowed."
    )
    assert firings[2].summary == "1 failure(s) escalated past the root supervisor in 1 min."


def test_a_consistent_day_with_the_suite_green_completes_the_stage_with_a_report() -> None:
    slow = Percentiles(p50=120.0, p95=170.0, p99=260.0, count=40)
    windows = day(
        step_latency={("order", "reserve"): FAST, ("order", "charge"): slow},
        saga_latency={"order": Percentiles(p50=150.0, p95=230.0, p99=400.0, count=10)},
    )
    firing = saga_004(windows, DEV, failure_suite_green=True)
    assert firing is not None
    assert (firing.trigger, firing.key) == ("SAGA-004", "stage")
    assert firing.summary == (
        "Consistency stayed at or above 95.0% (lowest 99.0%) for 24 h, with 100.0% of 240 "
        "sagas completed, the failure suite green and step latency within limits: "
        "the stage is complete."
    )
    report = firing.evidence
    assert report["windows"] == 24
    assert report["throughput"] == pytest.approx(240 / 86_400)
    hints = {(h["target"], h["kind"]) for h in report["suggestions"]}
    assert hints == {("order/charge", "latency_near_limit"), ("order/charge", "dominant_step")}
    orjson.dumps(report)  # journaled with the incident


def test_the_stage_is_not_complete_while_the_suite_is_red_or_the_evidence_is_short() -> None:
    assert saga_004(day(), DEV, failure_suite_green=False) is None
    assert saga_004(day(hours=23), DEV, failure_suite_green=True) is None
    with_gap = day()
    del with_gap[12]
    assert saga_004(with_gap, DEV, failure_suite_green=True) is None
    unchecked = day()
    unchecked[5] = window(5 * 3600.0, 6 * 3600.0, ended={"completed": 10})
    assert saga_004(unchecked, DEV, failure_suite_green=True) is None
    assert saga_004(day(score=0.99), PROD, failure_suite_green=True) is None
    slow_now = day(step_latency={("order", "reserve"): Percentiles(90.0, 210.0, 300.0, 50)})
    assert saga_004(slow_now, DEV, failure_suite_green=True) is None
    failing = day(ended={"completed": 1, "failed": 30})
    assert saga_004(failing, DEV, failure_suite_green=True) is None


def test_overlapping_windows_of_different_lengths_cover_the_span_together() -> None:
    figures: dict[str, Any] = {"ended": {"completed": 10}, "consistency_score": 0.99}
    whole_day = window(0, 86_400.0, **figures)
    # Two short windows inside it, with a gap between them that the day covers.
    early = window(1800.0, 3600.0, **figures)
    last_hour = window(82_800.0, 86_400.0, **figures)
    assert saga_004([whole_day, early, last_hour], DEV, True) is not None
    assert saga_004([early, last_hour], DEV, True) is None


def test_evaluate_judges_the_latest_window_and_orders_firings_by_trigger() -> None:
    old_trouble = window(0, 300, ended={"failed": 50}, escalations_to_root=2)
    now = window(
        300,
        600,
        ended={"completed": 10, "rolled_back": 12},
        consecutive_compensations=12,
        compensation_failures=1,
        compensations=12,
        dead_letters=1,
        actor_restarts={"payment_worker": 9},
    )
    firings = evaluate([now, old_trouble], DEV, failure_suite_green=True)
    assert [(f.trigger, f.key) for f in firings] == [
        ("SAGA-001", "all"),
        ("SAGA-002", "all"),
        ("SAGA-003", "payment_worker"),
    ]
    for f in firings:
        orjson.dumps(f.evidence)
    assert evaluate([], DEV, failure_suite_green=True) == []


def test_an_incident_escalates_once_its_bound_is_spent() -> None:
    assert [next_step(n, "SAGA-001") for n in range(5)] == [
        "remediate",
        "remediate",
        "remediate",
        "escalate",
        "escalate",
    ]
    assert next_step(0, "SAGA-004") == "remediate"
    assert next_step(1, "SAGA-004") == "escalate"
    with pytest.raises(ValueError, match="negative"):
        next_step(-1, "SAGA-002")


# --- properties -------------------------------------------------------------

thresholds_st = st.builds(
    Thresholds,
    success_rate_min=st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.995, 1.0]),
    consecutive_compensations_max=st.integers(1, 20),
    dead_letter_growth_max=st.integers(0, 5),
    restarts_max=st.integers(1, 10),
)
ACTOR_TYPES = ["payment_worker", "compliance_checker", "saga_coordinator"]


@st.composite
def healthy_windows(draw: st.DrawFn, t: Thresholds) -> MetricWindow:
    """A window within every SAGA-001..003 threshold (success rate at or above the
    minimum, or too few sagas to judge), just under the limits as often as not."""
    ended = draw(st.integers(0, 120))
    if ended >= MIN_ENDED:
        lowest = min(c for c in range(ended + 1) if c / ended >= t.success_rate_min)
        completed = draw(st.integers(lowest, ended))
    else:
        completed = draw(st.integers(0, ended))
    before = draw(st.integers(0, 10))
    return window(
        ended={"completed": completed, "rolled_back": ended - completed},
        consecutive_compensations=draw(st.integers(0, t.consecutive_compensations_max)),
        compensations=ended - completed,
        dead_letters_before=before,
        dead_letters=before + draw(st.integers(-before, t.dead_letter_growth_max)),
        actor_restarts={a: draw(st.integers(0, t.restarts_max)) for a in ACTOR_TYPES},
    )


@settings(max_examples=300)
@given(st.data(), thresholds_st)
def test_rules_never_fire_on_a_window_within_thresholds(data: st.DataObject, t: Thresholds) -> None:
    healthy = data.draw(healthy_windows(t))
    assert evaluate([healthy], t, failure_suite_green=False) == []


CROSSINGS: dict[str, Trigger] = {
    "success rate": "SAGA-001",
    "compensations in a row": "SAGA-001",
    "compensation gave up": "SAGA-002",
    "dead letters grew": "SAGA-002",
    "restarts": "SAGA-003",
    "escalation": "SAGA-003",
}


def crossed(w: MetricWindow, t: Thresholds, condition: str) -> MetricWindow:
    """`w` with just `condition` pushed one step past its threshold."""
    fields = {f: getattr(w, f) for f in w.__dataclass_fields__}
    match condition:
        case "success rate":
            ended = max(MIN_ENDED, w.ended_total)
            completed = max(c for c in range(ended + 1) if c / ended < t.success_rate_min)
            fields["ended"] = {"completed": completed, "failed": ended - completed}
        case "compensations in a row":
            fields["consecutive_compensations"] = t.consecutive_compensations_max + 1
        case "compensation gave up":
            fields["compensation_failures"] = 1
        case "dead letters grew":
            fields["dead_letters"] = w.dead_letters_before + t.dead_letter_growth_max + 1
        case "restarts":
            fields["actor_restarts"] = w.actor_restarts | {"payment_worker": t.restarts_max + 1}
        case "escalation":
            fields["escalations_to_root"] = 1
    return MetricWindow(**fields)


@settings(max_examples=300)
@given(st.data(), thresholds_st, st.sampled_from(sorted(CROSSINGS)))
def test_crossing_one_condition_fires_exactly_its_trigger(
    data: st.DataObject, t: Thresholds, condition: str
) -> None:
    assume(condition != "success rate" or t.success_rate_min > 0)
    w = crossed(data.draw(healthy_windows(t)), t, condition)
    firings = evaluate([w], t, failure_suite_green=False)
    assert {f.trigger for f in firings} == {CROSSINGS[condition]}


@settings(max_examples=500)
@given(
    thresholds_st,
    st.integers(0, 3 * MIN_ENDED),
    st.data(),
    st.integers(0, 25),
)
def test_saga_001_fires_exactly_when_the_rate_is_low_on_enough_sagas_or_too_many_in_a_row(
    t: Thresholds, ended: int, data: st.DataObject, in_a_row: int
) -> None:
    completed = data.draw(st.integers(0, ended))
    w = window(
        ended={"completed": completed, "rolled_back": ended - completed},
        consecutive_compensations=in_a_row,
    )
    expected = (ended >= MIN_ENDED and completed / ended < t.success_rate_min) or (
        in_a_row > t.consecutive_compensations_max
    )
    assert (saga_001(w, t) is not None) == expected


@settings(max_examples=300)
@given(thresholds_st, st.integers(0, 3), st.integers(0, 10), st.integers(0, 10))
def test_saga_002_fires_exactly_on_a_failed_compensation_or_too_much_growth(
    t: Thresholds, failures: int, before: int, now: int
) -> None:
    w = window(compensation_failures=failures, dead_letters_before=before, dead_letters=now)
    expected = failures > 0 or now - before > t.dead_letter_growth_max
    assert (saga_002(w, t) is not None) == expected


@settings(max_examples=300)
@given(
    thresholds_st,
    st.dictionaries(st.sampled_from(ACTOR_TYPES), st.integers(0, 12)),
    st.integers(0, 2),
)
def test_saga_003_fires_once_per_actor_type_over_the_limit_and_once_for_the_root(
    t: Thresholds, restarts: dict[str, int], escalations: int
) -> None:
    firings = saga_003(window(actor_restarts=restarts, escalations_to_root=escalations), t)
    expected = {a for a, n in restarts.items() if n > t.restarts_max}
    if escalations:
        expected.add(ROOT)
    assert [f.key for f in firings] == sorted(expected - {ROOT}) + ([ROOT] if escalations else [])


@st.composite
def sustained_runs(draw: st.DrawFn) -> tuple[Thresholds, list[MetricWindow]]:
    """Contiguous, consistent, healthy windows reaching back past `consistency_sustained`."""
    length = draw(st.sampled_from([60.0, 300.0, 900.0]))
    sustained = length * draw(st.integers(1, 12))
    t = DEV.model_copy(update={"consistency_sustained": sustained})
    count = int(sustained // length) + draw(st.integers(0, 3))
    end = draw(st.floats(1e5, 2e9))
    scores = draw(st.lists(st.floats(t.consistency_min, 1.0), min_size=count, max_size=count))
    windows = [
        window(
            end - (count - i) * length,
            end - (count - i - 1) * length,
            ended={"completed": MIN_ENDED},
            consistency_score=score,
            step_latency={("order", "reserve"): FAST},
        )
        for i, score in enumerate(scores)
    ]
    return t, windows


def in_span(windows: list[MetricWindow], t: Thresholds) -> list[int]:
    since = windows[-1].end - t.consistency_sustained
    return [i for i, w in enumerate(windows) if w.end > since + 1e-3]


@settings(max_examples=300)
@given(sustained_runs(), st.randoms(use_true_random=False))
def test_saga_004_fires_only_on_an_unbroken_sustained_run(
    run: tuple[Thresholds, list[MetricWindow]], rng: random.Random
) -> None:
    t, windows = run
    assert saga_004(windows, t, failure_suite_green=True) is not None
    assert saga_004(list(reversed(windows)), t, failure_suite_green=True) is not None
    span = in_span(windows, t)
    # A hole anywhere in the span (but the newest window, which defines "now").
    if len(span) > 1:
        hole = rng.choice(span[:-1])
        assert saga_004(windows[:hole] + windows[hole + 1 :], t, True) is None
    # One window in the span below the minimum, or not checked at all.
    low = rng.choice(span)
    for score in (t.consistency_min - 0.01, None):
        broken = list(windows)
        broken[low] = window(
            windows[low].start,
            windows[low].end,
            ended=windows[low].ended,
            consistency_score=score,
            step_latency=windows[low].step_latency,
        )
        assert saga_004(broken, t, True) is None
    # Too short: the oldest window of the span starts after the sustained period began.
    assert saga_004(windows[span[0] + 1 :], t, True) is None
    assert saga_004(windows, t, failure_suite_green=False) is None


@given(st.sampled_from(get_args(Trigger)), st.integers(0, 50))
def test_next_step_escalates_exactly_after_the_bound(trigger: Trigger, attempts: int) -> None:
    assert next_step(attempts, trigger) == (
        "remediate" if attempts < BOUNDS[trigger] else "escalate"
    )
