"""Replies: one short sentence fit to be spoken, plus rows for a table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from runtime import SagaState, SagaSummary


@dataclass(frozen=True, slots=True)
class Reply:
    """What EVA answers.

    Attributes:
        text: one or two short sentences, fit to be spoken.
        intent: the intent that was handled (`unknown` when none).
        rows: a table for the screen (may be empty).
        data: the structured result (`eva say --json`).
        awaiting_confirmation: EVA asked "Confirm?" and waits for yes or no.
        ok: False when the command was refused or failed.
    """

    text: str
    intent: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    awaiting_confirmation: bool = False
    ok: bool = True


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def window_words(seconds: int | None) -> str:
    if seconds is None:
        return ""
    for size, name in ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return f" in the last {name}" if count == 1 else f" in the last {count} {name}s"
    return f" in the last {seconds} seconds"


def saga_rows(sagas: list[SagaSummary]) -> list[dict[str, Any]]:
    return [
        {
            "saga": s.saga_id,
            "type": s.saga_type,
            "venture": s.venture,
            "status": s.status,
            "step": s.current_step or "-",
            "age_s": round(s.age, 1),
        }
        for s in sagas
    ]


def describe_sagas(sagas: list[SagaSummary], what: str, window: str) -> str:
    """ "3 sagas failed in the last day; 2 rolled back, 1 failed." """
    if not sagas:
        return f"No {what}{window}."
    by_status = Counter(s.status.replace("_", " ") for s in sagas)
    parts = ", ".join(f"{n} {status}" for status, n in by_status.most_common())
    return f"{plural(len(sagas), what.rstrip('s'))}{window}: {parts}."


def describe_saga(state: SagaState) -> str:
    """A short report of one saga, in words."""
    done = [s for s in state.steps if s.status.value == "completed"]
    undone = [s for s in state.steps if s.comp.value == "completed"]
    text = (
        f"Saga {state.saga_id}, {state.saga_type}"
        f"{' for venture ' + state.venture if state.venture else ''}, is "
        f"{state.status.value.replace('_', ' ')}: {len(done)} of {len(state.steps)} steps "
        "done"
    )
    if undone:
        text += f", {plural(len(undone), 'step')} compensated"
    if state.reason:
        text += f". {state.reason[0].upper()}{state.reason[1:]}"
    return text + "."


def step_rows(state: SagaState) -> list[dict[str, Any]]:
    return [
        {
            "step": s.name,
            "kind": s.kind.value,
            "status": s.status.value,
            "attempts": s.attempts,
            "compensation": s.comp.value,
            "error": s.error or "",
        }
        for s in state.steps
    ]


def completion_report_words(report: dict[str, Any]) -> str:
    """SAGA-004's completion report in a sentence or two: the run, then what to
    optimise next."""
    if not report:
        return "The stage is complete."
    hours = (report["window"][1] - report["window"][0]) / 3600
    text = (
        f"The stage is complete: consistency stayed at or above "
        f"{report['consistency_threshold']:.1%} for {hours:.0f} h (lowest "
        f"{report['consistency_min']:.1%}), {report['success_rate']:.1%} of "
        f"{sum(report['ended'].values())} sagas completed."
    )
    hints = [h["text"] for h in report.get("suggestions", [])]
    if hints:
        text += f" To optimise next: {'; '.join(hints[:3])}."
    else:
        text += " Nothing stands out to optimise."
    return text
