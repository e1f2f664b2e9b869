"""Incident diagnosis and the remediation playbook: from failures to one proposed change."""

from __future__ import annotations

from typing import get_args

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.errors import StepError, StepTimeoutError
from runtime.observe.diagnosis import (
    CLEAR_MAJORITY,
    ERROR_CLASSES,
    ErrorClass,
    FailureRecord,
    classify_error,
    diagnose,
)
from runtime.observe.playbook import (
    ATTEMPTS_CAP,
    RESTART_BACKOFF,
    TIMEOUT_CAP,
    Action,
    more_attempts,
    narrow,
    propose,
    raised_timeout,
)
from runtime.observe.triggers import ROOT, Firing, saga_001, saga_002, saga_003
from runtime.observe.windows import PROFILES, MetricWindow

DEV = PROFILES["dev"]


def failure(
    error_class: ErrorClass,
    step: str = "charge",
    saga_type: str = "order",
    participant: str = "payment",
    n: int = 0,
) -> FailureRecord:
    return FailureRecord(
        saga_id=f"s{n}",
        saga_type=saga_type,
        step=step,
        participant=participant,
        error_class=error_class,
        error=f"{participant}: {error_class}",
        at=1000.0 + n,
    )


def low_success(rate: float = 0.8) -> Firing:
    ended = 100
    completed = round(ended * rate)
    firing = saga_001(
        MetricWindow(0, 300, ended={"completed": completed, "rolled_back": ended - completed}),
        DEV,
    )
    assert firing is not None
    return firing


# --- error classes ----------------------------------------------------------


def test_error_classes_come_from_the_kinds_the_executor_and_demo_participants_use() -> None:
    timeout = StepTimeoutError("charge", 5.0)
    assert classify_error(timeout.kind, str(timeout)) == "timeout"
    busy = StepError("payment: the payment gateway is busy", kind="transient", retryable=True)
    assert classify_error(busy.kind, str(busy)) == "transient"
    declined = StepError("payment rejected charge: card declined", kind="rejected")
    assert classify_error(declined.kind, str(declined)) == "rejected"
    # The executor names a participant's unexpected exception by its class.
    assert classify_error("KeyError", "KeyError: 'sku'") == "crash"
    assert classify_error("error", "ValueError: negative amount") == "crash"
    assert classify_error("config", "participant 'payment' is not registered") == "other"


def test_compensation_failures_without_a_kind_are_classified_from_their_message() -> None:
    assert classify_error(None, "step 'charge' timed out after 5s") == "timeout"
    assert classify_error(None, "payment rejected refund: account closed") == "rejected"
    assert classify_error(None, "RuntimeError: ledger unavailable") == "crash"
    assert classify_error(None, "payment: undo of charge failed (gateway busy)") == "other"


# --- diagnosis --------------------------------------------------------------


def test_a_clear_majority_of_timeouts_in_one_step_is_a_confident_diagnosis() -> None:
    failures = [failure("timeout", n=i) for i in range(6)] + [
        failure("rejected", step="reserve", participant="inventory", n=6),
        failure("transient", n=7),
    ]
    d = diagnose(failures)
    assert d.failures == 8
    assert d.dominant_step == ("order", "charge")
    assert d.dominant_participant == "payment"
    assert d.dominant_error_class == "timeout"
    assert d.error_class_shares == {"timeout": 0.75, "rejected": 0.125, "transient": 0.125}
    assert d.confident
    assert d.summary == (
        "8 failure(s): 88% in step charge of order at payment, 75% timeout errors "
        "(a clear pattern)."
    )
    orjson.dumps(d.to_dict())


def test_failures_split_between_causes_are_not_confident() -> None:
    d = diagnose([failure("timeout", n=0), failure("transient", n=1)])
    assert not d.confident
    nothing = diagnose([])
    assert nothing.failures == 0
    assert nothing.dominant_step is None
    assert not nothing.confident
    assert nothing.summary == "No failures to diagnose."


records = st.builds(
    failure,
    st.sampled_from(ERROR_CLASSES),
    step=st.sampled_from(["reserve", "charge", "ship"]),
    saga_type=st.sampled_from(["order", "onboarding"]),
    participant=st.sampled_from(["inventory", "payment"]),
)


@settings(max_examples=300)
@given(st.lists(records, max_size=40))
def test_shares_sum_to_one_and_the_dominant_value_has_the_largest_share(
    failures: list[FailureRecord],
) -> None:
    d = diagnose(failures)
    assert d.failures == len(failures)
    for shares, dominant in (
        (d.saga_type_shares, d.dominant_saga_type),
        (d.step_shares, d.dominant_step),
        (d.participant_shares, d.dominant_participant),
        (d.error_class_shares, d.dominant_error_class),
    ):
        if not failures:
            assert shares == {}
            assert dominant is None
            continue
        assert sum(shares.values()) == pytest.approx(1.0)
        assert dominant is not None
        assert shares[dominant] == max(shares.values())  # type: ignore[index]
    assert d.confident == bool(
        failures
        and d.step_shares[d.dominant_step] >= CLEAR_MAJORITY  # type: ignore[index]
        and d.error_class_shares[d.dominant_error_class] >= CLEAR_MAJORITY  # type: ignore[index]
    )


# --- playbook ---------------------------------------------------------------

SAGA_001_ACTIONS: dict[ErrorClass, Action | None] = {
    "timeout": "raise_timeout",
    "transient": "add_retries",
    "rejected": None,
    "crash": None,
    "other": None,
}
"""With the success rate low but not collapsed; rejected, crash and other pause the
saga type when it collapses, and are a person's to look at otherwise."""


@settings(max_examples=200)
@given(
    st.sampled_from(ERROR_CLASSES),
    st.integers(1, 20),
    st.sampled_from([0.3, 0.6, 0.85]),
)
def test_the_playbook_maps_each_dominant_error_class_to_its_remediation(
    error_class: ErrorClass, count: int, rate: float
) -> None:
    d = diagnose([failure(error_class, n=i) for i in range(count)])
    remedy = propose(low_success(rate), d)
    collapsed = rate < 0.5
    expected = SAGA_001_ACTIONS[error_class] or ("pause_saga_type" if collapsed else None)
    assert (remedy.action if remedy else None) == expected
    if remedy is not None:
        assert remedy.target == ("order" if expected == "pause_saga_type" else "order/charge")
        orjson.dumps(remedy.change)
    compensation = saga_002(MetricWindow(0, 60, compensations=count, compensation_failures=1), DEV)
    assert compensation is not None
    redrive = propose(compensation, d)
    assert (redrive.action if redrive else None) == (
        None if error_class in ("rejected", "crash") else "redrive_compensations"
    )


@given(st.sampled_from(get_args(ErrorClass)))
def test_no_remediation_without_a_confident_diagnosis(error_class: ErrorClass) -> None:
    split = diagnose(
        [
            failure(error_class, n=0),
            failure(error_class, step="reserve", n=1),
            failure("other", step="ship", n=2),
        ]
    )
    assert not split.confident
    assert propose(low_success(0.1), split) is None


def test_a_timeout_pattern_in_one_step_proposes_doubling_its_timeout() -> None:
    firing = low_success(0.8)
    d = diagnose([failure("timeout", n=i) for i in range(15)] + [failure("rejected", n=99)])
    remedy = propose(firing, d)
    assert remedy is not None
    assert remedy.action == "raise_timeout"
    assert remedy.change == {
        "saga_type": "order",
        "step": "charge",
        "field": "timeout",
        "factor": 2.0,
        "cap": TIMEOUT_CAP,
    }
    assert remedy.reason == (
        "94% of 16 failures were timeout errors and 100% were in step charge of order: "
        "double its timeout, to at most 60 s."
    )
    assert narrow(firing, d).key == "order"


def test_a_dead_lettered_compensation_is_keyed_by_its_type_and_redriven() -> None:
    firing = saga_002(MetricWindow(0, 60, compensations=3, compensation_failures=2), DEV)
    assert firing is not None
    d = diagnose([failure("other", step="reserve", participant="inventory", n=i) for i in (1, 2)])
    assert narrow(firing, d).key == "order/reserve"
    remedy = propose(firing, d)
    assert remedy is not None
    assert (remedy.action, remedy.target) == ("redrive_compensations", "order/reserve")


def test_an_actor_type_restarting_too_often_is_restarted_with_backoff() -> None:
    window = MetricWindow(0, 60, actor_restarts={"payment_worker": 8}, escalations_to_root=1)
    by_type, past_root = saga_003(window, DEV)
    remedy = propose(by_type, diagnose([]))
    assert remedy is not None
    assert (remedy.action, remedy.target) == ("restart_actor", "payment_worker")
    assert remedy.change["backoff"] == {"initial": 1.0, "multiplier": 2.0, "max": 60.0}
    # Past the root nobody is left to restart it: a person decides.
    assert past_root.key == ROOT
    assert propose(past_root, diagnose([])) is None


def test_a_completed_stage_carries_its_suggestions_into_the_change() -> None:
    firing = Firing("SAGA-004", "stage", "The stage is complete.", {"suggestions": [{"k": "v"}]})
    remedy = propose(firing, diagnose([]))
    assert remedy is not None
    assert remedy.action == "complete_stage"
    assert remedy.change["suggestions"] == [{"k": "v"}]


@given(st.floats(0.01, 600.0), st.integers(1, 1000), st.integers(1, 30))
def test_raised_timeouts_and_retries_grow_up_to_their_caps_and_never_shrink(
    timeout: float, attempts: int, restart: int
) -> None:
    new_timeout = raised_timeout(timeout)
    assert new_timeout >= timeout
    assert new_timeout == (timeout * 2 if timeout * 2 <= TIMEOUT_CAP else max(timeout, TIMEOUT_CAP))
    new_attempts = more_attempts(attempts)
    assert new_attempts >= attempts
    assert new_attempts == (
        attempts + 2 if attempts + 2 <= ATTEMPTS_CAP else max(attempts, ATTEMPTS_CAP)
    )
    assert RESTART_BACKOFF.delay(restart) <= 60.0
    assert RESTART_BACKOFF.delay(restart) >= RESTART_BACKOFF.delay(max(1, restart - 1))


def test_end_to_end_a_failing_payment_step_leads_to_more_retries() -> None:
    """A 5-minute window where payment keeps failing transiently: detect, diagnose,
    propose."""
    window = MetricWindow(
        start=1_700_000_000.0,
        end=1_700_000_300.0,
        ended={"completed": 31, "rolled_back": 9},
        consecutive_compensations=3,
    )
    firing = saga_001(window, DEV)
    assert firing is not None
    failures = [failure("transient", n=i) for i in range(8)] + [
        failure("rejected", step="reserve", participant="inventory", n=8)
    ]
    d = diagnose(failures)
    remedy = propose(narrow(firing, d), d)
    assert remedy is not None
    assert (remedy.action, remedy.target) == ("add_retries", "order/charge")
    assert remedy.reason == (
        "89% of 9 failures were transient errors and 89% were in step charge of order: "
        "allow 2 more attempts, at most 10 in all."
    )
