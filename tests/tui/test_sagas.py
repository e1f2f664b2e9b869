"""The saga console's filter, as chips and as the sentence `e` puts in the command bar."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from intents import parse
from runtime import SagaStatus, demo_definitions, demo_names
from tui.sagas import chips, filter_sentence

_VENTURES, _ = demo_names()
_TYPES = [d.name for d in demo_definitions()]
_WINDOWS = [60, 90, 1800, 3600, 7200, 86400, 172800, 604800]

filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([s.value for s in SagaStatus]),
        "saga_type": st.sampled_from(_TYPES),
        "venture": st.sampled_from(_VENTURES),
        "since_seconds": st.sampled_from(_WINDOWS),
    },
)


@given(filters)
def test_the_sentence_for_a_filter_sets_that_filter_again(filter: dict[str, Any]) -> None:
    command = parse(filter_sentence(filter)).command
    assert command.intent == "list_sagas"
    said = {k: v for k, v in command.model_dump().items() if k in filter or v is not None}
    said.pop("intent")
    assert said == filter


@given(filters)
def test_every_part_of_the_filter_has_a_chip(filter: dict[str, Any]) -> None:
    assert [slot for slot, _ in chips(filter)] == [
        s for s in ("status", "saga_type", "venture", "since_seconds") if s in filter
    ]
