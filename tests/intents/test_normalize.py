"""Normalisation: case, punctuation, filler, numbers and speech slips do not matter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intents.normalize import normalize, split_confirmation, split_reason, words_to_numbers


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("Pause saga 42.", "pause saga 42"),
        ("EVA, could you please pause saga forty two for me", "pause saga 42"),
        ("He will pause the sager forty-two", "pause the saga 42"),
        (
            "Even show soccer failures in the last twenty four hours please",
            "show saga failures in the last 24 hours",
        ),
        ("Either list all suckers", "list all sagas"),
        ("show the top ten sagas", "show the top 10 sagas"),
        ("restart actor compliance checker two", "restart actor compliance checker 2"),
        ("what happened to the last one", "what happened to the last one"),
        ("show saga one hundred and five", "show saga 105"),
        ("show saga 3F9A", "show saga 3f9a"),
    ],
)
def test_the_same_command_however_it_was_typed_or_heard(said: str, meant: str) -> None:
    assert normalize(said) == meant


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("twenty four", "24"),
        ("two thousand and twenty six", "2026"),
        ("nineteen", "19"),
        ("ninety nine", "99"),
        ("three hundred", "300"),
        ("one", "1"),
    ],
)
def test_spelled_numbers_become_digits(spoken: str, digits: str) -> None:
    assert words_to_numbers(spoken) == digits


@pytest.mark.parametrize(
    ("text", "command", "reason"),
    [
        ("abort saga 42 because the customer withdrew.", "abort saga 42", "the customer withdrew"),
        (
            "Force compensation on it because of the Supplier Cancellation!",
            "Force compensation on it",
            "the Supplier Cancellation",
        ),
        ("pause all payment sagas, due to a PSP outage", "pause all payment sagas", "a PSP outage"),
        (
            "stop accepting new sagas reason: maintenance window",
            "stop accepting new sagas",
            "maintenance window",
        ),
        ("show failed sagas since yesterday", "show failed sagas since yesterday", None),
        ("pause saga 7 since finance is checking it", "pause saga 7", "finance is checking it"),
    ],
)
def test_the_reason_is_split_off_with_its_case_kept(
    text: str, command: str, reason: str | None
) -> None:
    assert split_reason(text) == (command, reason)


def test_a_final_exclamation_mark_is_a_confirmation() -> None:
    assert split_confirmation("abort saga 42!") == ("abort saga 42", True)
    assert split_confirmation("abort saga 42") == ("abort saga 42", False)


@given(st.text(max_size=300))
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
