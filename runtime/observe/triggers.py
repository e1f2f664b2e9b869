"""The recursion blueprint's SAGA-001..004 triggers as pure functions of metric windows.

Each rule reads only the windows and thresholds it is given (time comes in the
windows), so it is tested with made-up windows and never reads the clock. A rule
returns a `Firing` naming what the incident is about (its `key`); the incident
keeps count of its remediation attempts, and `next_step` says when the
blueprint's bound is spent and the Chairman's review panel takes over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runtime.observe.windows import MetricWindow, Percentiles, Thresholds

Trigger = Literal["SAGA-001", "SAGA-002", "SAGA-003", "SAGA-004"]

BOUNDS: dict[Trigger, int] = {"SAGA-001": 3, "SAGA-002": 5, "SAGA-003": 3, "SAGA-004": 1}
"""Remediation attempts per incident key before escalating (the blueprint's bounds:
SAGA-001 per incident, SAGA-002 per compensation type, SAGA-003 per actor type,
SAGA-004 once)."""

MIN_ENDED = 20
"""Sagas that must have ended in a window before its success rate is trusted: below
this a single failure moves the rate by more than the dev margin (10%), so one
unlucky saga out of a handful would open an incident."""

NEAR_LIMIT = 0.8
"""SAGA-004 suggests looking at a step whose p95 or p99 is past this share of its limit."""

ROOT = "root"
"""SAGA-003's key for failures that escalated past the root supervisor: the window
does not say which actor type they came from."""

# Windows computed with float arithmetic (start = end - length) may miss each
# other by a rounding error; that is not a gap in the evidence.
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Firing:
    """A trigger's condition held: an incident should be opened (or continued).

    Attributes:
        trigger: which rule fired.
        key: what the incident is about, for the recursion bounds: the saga type
            or "all" (SAGA-001), the compensation type "saga_type/step" or "all"
            (SAGA-002), the actor type or "root" (SAGA-003), "stage" (SAGA-004).
        summary: one plain sentence with the numbers.
        evidence: the figures behind it, JSON-serialisable (it is journaled);
            `conditions` lists which of the rule's conditions held.
    """

    trigger: Trigger
    key: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def saga_001(
    window: MetricWindow, thresholds: Thresholds, *, min_ended: int = MIN_ENDED
) -> Firing | None:
    """Transaction failure: the success rate is under the minimum (with at least
    `min_ended` sagas ended in the window), or more sagas than allowed were
    compensated in a row."""
    rate = window.success_rate
    low_rate = (
        rate is not None and window.ended_total >= min_ended and rate < thresholds.success_rate_min
    )
    in_a_row = window.consecutive_compensations > thresholds.consecutive_compensations_max
    if not (low_rate or in_a_row):
        return None
    parts: list[str] = []
    if low_rate and rate is not None:
        parts.append(
            f"the transaction success rate was {rate:.1%} over {_duration(window.seconds)} "
            f"({window.ended.get('completed', 0)} of {window.ended_total} sagas completed), "
            f"under the {thresholds.success_rate_min:.1%} minimum"
        )
    if in_a_row:
        parts.append(
            f"the last {window.consecutive_compensations} sagas in a row were compensated, "
            f"more than the {thresholds.consecutive_compensations_max} allowed"
        )
    return Firing(
        "SAGA-001",
        "all",
        _sentence(parts),
        {
            "conditions": [
                c
                for c, held in (("success_rate", low_rate), ("consecutive_compensations", in_a_row))
                if held
            ],
            "window": [window.start, window.end],
            "ended": dict(window.ended),
            "success_rate": rate,
            "success_rate_min": thresholds.success_rate_min,
            "consecutive_compensations": window.consecutive_compensations,
            "consecutive_compensations_max": thresholds.consecutive_compensations_max,
        },
    )


def saga_002(window: MetricWindow, thresholds: Thresholds) -> Firing | None:
    """Compensation failure: a compensation gave up after its retries in the window,
    or the compensation dead letters grew by more than allowed."""
    failed = window.compensation_failures > 0
    growth = window.dead_letters - window.dead_letters_before
    grew = growth > thresholds.dead_letter_growth_max
    if not (failed or grew):
        return None
    parts: list[str] = []
    if failed:
        parts.append(
            f"{window.compensation_failures} of {window.compensations} compensations gave up "
            f"after their retries in {_duration(window.seconds)}"
        )
    if grew:
        parts.append(
            f"compensation dead letters grew from {window.dead_letters_before} to "
            f"{window.dead_letters}, more than the {thresholds.dead_letter_growth_max} allowed"
        )
    return Firing(
        "SAGA-002",
        "all",
        _sentence(parts),
        {
            "conditions": [
                c
                for c, held in (("compensation_failures", failed), ("dead_letter_growth", grew))
                if held
            ],
            "window": [window.start, window.end],
            "compensations": window.compensations,
            "compensation_failures": window.compensation_failures,
            "dead_letters": window.dead_letters,
            "dead_letters_before": window.dead_letters_before,
            "dead_letter_growth_max": thresholds.dead_letter_growth_max,
        },
    )


def saga_003(window: MetricWindow, thresholds: Thresholds) -> list[Firing]:
    """Supervision failure: one firing per actor type restarted more than
    `restarts_max` times in the window (counted over `restart_window` by the
    metrics), and one keyed `ROOT` when failures escalated past the root."""
    firings = [
        Firing(
            "SAGA-003",
            actor_type,
            f"Actor type {actor_type} restarted {restarts} times in "
            f"{_duration(window.seconds)}, more than the {thresholds.restarts_max} allowed.",
            {
                "conditions": ["restarts"],
                "window": [window.start, window.end],
                "actor_type": actor_type,
                "restarts": restarts,
                "restarts_max": thresholds.restarts_max,
            },
        )
        for actor_type, restarts in sorted(window.actor_restarts.items())
        if restarts > thresholds.restarts_max
    ]
    if window.escalations_to_root > 0:
        firings.append(
            Firing(
                "SAGA-003",
                ROOT,
                f"{window.escalations_to_root} failure(s) escalated past the root supervisor "
                f"in {_duration(window.seconds)}.",
                {
                    "conditions": ["escalation_to_root"],
                    "window": [window.start, window.end],
                    "escalations_to_root": window.escalations_to_root,
                },
            )
        )
    return firings


def saga_004(
    windows: Sequence[MetricWindow],
    thresholds: Thresholds,
    failure_suite_green: bool,
    *,
    min_ended: int = MIN_ENDED,
) -> Firing | None:
    """Consistency verified (the success path), with a completion report.

    Fires when the windows that end within the last `consistency_sustained`
    seconds cover that span with no gap and each has a consistency score at least
    `consistency_min` (a window that was not checked is no evidence, so it breaks
    the run); the failure suite is green; over the run at least `min_ended` sagas
    ended and the success rate is at least the minimum; and in the latest window
    every step's p95 and p99 are within their limits (latency is a per-minute
    figure, so "within" is judged now, while the rate needs the day's evidence).
    """
    if not windows or not failure_suite_green:
        return None
    run = _sustained_run(windows, thresholds.consistency_sustained)
    if run is None:
        return None
    scores = [w.consistency_score for w in run]
    if any(s is None or s < thresholds.consistency_min for s in scores):
        return None
    ended = _sum_counts(w.ended for w in run)
    total = sum(ended.values())
    if total < min_ended or ended.get("completed", 0) / total < thresholds.success_rate_min:
        return None
    latest = max(run, key=lambda w: w.end)
    if any(_over_limit(p, thresholds) for p in latest.step_latency.values()):
        return None
    report = _completion_report(run, thresholds, ended)
    lowest = min(s for s in scores if s is not None)
    return Firing(
        "SAGA-004",
        "stage",
        f"Consistency stayed at or above {thresholds.consistency_min:.1%} (lowest {lowest:.1%}) "
        f"for {_duration(thresholds.consistency_sustained)}, with {report['success_rate']:.1%} "
        f"of {total} sagas completed, the failure suite green and step latency within limits: "
        "the stage is complete.",
        report,
    )


def evaluate(
    windows: Sequence[MetricWindow],
    thresholds: Thresholds,
    failure_suite_green: bool,
    *,
    min_ended: int = MIN_ENDED,
) -> list[Firing]:
    """Every rule at once: SAGA-001..003 on the window that ends last, SAGA-004 on
    all of them. Returns the firings in trigger order (nothing when `windows` is
    empty)."""
    if not windows:
        return []
    latest = max(windows, key=lambda w: w.end)
    firings = [
        f
        for f in (
            saga_001(latest, thresholds, min_ended=min_ended),
            saga_002(latest, thresholds),
        )
        if f is not None
    ]
    firings.extend(saga_003(latest, thresholds))
    done = saga_004(windows, thresholds, failure_suite_green, min_ended=min_ended)
    if done is not None:
        firings.append(done)
    return firings


def next_step(incident_attempts: int, trigger: Trigger) -> Literal["remediate", "escalate"]:
    """What an incident does next, given the remediation attempts it has made:
    remediate while fewer than the trigger's bound, then escalate to the Chairman's
    review panel. (For SAGA-004, "remediate" means issuing the completion report.)

    Raises:
        ValueError: `incident_attempts` is negative.
    """
    if incident_attempts < 0:
        raise ValueError(f"incident attempts cannot be negative, got {incident_attempts}")
    return "remediate" if incident_attempts < BOUNDS[trigger] else "escalate"


def _sustained_run(windows: Sequence[MetricWindow], sustained: float) -> list[MetricWindow] | None:
    """The windows ending within the last `sustained` seconds, oldest first, if they
    cover the whole span with no gap; None otherwise."""
    now = max(w.end for w in windows)
    since = now - sustained
    run = sorted((w for w in windows if w.end > since), key=lambda w: (w.start, w.end))
    covered = since
    for w in run:
        if w.start > covered + _EPSILON:
            return None
        covered = max(covered, w.end)
    return run


def _over_limit(p: Percentiles, thresholds: Thresholds) -> bool:
    return p.p95 > thresholds.step_p95_max_ms or p.p99 > thresholds.step_p99_max_ms


def _completion_report(
    run: Sequence[MetricWindow], thresholds: Thresholds, ended: dict[str, int]
) -> dict[str, Any]:
    """The SAGA-004 payload: what the stage achieved and where to optimise next."""
    latest = max(run, key=lambda w: w.end)
    scores = [w.consistency_score for w in run if w.consistency_score is not None]
    total = sum(ended.values())
    seconds = latest.end - run[0].start
    compensations = sum(w.compensations for w in run)
    restarts = _sum_counts(w.actor_restarts for w in run)
    return {
        "conditions": ["consistency_sustained", "failure_suite_green", "performance"],
        "window": [run[0].start, latest.end],
        "windows": len(run),
        "consistency_min": min(scores),
        "consistency_mean": sum(scores) / len(scores),
        "consistency_threshold": thresholds.consistency_min,
        "ended": ended,
        "success_rate": ended.get("completed", 0) / total,
        "throughput": total / seconds if seconds > 0 else 0.0,
        "compensations": compensations,
        "compensation_failures": sum(w.compensation_failures for w in run),
        "dead_letters": latest.dead_letters,
        "actor_restarts": restarts,
        "step_latency": {
            _step_name(k): {"p50": p.p50, "p95": p.p95, "p99": p.p99, "count": p.count}
            for k, p in sorted(latest.step_latency.items())
        },
        "failure_suite_green": True,
        "suggestions": _suggestions(latest, thresholds, total, compensations, restarts),
    }


def _suggestions(
    latest: MetricWindow,
    thresholds: Thresholds,
    ended: int,
    compensations: int,
    restarts: dict[str, int],
) -> list[dict[str, str]]:
    """Optimisation hints, each with what it is about and one sentence why."""
    hints: list[dict[str, str]] = []
    for (saga_type, step), p in sorted(latest.step_latency.items()):
        name = _step_name((saga_type, step))
        for label, value, limit in (
            ("p95", p.p95, thresholds.step_p95_max_ms),
            ("p99", p.p99, thresholds.step_p99_max_ms),
        ):
            if value >= NEAR_LIMIT * limit:
                hints.append(
                    {
                        "target": name,
                        "kind": "latency_near_limit",
                        "text": f"step {name} has a {label} of {value:.0f} ms, "
                        f"{value / limit:.0%} of its {limit:.0f} ms limit: make it faster "
                        "or give it more headroom before load grows",
                    }
                )
                break
        saga = latest.saga_latency.get(saga_type)
        if saga is not None and saga.p50 > 0 and p.p50 >= 0.5 * saga.p50:
            hints.append(
                {
                    "target": name,
                    "kind": "dominant_step",
                    "text": f"step {name} takes {p.p50 / saga.p50:.0%} of a typical "
                    f"{saga_type} saga ({p.p50:.0f} of {saga.p50:.0f} ms at p50): it is the "
                    "one to speed up or run in parallel",
                }
            )
    if ended and compensations / ended >= 0.05:
        hints.append(
            {
                "target": "compensations",
                "kind": "compensation_rate",
                "text": f"{compensations} compensations for {ended} ended sagas "
                f"({compensations / ended:.0%}): find out which steps are rejected most",
            }
        )
    for actor_type, count in sorted(restarts.items()):
        if count:
            hints.append(
                {
                    "target": actor_type,
                    "kind": "actor_restarts",
                    "text": f"actor type {actor_type} restarted {count} times over the run, "
                    "within its limits but worth a look at its crash logs",
                }
            )
    if latest.dead_letters:
        hints.append(
            {
                "target": "dead_letters",
                "kind": "dead_letters",
                "text": f"{latest.dead_letters} compensation dead letters are still "
                "unresolved: re-drive or resolve them",
            }
        )
    return hints


def _sum_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return total


def _step_name(key: tuple[str, str]) -> str:
    return f"{key[0]}/{key[1]}"


def _sentence(parts: list[str]) -> str:
    text = "; and ".join(parts)
    return text[0].upper() + text[1:] + "."


def _duration(seconds: float) -> str:
    """Seconds as a person says them: 300 → "5 min", 86400 → "24 h"."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
