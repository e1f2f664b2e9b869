"""The failure suite's verdict, kept in the journal: SAGA-004 needs the failure
scenarios green as well as a sustained consistency score.

`eva chaos` (crashes, timeouts, SIGKILL and restart) records each run here; the
watcher reads the last one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.store.journal import NewEvent

if TYPE_CHECKING:
    from runtime.facade import Runtime

STREAM = "failure-suite"
"""The journal stream of failure-suite runs."""


async def record_failure_suite(runtime: Runtime, passed: bool, details: dict[str, Any]) -> None:
    """Append one run's verdict (and its figures) to the journal."""
    journal = runtime.journal
    version = await journal.version(STREAM)
    await journal.append(
        STREAM, version, [NewEvent("FailureSuiteRan", {"passed": passed, **details})]
    )


async def failure_suite_green(runtime: Runtime) -> bool:
    """Whether the last recorded failure-suite run passed (False if none was recorded)."""
    journal = runtime.journal
    version = await journal.version(STREAM)
    if version == 0:
        return False
    [last] = await journal.read(STREAM, after=version - 1)
    return bool(last.data["passed"])
