"""Thresholds per environment, overridden by variables and code; bad values refused clearly."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import EngineError, ThresholdError
from runtime.observe.thresholds import allowed, load_thresholds
from runtime.observe.windows import PROFILES, Thresholds

RATES = ("success_rate_min", "consistency_min")
MILLIS = ("step_p95_max_ms", "step_p99_max_ms")
SECONDS = ("success_window", "latency_window", "consistency_sustained", "restart_window")
COUNTS = ("consecutive_compensations_max", "restarts_max")
NUMERIC = (*RATES, *MILLIS, *SECONDS, *COUNTS, "dead_letter_growth_max")


def in_range(field: str) -> st.SearchStrategy[float | int]:
    if field in RATES:
        return st.floats(0.0, 1.0)
    if field in MILLIS:
        return st.floats(0.0, 3_600_000.0, exclude_min=True)
    if field in SECONDS:
        return st.floats(0.0, 30 * 86_400.0, exclude_min=True)
    return st.integers(0 if field == "dead_letter_growth_max" else 1, 1_000_000)


def out_of_range(field: str) -> st.SearchStrategy[float | int]:
    if field in RATES:
        return st.floats(max_value=-1e-9) | st.floats(min_value=1.0, exclude_min=True)
    if field in (*MILLIS, *SECONDS):
        high = 3_600_000.0 if field in MILLIS else 30 * 86_400.0
        return st.floats(max_value=0.0) | st.floats(min_value=high, exclude_min=True)
    low = 0 if field == "dead_letter_growth_max" else 1
    wrong_count: st.SearchStrategy[float | int] = (
        st.integers(max_value=low - 1)
        | st.integers(min_value=1_000_001)
        | st.floats(low, 1_000_000).filter(lambda x: not x.is_integer())
    )
    return wrong_count


def test_the_environment_chooses_the_documented_defaults() -> None:
    dev = load_thresholds(env={})
    assert dev == PROFILES["dev"]
    assert (dev.success_rate_min, dev.consistency_min) == (0.90, 0.95)
    assert (dev.step_p95_max_ms, dev.step_p99_max_ms) == (200.0, 500.0)
    prod = load_thresholds(env={"EVA_ENV": "prod"})
    assert (prod.environment, prod.success_rate_min, prod.consistency_min) == (
        "prod",
        0.995,
        0.999,
    )
    assert load_thresholds("dev", env={"EVA_ENV": "prod"}).environment == "dev"


def test_variables_override_the_profile_and_code_overrides_the_variables() -> None:
    env = {
        "EVA_ENV": "prod",
        "EVA_THRESHOLD_SUCCESS_RATE_MIN": "0.97",
        "EVA_THRESHOLD_RESTARTS_MAX": " 8 ",
        "EVA_THRESHOLD_STEP_P95_MAX_MS": "150",
    }
    t = load_thresholds(overrides={"step_p95_max_ms": 120}, env=env)
    assert (t.success_rate_min, t.restarts_max, t.step_p95_max_ms) == (0.97, 8, 120.0)
    assert t.consistency_min == 0.999  # untouched: the prod profile's


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVA_ENV", "prod")
    monkeypatch.setenv("EVA_THRESHOLD_LATENCY_WINDOW", "30")
    t = load_thresholds()
    assert (t.environment, t.latency_window) == ("prod", 30.0)


@pytest.mark.parametrize(
    ("environment", "overrides", "env", "message"),
    [
        (
            None,
            None,
            {"EVA_ENV": "staging"},
            "threshold environment = 'staging' (from EVA_ENV) is refused: "
            "it must be one of dev, prod",
        ),
        (
            None,
            None,
            {"EVA_THRESHOLD_SUCCESS_RATE_MIN": "1.5"},
            "threshold success_rate_min = '1.5' (from EVA_THRESHOLD_SUCCESS_RATE_MIN) is "
            "refused: it must be a number from 0 to 1",
        ),
        (
            None,
            {"step_p99_max_ms": "fast"},
            {},
            "threshold step_p99_max_ms = 'fast' is refused: "
            "it must be a number above 0 and at most 3600000",
        ),
        (
            None,
            {"restarts_max": 2.5},
            {},
            "threshold restarts_max = 2.5 is refused: it must be a whole number from 1 to 1000000",
        ),
        (
            None,
            None,
            {"EVA_THRESHOLD_SUCCES_RATE_MIN": "0.9"},
            "threshold succes_rate_min = '0.9' (from EVA_THRESHOLD_SUCCES_RATE_MIN) is "
            "refused: there is no such threshold; the thresholds are success_rate_min,",
        ),
        ("qa", None, {}, "threshold environment = 'qa' is refused"),
        (None, {"latency_window": True}, {}, "threshold latency_window = True is refused"),
        (None, {"latency_window": math.nan}, {}, "threshold latency_window = nan is refused"),
    ],
)
def test_bad_values_are_refused_in_one_sentence_naming_field_value_and_range(
    environment: str | None,
    overrides: dict[str, object] | None,
    env: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(ThresholdError) as raised:
        load_thresholds(environment, overrides, env=env)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, EngineError)
    assert str(raised.value).count(". ") == 0  # one sentence


@given(st.sampled_from(NUMERIC).flatmap(lambda f: st.tuples(st.just(f), in_range(f))))
def test_any_value_in_range_is_accepted_and_reads_back(case: tuple[str, float | int]) -> None:
    field, value = case
    from_code = load_thresholds(overrides={field: value}, env={})
    assert getattr(from_code, field) == value
    from_variable = load_thresholds(env={f"EVA_THRESHOLD_{field.upper()}": repr(value)})
    assert getattr(from_variable, field) == value
    assert Thresholds.model_validate(from_code.model_dump()) == from_code


@given(st.sampled_from(NUMERIC).flatmap(lambda f: st.tuples(st.just(f), out_of_range(f))))
def test_any_value_out_of_range_is_refused_naming_the_field(case: tuple[str, float | int]) -> None:
    field, value = case
    with pytest.raises(ThresholdError) as from_code:
        load_thresholds(overrides={field: value}, env={})
    with pytest.raises(ThresholdError) as from_variable:
        load_thresholds(env={f"EVA_THRESHOLD_{field.upper()}": repr(value)})
    for raised in (from_code, from_variable):
        assert raised.value.field == field
        assert f"threshold {field} = " in str(raised.value)
        assert allowed(field) in str(raised.value)
