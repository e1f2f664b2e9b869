"""Slot extractors, on normalised text, with the values INTENTS.md fixes."""

from __future__ import annotations

import pytest

from intents import normalize
from intents.slots import (
    actor_name,
    actor_status,
    actor_type,
    limit,
    metric,
    saga_reference,
    saga_status,
    since_seconds,
    snake,
    step,
    trigger,
    venture,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("show saga failures in the last 24 hours", 86400),
        ("failures over the past day", 86400),
        ("failed sagas 24h", 86400),
        ("dead letters from the last hour", 3600),
        ("incidents 1h", 3600),
        ("failures in the past 30 minutes", 1800),
        ("the last six hours", 21600),
        ("past two days", 172800),
        ("last week", 604800),
        ("past 7 days", 604800),
        ("this week", 604800),
        ("decisions from yesterday", 86400),
        ("failures since yesterday", 86400),
        ("show the last 5 sagas", None),
        ("show failed sagas", None),
    ],
)
def test_windows_are_seconds_ending_now(text: str, seconds: int | None) -> None:
    assert since_seconds(normalize(text)) == seconds


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("show the top ten sagas", 10),
        ("the last 5 sagas", 5),
        ("top 3", 3),
        ("list failed sagas", None),
        ("the last 24 hours", None),
    ],
)
def test_limits(text: str, count: int | None) -> None:
    assert limit(normalize(text)) == count


@pytest.mark.parametrize(
    ("text", "saga"),
    [
        ("pause saga 42", "42"),
        ("show saga 3F9A", "3f9a"),
        ("what happened to saga forty two", "42"),
        ("pause the payment saga", "payment"),
        ("describe the order fulfillment saga", "order_fulfillment"),
        ("pause it", "@last"),
        ("abort that one", "@last"),
        ("what happened to the last one", "@last"),
        ("resume this saga", "@last"),
        ("list failed sagas", None),
    ],
)
def test_saga_references(text: str, saga: str | None) -> None:
    assert saga_reference(normalize(text)) == saga


@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("restart actor compliance checker two", "compliance-checker-2"),
        ("stop actor metrics-collector-1", "metrics-collector-1"),
        ("restart the notification dispatcher 3", "notification-dispatcher-3"),
        ("restart the database server", None),
    ],
)
def test_actor_names_are_hyphenated_with_digits(text: str, actor: str | None) -> None:
    assert actor_name(normalize(text)) == actor


def test_actor_types_and_statuses_normalise() -> None:
    assert actor_type("list all notification dispatchers") == "notification_dispatcher"
    assert actor_type("show compliance checkers") == "compliance_checker"
    assert actor_type("show failed actors") is None
    assert actor_status("show crashed actors") == "failed"
    assert actor_status("which actors are restarting") == "recovering"
    assert actor_status("healthy actors") == "active"


def test_saga_statuses_normalise() -> None:
    assert saga_status("show saga failures") == "failed"
    assert saga_status("which sagas are compensating") == "compensating"
    assert saga_status("sagas waiting for approval") == "waiting_approval"
    assert saga_status("rolled back sagas") == "rolled_back"
    assert saga_status("list sagas") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("show p95 latency", ("latency", 95)),
        ("what's the median latency", ("latency", 50)),
        ("what's the transaction success rate", ("success_rate", None)),
        ("show all metrics", ("all", None)),
        ("show metrics", (None, None)),
        ("throughput over the last hour", ("throughput", None)),
        ("consistency score", ("consistency", None)),
    ],
)
def test_metrics_and_percentiles(text: str, expected: tuple[str | None, int | None]) -> None:
    assert metric(normalize(text)) == expected


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("show compensation failure incidents", "SAGA-002"),
        ("any restart storms", "SAGA-003"),
        ("saga 4 trigger firings", "SAGA-004"),
        ("saga one incidents", "SAGA-001"),
        ("transaction failure incidents", "SAGA-001"),
        ("show recursion incidents", None),
    ],
)
def test_triggers(text: str, name: str | None) -> None:
    assert trigger(normalize(text)) == name


def test_ventures_steps_and_snake_case() -> None:
    assert venture(normalize("start an order fulfillment saga for venture Acme")) == "acme"
    assert step(normalize("retry the payment step of saga 42")) == "payment"
    assert step(normalize("retry the failed step of saga 42")) is None
    assert step("retry step process_payment") == "process_payment"
    assert snake("ProcessPayment") == "process_payment"
    assert snake("order fulfillment") == "order_fulfillment"
