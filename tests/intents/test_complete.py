"""Completions in the command bar: whole commands first, then the word being typed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from intents import complete, parse


def test_a_started_command_is_offered_whole_and_keeps_the_case_typed() -> None:
    assert complete("show saga f")[0] == "show saga failures in the last 24 hours"
    assert complete("Show dead")[0] == "Show dead letters from the last hour"
    assert "pause saga 42" in complete("pau")


def test_the_word_being_typed_is_finished_from_the_command_language() -> None:
    assert "restart actor compliance" in complete("restart actor compl")
    assert "show dead letters" in complete("show dead let", limit=20)


def test_every_offered_command_means_something() -> None:
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for offered in complete(letter, limit=50):
            if " " in offered:
                assert parse(offered).command.intent != "unknown", offered


@given(st.text(max_size=40), st.integers(min_value=0, max_value=12))
def test_completions_extend_what_was_typed(text: str, limit: int) -> None:
    found = complete(text, limit)
    typed = text.lstrip()
    assert len(found) <= limit
    assert len(set(found)) == len(found)
    for offered in found:
        assert offered.startswith(typed)
        assert len(offered) > len(typed)


def test_nothing_typed_offers_nothing() -> None:
    assert complete("") == complete("   ") == []
