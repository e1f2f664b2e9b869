"""Incident diagnosis: which saga type, step, participant and error class dominate
the failures behind a firing.

Pure: it reads the failure records it is given. The caller picks the records
(for SAGA-001 the failed sagas' final step failures in the window, for SAGA-002
the dead-lettered compensations), one per failed saga, so a saga retried many
times does not outweigh the others.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

ErrorClass = Literal["timeout", "transient", "rejected", "crash", "other"]
ERROR_CLASSES: tuple[ErrorClass, ...] = ("timeout", "transient", "rejected", "crash", "other")

CLEAR_MAJORITY = 0.6
"""A diagnosis is confident when the dominant step and the dominant error class each
account for at least this share of the failures: more than half, with a margin, so
a near coin-flip between two causes goes to a person instead of the playbook."""

_KINDS: dict[str, ErrorClass] = {
    "timeout": "timeout",
    "transient": "transient",
    "rejected": "rejected",
}
# The executor names a failure that is not a StepError by its exception class
# ("KeyError: ..."): the participant crashed rather than refused.
_CRASH_MESSAGE = re.compile(r"^[A-Z]\w*(Error|Exception): ")

_K = TypeVar("_K", bound=Hashable)


def classify_error(kind: str | None, message: str) -> ErrorClass:
    """The error class of a step failure, from the `StepError` kind the journal
    records (`StepFailed.kind`) or, when there is none (a compensation failure),
    from its message.

    `timeout`, `transient` and `rejected` are the kinds the executor and the demo
    participants use; an exception class name (`KeyError`) is a crash; anything
    else (`config`, the default `error`) is `other` unless the message says more.
    """
    if kind in _KINDS:
        return _KINDS[kind]
    if kind and kind[0].isupper() and kind.isidentifier():
        return "crash"
    text = message.lower()
    if "timed out" in text:
        return "timeout"
    if kind is None and " rejected " in f" {text} ":
        return "rejected"
    if _CRASH_MESSAGE.match(message):
        return "crash"
    return "other"


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One failed step (or compensation) of one saga.

    Attributes:
        step: the step's name within `saga_type`.
        participant: the service that performed it.
        error_class: see `classify_error`.
        error: the failure's message, as journaled.
        at: when it failed (epoch seconds).
    """

    saga_id: str
    saga_type: str
    step: str
    participant: str
    error_class: ErrorClass
    error: str
    at: float


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What the failures have in common.

    Each `*_shares` maps a value to its share of the failures (summing to 1),
    largest first; each `dominant_*` is the value with the largest share (ties go
    to the first in sort order), None when there were no failures.

    Attributes:
        failures: how many records were diagnosed.
        step_shares: keyed by (saga type, step), since step names repeat across types.
        confident: the dominant step and error class each hold at least
            `CLEAR_MAJORITY` of the failures; the playbook acts only then.
    """

    failures: int
    saga_type_shares: dict[str, float]
    step_shares: dict[tuple[str, str], float]
    participant_shares: dict[str, float]
    error_class_shares: dict[ErrorClass, float]
    dominant_saga_type: str | None
    dominant_step: tuple[str, str] | None
    dominant_participant: str | None
    dominant_error_class: ErrorClass | None
    confident: bool

    @property
    def summary(self) -> str:
        """One sentence: what dominates and how clearly."""
        if not self.failures or self.dominant_step is None or self.dominant_error_class is None:
            return "No failures to diagnose."
        saga_type, step = self.dominant_step
        verdict = "a clear pattern" if self.confident else "no clear pattern"
        return (
            f"{self.failures} failure(s): {self.step_shares[self.dominant_step]:.0%} in step "
            f"{step} of {saga_type} at {self.dominant_participant}, "
            f"{self.error_class_shares[self.dominant_error_class]:.0%} "
            f"{self.dominant_error_class} errors ({verdict})."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable, for the incident's journal entry (steps as "type/step")."""
        return {
            "failures": self.failures,
            "saga_types": self.saga_type_shares,
            "steps": {f"{t}/{s}": v for (t, s), v in self.step_shares.items()},
            "participants": self.participant_shares,
            "error_classes": dict(self.error_class_shares),
            "dominant_saga_type": self.dominant_saga_type,
            "dominant_step": "/".join(self.dominant_step) if self.dominant_step else None,
            "dominant_participant": self.dominant_participant,
            "dominant_error_class": self.dominant_error_class,
            "confident": self.confident,
        }


def diagnose(failures: Sequence[FailureRecord]) -> Diagnosis:
    """Which saga type, step, participant and error class dominate `failures`."""
    saga_types = _shares(f.saga_type for f in failures)
    steps = _shares((f.saga_type, f.step) for f in failures)
    participants = _shares(f.participant for f in failures)
    error_classes = _shares(f.error_class for f in failures)
    step = _dominant(steps)
    error_class = _dominant(error_classes)
    confident = (
        step is not None
        and error_class is not None
        and steps[step] >= CLEAR_MAJORITY
        and error_classes[error_class] >= CLEAR_MAJORITY
    )
    return Diagnosis(
        failures=len(failures),
        saga_type_shares=saga_types,
        step_shares=steps,
        participant_shares=participants,
        error_class_shares=error_classes,
        dominant_saga_type=_dominant(saga_types),
        dominant_step=step,
        dominant_participant=_dominant(participants),
        dominant_error_class=error_class,
        confident=confident,
    )


def _shares(values: Iterable[_K]) -> dict[_K, float]:
    counts: Counter[_K] = Counter(values)
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return {value: count / total for value, count in ordered}


def _dominant(shares: dict[_K, float]) -> _K | None:
    # `_shares` orders largest first with ties in sort order, so the first wins.
    return next(iter(shares), None)
