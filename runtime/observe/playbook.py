"""The remediation playbook: from a firing and its diagnosis to one configuration
change, described (recorded and applied elsewhere), or None to escalate.

| trigger  | dominant error class           | remediation                              |
|----------|--------------------------------|------------------------------------------|
| SAGA-001 | timeout                        | raise the step's timeout (×2, capped)    |
| SAGA-001 | transient                      | add retries to the step (+2, capped)     |
| SAGA-001 | rejected, crash, other         | pause the saga type if the rate collapsed|
| SAGA-002 | timeout, transient, other      | re-drive the dead-lettered compensations |
| SAGA-002 | rejected, crash                | none: the compensation logic needs a fix |
| SAGA-003 | (an actor type)                | restart the type; its restarts back off  |
| SAGA-003 | (escalated past the root)      | none: the whole tree gave up             |
| SAGA-004 | —                              | complete the stage with the report       |

SAGA-001 and SAGA-002 act only on a confident diagnosis; otherwise a person looks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from runtime.actors.supervision import Backoff
from runtime.observe.diagnosis import Diagnosis, ErrorClass
from runtime.observe.triggers import ROOT, Firing

Action = Literal[
    "raise_timeout",
    "add_retries",
    "pause_saga_type",
    "restart_actor",
    "redrive_compensations",
    "complete_stage",
]

TIMEOUT_FACTOR = 2.0
TIMEOUT_CAP = 60.0
"""Seconds; steps are held to a 500 ms p99, so a step that needs more than a minute
is broken, not slow, and more time will not help."""
ATTEMPTS_ADDED = 2
ATTEMPTS_CAP = 10
"""Attempts in all; past this, retries only pile load onto a failing service."""
COLLAPSE = 0.5
"""A success rate under this, or a run of compensations, with no explained cause
pauses the saga type rather than letting it keep failing."""
RESTART_BACKOFF = Backoff(initial=1.0, multiplier=2.0, max=60.0)
"""Seconds a crashed actor of the type waits before each supervised restart."""


@dataclass(frozen=True, slots=True)
class Remediation:
    """A configuration change to record and apply.

    Attributes:
        action: what kind of change.
        target: what it changes: "saga_type/step" (raise_timeout, add_retries,
            redrive_compensations), a saga type (pause_saga_type), an actor type
            (restart_actor), "stage" (complete_stage).
        change: the change's parameters, JSON-serialisable; the new values come
            from `raised_timeout` / `more_attempts` at apply time.
        reason: one sentence with the numbers that led to it.
    """

    action: Action
    target: str
    change: dict[str, Any]
    reason: str


def propose(firing: Firing, diagnosis: Diagnosis) -> Remediation | None:
    """The playbook's answer to `firing` (see the module's table); None means
    escalate to the Chairman's review panel. SAGA-003 and SAGA-004 do not consult
    the diagnosis."""
    match firing.trigger:
        case "SAGA-001":
            return _transaction_failure(firing, diagnosis)
        case "SAGA-002":
            return _compensation_failure(diagnosis)
        case "SAGA-003":
            if firing.key == ROOT:
                return None
            return Remediation(
                "restart_actor",
                firing.key,
                {"actor_type": firing.key, "backoff": dataclasses.asdict(RESTART_BACKOFF)},
                f"Actor type {firing.key} keeps crashing ({firing.summary.rstrip('.')}): "
                f"restart it, and make its restarts wait from {RESTART_BACKOFF.initial:g} s "
                f"up to {RESTART_BACKOFF.max:g} s.",
            )
        case "SAGA-004":
            return Remediation(
                "complete_stage",
                "stage",
                {"stage": "complete", "suggestions": firing.evidence.get("suggestions", [])},
                firing.summary,
            )


def narrow(firing: Firing, diagnosis: Diagnosis) -> Firing:
    """The firing keyed by what the diagnosis pins down, so the recursion bound
    counts per saga type (SAGA-001) or per compensation type (SAGA-002) rather
    than for "all"; unchanged when the diagnosis is not confident."""
    if not diagnosis.confident or firing.key != "all" or diagnosis.dominant_step is None:
        return firing
    if firing.trigger == "SAGA-001" and diagnosis.dominant_saga_type is not None:
        return dataclasses.replace(firing, key=diagnosis.dominant_saga_type)
    if firing.trigger == "SAGA-002":
        return dataclasses.replace(firing, key="/".join(diagnosis.dominant_step))
    return firing


def raised_timeout(seconds: float) -> float:
    """A step's timeout after `raise_timeout`: doubled, at most `TIMEOUT_CAP`, never lower."""
    return max(seconds, min(seconds * TIMEOUT_FACTOR, TIMEOUT_CAP))


def more_attempts(attempts: int) -> int:
    """A step's `max_attempts` after `add_retries`: two more, at most `ATTEMPTS_CAP`,
    never fewer."""
    return max(attempts, min(attempts + ATTEMPTS_ADDED, ATTEMPTS_CAP))


def _transaction_failure(firing: Firing, diagnosis: Diagnosis) -> Remediation | None:
    step, cause = diagnosis.dominant_step, diagnosis.dominant_error_class
    if not diagnosis.confident or step is None or cause is None:
        return None
    saga_type, name = step
    target = f"{saga_type}/{name}"
    why = _why(diagnosis, step, cause)
    if cause == "timeout":
        return Remediation(
            "raise_timeout",
            target,
            {
                "saga_type": saga_type,
                "step": name,
                "field": "timeout",
                "factor": TIMEOUT_FACTOR,
                "cap": TIMEOUT_CAP,
            },
            f"{why}: double its timeout, to at most {TIMEOUT_CAP:g} s.",
        )
    if cause == "transient":
        return Remediation(
            "add_retries",
            target,
            {
                "saga_type": saga_type,
                "step": name,
                "field": "retry.max_attempts",
                "add": ATTEMPTS_ADDED,
                "cap": ATTEMPTS_CAP,
            },
            f"{why}: allow {ATTEMPTS_ADDED} more attempts, at most {ATTEMPTS_CAP} in all.",
        )
    # Refusals (a card declined, stock gone) are the business saying no: no setting
    # fixes them, and stopping the type would turn some refusals into no sales at
    # all. Only a collapse, where nearly every saga of the type fails, is worth
    # stopping new ones until someone looks.
    if _collapsed(firing):
        return Remediation(
            "pause_saga_type",
            saga_type,
            {"saga_type": saga_type, "intake": "paused"},
            f"{why}: pause new {saga_type} sagas until someone looks, as the success "
            "rate collapsed.",
        )
    return None


def _compensation_failure(diagnosis: Diagnosis) -> Remediation | None:
    step, cause = diagnosis.dominant_step, diagnosis.dominant_error_class
    # A compensation that is refused or crashes fails the same way when re-driven:
    # its logic needs changing, which is a person's job.
    if not diagnosis.confident or step is None or cause in (None, "rejected", "crash"):
        return None
    saga_type, name = step
    return Remediation(
        "redrive_compensations",
        f"{saga_type}/{name}",
        {"saga_type": saga_type, "step": name, "queue": "compensation"},
        f"{_why(diagnosis, step, cause)}: re-drive its dead-lettered compensations.",
    )


def _collapsed(firing: Firing) -> bool:
    rate = firing.evidence.get("success_rate")
    in_a_row = "consecutive_compensations" in firing.evidence.get("conditions", [])
    return in_a_row or (rate is not None and rate < COLLAPSE)


def _why(diagnosis: Diagnosis, step: tuple[str, str], cause: ErrorClass) -> str:
    saga_type, name = step
    return (
        f"{diagnosis.error_class_shares[cause]:.0%} of {diagnosis.failures} failures were "
        f"{cause} errors and {diagnosis.step_shares[step]:.0%} were in step {name} of {saga_type}"
    )
