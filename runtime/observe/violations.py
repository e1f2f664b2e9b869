"""What a consistency check finds and does: violations, repairs, the report and its score,
and the journal stream they are recorded on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from runtime.errors import ConcurrencyError
from runtime.sagas.state import (
    SagaStatus,
)
from runtime.store.journal import NewEvent

if TYPE_CHECKING:
    from runtime.facade import Runtime

STREAM = "consistency"
"""The journal stream of checks and repairs."""

LET_GO = (SagaStatus.ROLLED_BACK, SagaStatus.CANCELLED)
"""Sagas that undid their effects: a participant should hold nothing for them."""


class ViolationKind(StrEnum):
    READ_MODEL_MISMATCH = "read_model_mismatch"
    COMPENSATION_INCOMPLETE = "compensation_incomplete"
    COMPENSATION_DEAD_LETTERED = "compensation_dead_lettered"
    ORPHANED_RESERVATION = "orphaned_reservation"
    STUCK_PAST_DEADLINE = "stuck_past_deadline"
    BROKEN_CHAIN = "broken_chain"
    UNREADABLE = "unreadable"
    UNKNOWN_SAGA_TYPE = "unknown_saga_type"

    def noun(self, count: int) -> str:
        """ "1 orphaned reservation", "2 broken hash chains": the kind, counted, in words."""
        one, many = _NOUNS[self]
        return f"{count} {one if count == 1 else many}"


_NOUNS = {
    ViolationKind.READ_MODEL_MISMATCH: ("read-model mismatch", "read-model mismatches"),
    ViolationKind.COMPENSATION_INCOMPLETE: (
        "incomplete compensation",
        "incomplete compensations",
    ),
    ViolationKind.COMPENSATION_DEAD_LETTERED: (
        "dead-lettered compensation",
        "dead-lettered compensations",
    ),
    ViolationKind.ORPHANED_RESERVATION: ("orphaned reservation", "orphaned reservations"),
    ViolationKind.STUCK_PAST_DEADLINE: (
        "saga stuck past its deadline",
        "sagas stuck past their deadlines",
    ),
    ViolationKind.BROKEN_CHAIN: ("broken hash chain", "broken hash chains"),
    ViolationKind.UNREADABLE: ("unreadable record", "unreadable records"),
    ViolationKind.UNKNOWN_SAGA_TYPE: ("saga of an unknown type", "sagas of an unknown type"),
}

WEIGHTS: dict[ViolationKind, float] = {
    **dict.fromkeys(ViolationKind, 1.0),
    # A saga late or of a type nobody here registered may still end well: it is
    # a warning about the future, not data that already disagree.
    ViolationKind.STUCK_PAST_DEADLINE: 0.5,
    ViolationKind.UNKNOWN_SAGA_TYPE: 0.5,
}
"""How much one violation of each kind costs the score."""


@runtime_checkable
class Holder(Protocol):
    """A participant that can say what it holds for sagas (reservations, holds, ...)."""

    async def held(self) -> Iterable[tuple[str, str, str]]:
        """Every effect applied and not undone, as (saga id, step, what it is)."""
        ...


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing found wrong.

    Attributes:
        subject: what it is about, in words ("saga 12", "journal stream intake").
        detail: what is wrong, and what to do when the check cannot.
        repairable: `check_consistency(repair=True)` would mend it.
    """

    kind: ViolationKind
    subject: str
    detail: str
    repairable: bool = False
    saga_id: str | None = None
    step: str | None = None


@dataclass(frozen=True, slots=True)
class Repair:
    """One repair attempted: what was done about which violation, and how it went."""

    kind: ViolationKind
    subject: str
    action: str
    outcome: str
    ok: bool


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """What a consistency check found (and, with repair, did).

    Attributes:
        score: `score(violations, checked)`, from 0 to 1; 1.0 when nothing is wrong.
        checked: items examined: each saga replayed, each holding a participant
            reported, each journal stream other than the sagas', the decision log.
        violations: what was found, as it was before any repair.
        repaired: the repairs attempted (with repair=True), successful or not.
        at: when the check ran (the runtime's clock).
        sagas_checked: sagas replayed; fewer than `sagas_total` when sampled.
    """

    score: float
    checked: int
    violations: list[Violation]
    repaired: list[Repair]
    at: float
    sagas_checked: int = 0
    sagas_total: int = 0

    @property
    def by_kind(self) -> dict[ViolationKind, int]:
        """Violations counted by kind, most frequent first."""
        return dict(Counter(v.kind for v in self.violations).most_common())

    @property
    def clean(self) -> bool:
        return not self.violations


def score(violations: Iterable[Violation], checked: int) -> float:
    """The consistency score: 1 - (Σ WEIGHTS[v.kind] over violations) / checked,
    clamped to [0, 1]; 1.0 when nothing was checked and nothing found.

    So each item checked counts once, a violation of weight 1 costs one item's
    share, and the prod threshold (0.999) tolerates one violation per thousand
    items.
    """
    weight = sum(WEIGHTS[v.kind] for v in violations)
    if checked <= 0:
        return 1.0 if weight == 0 else 0.0
    return min(1.0, max(0.0, 1.0 - weight / checked))


async def record(runtime: Runtime, events: list[NewEvent]) -> None:
    journal = runtime.journal
    for _ in range(10):
        version = await journal.version(STREAM)
        try:
            await journal.append(STREAM, version, events)
            return
        except ConcurrencyError:
            continue  # another check recorded first: append after it
    raise ConcurrencyError(STREAM, await journal.version(STREAM), -1)
