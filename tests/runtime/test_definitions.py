"""Saga definitions: YAML loading and the Garcia-Molina & Salem rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import DefinitionError, StepKind, load_definition
from runtime.demo import sagas_dir


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "saga.yaml"
    path.write_text(text)
    return path


def test_the_demo_definitions_load_with_their_stages_and_pivots() -> None:
    order = load_definition(sagas_dir() / "order_fulfillment.yaml")
    assert [s.name for s in order.all_steps] == [
        "reserve_inventory",
        "charge_payment",
        "confirm_order",
        "notify_customer",
    ]
    assert order.pivot is not None
    assert order.pivot.name == "charge_payment"
    onboarding = load_definition(sagas_dir() / "venture_onboarding.yaml")
    assert len(onboarding.stages[0]) == 2
    assert onboarding.requires_approval


GOOD_STEP = """
  - name: reserve
    participant: inventory
    action: reserve
    compensation: release
"""


@pytest.mark.parametrize(
    ("steps", "step", "rule"),
    [
        (
            GOOD_STEP
            + """
  - name: charge
    participant: payment
    action: charge
    kind: pivot
  - name: ship
    participant: order
    action: ship
    kind: pivot
""",
            "ship",
            "at most one pivot step (charge is one)",
        ),
        (
            """
  - name: charge
    participant: payment
    action: charge
    kind: pivot
"""
            + GOOD_STEP,
            "reserve",
            "a compensable step cannot come after a pivot step",
        ),
        (
            """
  - name: reserve
    participant: inventory
    action: reserve
""",
            "reserve",
            "a compensable step needs a compensation",
        ),
        (
            GOOD_STEP
            + """
  - name: notify
    participant: notification
    action: send
    kind: retriable
    compensation: unsend
""",
            "notify",
            "a retriable step is never compensated",
        ),
        (GOOD_STEP + GOOD_STEP, "reserve", "step names must be unique"),
        (
            """
  - parallel:
      - name: charge
        participant: payment
        action: charge
        kind: pivot
      - name: other
        participant: payment
        action: hold
        compensation: release_hold
""",
            "charge",
            "a pivot step cannot run in a parallel group",
        ),
        (
            """
  - name: reserve
    action: reserve
    compensation: release
""",
            "reserve",
            "Field required (at steps.0",
        ),
        (
            """
  - name: reserve
    participant: inventory
    action: reserve
    compensation: release
    timeout: -1
""",
            "reserve",
            "greater than 0",
        ),
    ],
)
def test_a_bad_definition_fails_naming_the_file_the_step_and_the_rule(
    tmp_path: Path, steps: str, step: str, rule: str
) -> None:
    path = write(tmp_path, "name: order\nsteps:" + steps)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert caught.value.source == str(path)
    assert caught.value.step == step
    assert rule in caught.value.rule
    assert str(path) in str(caught.value)
    assert step in str(caught.value)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("name: order\nsteps: [", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("name: Order Saga\nsteps:" + GOOD_STEP, "String should match pattern"),
        ("name: order\nsteps: []\n", "at least 1 item"),
        ("name: order\nstepz:" + GOOD_STEP, "Field required"),
    ],
)
def test_a_malformed_file_fails_with_the_file_named(tmp_path: Path, text: str, rule: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError, match=rule) as caught:
        load_definition(path)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_text_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "saga.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_definition(path)


def test_compensable_then_pivot_then_retriable_is_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: order\ndeadline: 30\nsteps:"
        + GOOD_STEP
        + """
  - name: charge
    participant: payment
    action: charge
    kind: pivot
    requires_approval: true
  - name: notify
    participant: notification
    action: send
    kind: retriable
    retry: {max_attempts: 10, retry_on: ["*"]}
""",
    )
    saga = load_definition(path)
    assert [s.kind for s in saga.all_steps] == [
        StepKind.COMPENSABLE,
        StepKind.PIVOT,
        StepKind.RETRIABLE,
    ]
    assert saga.deadline == 30
    assert saga.step("notify").retry.retries("anything", retryable=True)
    assert not saga.step("notify").retry.retries("anything", retryable=False)
