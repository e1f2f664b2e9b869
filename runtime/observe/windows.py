"""What the watchers look at: one metric window's figures, and the thresholds they are
held to.

A `MetricWindow` is a plain value, so the recursion triggers are pure functions of
windows (tested with made-up windows and an injected clock); `runtime.observe.metrics`
computes real ones from the database and the actor system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Latency percentiles in milliseconds over the window (`count` samples)."""

    p50: float
    p95: float
    p99: float
    count: int


@dataclass(frozen=True, slots=True)
class MetricWindow:
    """The runtime's figures over [start, end) (epoch seconds).

    Attributes:
        ended: sagas that finished in the window, by final status (completed,
            rolled_back, failed, cancelled).
        started: sagas started in the window.
        consecutive_compensations: how many of the most recently ended sagas, in a
            row, ended compensated (rolled back, or failed while compensating).
        saga_latency: per saga type, completed sagas' duration.
        step_latency: per (saga type, step), completed steps' duration.
        compensations: compensations run in the window; `compensation_failures` of
            them gave up after their retries (dead-lettered).
        dead_letters: compensation dead letters not yet resolved, now; and
            `dead_letters_before` at the start of the window (their growth).
        actor_restarts: restarts per actor type in the window.
        escalations_to_root: failures that escalated past the root supervisor.
        consistency_score: 0..1 from the last consistency check (None: not checked).
    """

    start: float
    end: float
    ended: dict[str, int] = field(default_factory=dict)
    started: int = 0
    consecutive_compensations: int = 0
    saga_latency: dict[str, Percentiles] = field(default_factory=dict)
    step_latency: dict[tuple[str, str], Percentiles] = field(default_factory=dict)
    compensations: int = 0
    compensation_failures: int = 0
    dead_letters: int = 0
    dead_letters_before: int = 0
    actor_restarts: dict[str, int] = field(default_factory=dict)
    escalations_to_root: int = 0
    consistency_score: float | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def ended_total(self) -> int:
        return sum(self.ended.values())

    @property
    def success_rate(self) -> float | None:
        """Completed over ended, leaving out sagas the Chairman cancelled (a decision,
        not a failure); None when nothing counts (no evidence either way)."""
        total = self.ended_total - self.ended.get("cancelled", 0)
        return self.ended.get("completed", 0) / total if total else None

    @property
    def throughput(self) -> float:
        """Sagas ended a second."""
        return self.ended_total / self.seconds if self.seconds > 0 else 0.0


_Rate = Annotated[float, Field(ge=0.0, le=1.0)]
_Millis = Annotated[float, Field(gt=0.0, le=3_600_000.0)]
_Count = Annotated[int, Field(ge=1, le=1_000_000)]
_Seconds = Annotated[float, Field(gt=0.0, le=30 * 86_400.0)]


class Thresholds(BaseModel):
    """What the runtime is held to; the defaults are the documented ones (the
    gaps-and-backlog thresholds and the recursion blueprint), per environment.

    A value outside its range is refused with the field named (pydantic's
    `ValidationError`; `thresholds()` turns it into a `ThresholdError`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Literal["prod", "dev"] = "dev"
    success_rate_min: _Rate = 0.90
    """SAGA-001: transaction success rate at least this over `success_window`."""
    success_window: _Seconds = 300.0
    consecutive_compensations_max: _Count = 10
    """SAGA-001: more compensations than this in a row."""
    step_p95_max_ms: _Millis = 200.0
    step_p99_max_ms: _Millis = 500.0
    latency_window: _Seconds = 60.0
    consistency_min: _Rate = 0.95
    """SAGA-004: consistency at least this, sustained for `consistency_sustained`."""
    consistency_sustained: _Seconds = 86_400.0
    dead_letter_growth_max: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    """SAGA-002: compensation dead letters may grow by at most this over a window."""
    restarts_max: _Count = 5
    """SAGA-003: restarts of one actor type within `restart_window`."""
    restart_window: _Seconds = 60.0


PROFILES: dict[str, Thresholds] = {
    "dev": Thresholds(),
    "prod": Thresholds(environment="prod", success_rate_min=0.995, consistency_min=0.999),
}
"""The documented defaults per environment (`EVA_ENV`)."""
