"""`parse` and the `eva parse` contract (INTENTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intents import CONFIDENCE_FLOOR, parse


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=200)))
def test_any_text_at_all_gets_a_result(text: str | bytes) -> None:
    result = parse(text)
    assert 0.0 <= result.confidence <= 1.0
    if result.command.intent == "unknown":
        assert len(result.suggestions) <= 3
    else:
        assert result.confidence >= CONFIDENCE_FLOOR


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "'; DROP TABLE sagas; --",
        "x" * 100_000,
        "\x00\x01\x02",
        "what's the weather in Paris",
        "order me a pizza",
        "restart the database server",
    ],
)
def test_out_of_scope_and_hostile_text_is_unknown_with_suggestions(text: str) -> None:
    result = parse(text)
    assert result.command.intent == "unknown"
    assert result.as_json()["slots"] == {}
    assert "suggestions" in result.as_json()


def test_only_said_slots_appear_and_the_exclamation_mark_confirms() -> None:
    out = parse("Abort saga 42 because the customer withdrew!").as_json()
    assert out["intent"] == "cancel_saga"
    assert out["slots"] == {"saga": "42", "reason": "the customer withdrew"}
    assert out["confirmed"] is True
    assert "confirmed" not in parse("pause saga 42").as_json()


def test_today_is_the_seconds_since_local_midnight() -> None:
    out = parse("show failed sagas today", today_seconds=3723).as_json()
    assert out["slots"] == {"status": "failed", "since_seconds": 3723}


def test_eva_parse_json_prints_one_line_per_command_in_order() -> None:
    lines = "pause saga 42\nshow p95 latency\nnonsense words here\n"
    done = subprocess.run(
        [sys.executable, "-m", "eva", "parse", "--json", "-"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["intent"] for o in out] == ["pause_saga", "show_metrics", "unknown"]
    assert out[1]["slots"] == {"metric": "latency", "percentile": 95}
    single = subprocess.run(
        [sys.executable, "-m", "eva", "parse", "help", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(single.stdout) == {"intent": "help", "slots": {}, "confidence": 0.97}
