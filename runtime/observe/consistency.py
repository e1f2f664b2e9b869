"""The consistency validator: does what the runtime holds agree with what happened?

The journal is the truth. A check replays each saga's stream with the engine's
own fold (`runtime.sagas.state.replay`) and compares the result with the read
models, asks every participant that can say what it holds (`Holder`) whether it
holds anything for a saga that has let go, looks for sagas past their deadline,
and verifies every hash chain. Each disagreement is a `Violation`: a corrupt
row, a broken chain or a saga of an unknown type is reported, never raised.

With `repair=True` it mends what is safe to mend, and only on sagas that have
stopped (failed or finished, with no runner here): a dead-lettered compensation is
re-driven with FORCE_COMPENSATION, and an orphaned reservation is released
through its participant's own compensation. A saga still running is never
touched.

Every check and every repair is appended to the journal stream `consistency`
(`ConsistencyChecked`, `ConsistencyRepaired`). The journal rather than the
decision log: repairs are the machine's doing, not the Chairman's, and the
decision log answers "who decided"; the journal's hash chain makes the record
as tamper-evident, `verify_journal` covers it, and the saga's own stream
records the re-drive with a reason naming the validator.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from runtime.observe._checks import Check
from runtime.observe._repairs import Repairer
from runtime.observe.violations import (
    STREAM,
    ConsistencyReport,
    Holder,
    Repair,
    Violation,
    ViolationKind,
    record,
    score,
)
from runtime.store.journal import NewEvent

if TYPE_CHECKING:
    from runtime.facade import Runtime

__all__ = [
    "DEFAULT_MAX_SAGAS",
    "STREAM",
    "ConsistencyReport",
    "Holder",
    "Repair",
    "Violation",
    "ViolationKind",
    "check_consistency",
    "last_score",
]

DEFAULT_MAX_SAGAS = 10_000
"""Sagas replayed per check unless told otherwise; past it, a sample (see
`check_consistency`)."""


async def check_consistency(
    runtime: Runtime,
    *,
    repair: bool = False,
    max_sagas: int = DEFAULT_MAX_SAGAS,
    deadline_grace: float = 0.0,
) -> ConsistencyReport:
    """Check the runtime's data against its journal, and repair what is safe.

    Args:
        repair: re-drive dead-lettered compensations and release orphaned
            reservations (never on a saga still running); each repair is recorded.
        max_sagas: at most this many sagas are replayed. Past it, every
            unfinished saga is (up to the bound), and a random sample of the
            finished ones fills the rest; the report says how many of how many.
        deadline_grace: seconds past its deadline before a saga counts as stuck.

    Raises:
        ValueError: `max_sagas` is below 1.
        EngineError: the database cannot be read or the record written; bad
            data never raise, they are violations.
    """
    if max_sagas < 1:
        raise ValueError("max_sagas must be at least 1")
    check = Check(runtime, deadline_grace)
    await runtime.writer.barrier()
    total = await check.sagas(max_sagas)
    await check.holdings()
    await check.chains()
    report = ConsistencyReport(
        score=score(check.violations, check.checked),
        checked=check.checked,
        violations=check.violations,
        repaired=[],
        at=check.now,
        sagas_checked=check.sagas_checked,
        sagas_total=total,
    )
    await record(runtime, [_checked_event(report)])
    if not repair:
        return report
    repairs = await Repairer(runtime).run(report.violations)
    return dataclasses.replace(report, repaired=repairs)


async def last_score(runtime: Runtime) -> tuple[float, float] | None:
    """The score of the last consistency check and when it ran, or None if none has."""
    journal = runtime.journal
    events = await journal.read(STREAM, after=max(0, await journal.version(STREAM) - 200))
    checks = [e for e in events if e.type == "ConsistencyChecked"]
    return (float(checks[-1].data["score"]), checks[-1].recorded_at) if checks else None


def _checked_event(report: ConsistencyReport) -> NewEvent:
    return NewEvent(
        "ConsistencyChecked",
        {
            "score": report.score,
            "checked": report.checked,
            "sagas_checked": report.sagas_checked,
            "sagas_total": report.sagas_total,
            "violations": {kind.value: n for kind, n in report.by_kind.items()},
            "subjects": [[v.kind.value, v.subject] for v in report.violations[:50]],
        },
    )
