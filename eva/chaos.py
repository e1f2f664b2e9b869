"""`eva chaos`: the demo workload under injected faults, actor crashes and SIGKILLs.

The workload runs in a child process (`python -m eva.chaos_child`) with
participant failures, timeouts and compensation failures (`Faults`) and actor
crashes (`install_demo(crash_rate=...)`). The parent kills it with a real
SIGKILL at seeded random moments (each child lives on for a pause drawn
uniformly between 0 and twice `kill_every` once it has recovered) and starts
a new one on the same database, whose `Runtime.recover` resumes what the dead
one left in flight. When the
time is up the last child is killed too, and the parent itself reopens the
database with the faults off, recovers, lets every saga settle and reports
over the whole database.

Mean time to recovery is measured per kill, from the moment the parent sent
SIGKILL to the moment the next process's `recover()` returned: every saga
left in flight reloaded from the journal and running again, and the runtime
taking new sagas. It covers the dead process being reaped, a new interpreter
starting, the database opening, the demo's ledgers loading and the replay.
Both ends read `time.monotonic()`, one clock for every process on Linux. The
last kill's recovery is the settling pass in this process, so it includes no
interpreter start. The time to the first saga event a restarted child committed
(a resumed saga's step, or a new saga's start) is reported beside it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from eva.workspace import database_url
from runtime import EngineError, Faults, Runtime, install_demo, record_failure_suite, run_demo

STARTUP_TIMEOUT = 120.0
"""Seconds a new child may take to recover before the run is abandoned."""


class ChaosError(EngineError):
    """A chaos child died on its own or never recovered; the message says why."""


@dataclass(frozen=True, slots=True)
class ChaosSettings:
    """What `eva chaos` injects.

    Attributes:
        duration: seconds of workload under chaos (the final settling comes after).
        kill_every: mean seconds between a child's recovery and its SIGKILL.
        failure_rate, timeout_rate, crash_rate: as in `eva demo`; undo failures
            happen at a quarter of `failure_rate`.
    """

    duration: float
    seed: int = 0
    kill_every: float = 10.0
    failure_rate: float = 0.1
    timeout_rate: float = 0.005
    crash_rate: float = 0.02
    latency: float = 0.002


@dataclass(frozen=True, slots=True)
class ChaosReport:
    """What `eva chaos` prints. Saga counts are over the whole database.

    Attributes:
        duplicate_effects: steps whose effect some demo service applied twice (must be 0).
        lost: sagas a child acknowledged starting with no row, plus unfinished sagas
            nothing resumed (must be 0).
        resumed: sagas found in flight and resumed after the kills, all restarts together.
        mean_time_to_recovery_seconds: None when nothing was killed.
    """

    started: int
    completed: int
    rolled_back: int
    failed: int
    cancelled: int
    waiting: int
    duplicate_effects: int
    lost: int
    consistency_score: float
    consistency_violations: int
    incidents_opened: int
    incidents_auto_remediated: int
    incidents_healed: int
    """Auto-remediated and validated: closed."""
    kills: int
    resumed: int
    mean_time_to_recovery_seconds: float | None
    max_time_to_recovery_seconds: float | None
    mean_time_to_first_event_seconds: float | None
    dead_letters: int
    elapsed_seconds: float
    violations_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.duplicate_effects == 0 and self.lost == 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Child:
    """One workload process and what it has said so far."""

    process: subprocess.Popen[str]
    stderr: IO[str]
    lines: queue.Queue[str | None]
    recovered_at: float | None = None
    resumed: int = 0
    first_event_at: float | None = None

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.stderr.close()


def _read_lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


class _Chaos:
    def __init__(self, db: str | None, settings: ChaosSettings) -> None:
        self.db = db
        self.settings = settings
        self.rng = random.Random(f"chaos/{settings.seed}")
        self.acknowledged: set[str] = set()
        self.kill_times: list[float] = []
        self.recoveries: list[float] = []
        """Per kill: when the next process had recovered (monotonic)."""
        self.first_events: list[float | None] = []
        self.resumed = 0

    def _spawn(self, incarnation: int) -> _Child:
        s = self.settings
        # Closed once the child is reaped: it outlives this call.
        stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eva.chaos_child",
                *(("--db", self.db) if self.db is not None else ()),
                "--seed",
                str(s.seed * 1_000 + incarnation),
                "--failure-rate",
                str(s.failure_rate),
                "--timeout-rate",
                str(s.timeout_rate),
                "--crash-rate",
                str(s.crash_rate),
                "--latency",
                str(s.latency),
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.PIPE,  # its end of file tells the child this process is gone
            text=True,
        )
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(
            target=_read_lines, args=(process.stdout, lines), daemon=True, name="eva-chaos-reader"
        ).start()
        return _Child(process, stderr, lines)

    def _handle(self, child: _Child, line: str) -> None:
        words = line.split()
        if len(words) == 2 and words[0] == "started":
            self.acknowledged.add(words[1])
        elif len(words) == 3 and words[0] == "recovered":
            child.recovered_at = float(words[1])
            child.resumed = int(words[2])
        elif len(words) == 2 and words[0] == "event" and child.first_event_at is None:
            child.first_event_at = float(words[1])

    def _listen(self, child: _Child, until: float) -> bool:
        """Handle what the child says until `until` (monotonic), or until it says it has
        recovered if it had not yet; False once it has exited."""
        recovered = child.recovered_at is not None
        while True:
            left = until - time.monotonic()
            try:
                line = child.lines.get(timeout=left) if left > 0 else child.lines.get_nowait()
            except queue.Empty:
                return True
            if line is None:
                return False
            self._handle(child, line)
            if not recovered and child.recovered_at is not None:
                return True

    def _died(self, child: _Child) -> ChaosError:
        child.process.wait()
        child.stderr.seek(0)
        said = [line.strip() for line in child.stderr.read().splitlines() if line.strip()]
        last = said[-1] if said else "nothing on standard error"
        return ChaosError(
            f"the workload process exited on its own (status {child.process.returncode}): {last}"
        )

    def _kill(self, child: _Child) -> None:
        # Real SIGKILL: no handler, no cleanup, no flush; only what was committed survives.
        os.kill(child.process.pid, signal.SIGKILL)
        self.kill_times.append(time.monotonic())
        child.process.wait()
        child.close()
        # What it wrote to the pipe before it died is still its word.
        while (line := child.lines.get()) is not None:
            self._handle(child, line)

    def _await_recovery(self, child: _Child) -> float:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while child.recovered_at is None:
            if time.monotonic() >= deadline:
                raise ChaosError(
                    f"the workload process did not recover within {STARTUP_TIMEOUT:g}s"
                )
            if not self._listen(child, deadline):
                raise self._died(child)
        return child.recovered_at

    def run(self) -> None:
        """Children, killed and restarted, until the duration is up; the last one killed."""
        end = time.monotonic() + self.settings.duration
        incarnation = 0
        while True:
            child = self._spawn(incarnation)
            try:
                recovered = self._await_recovery(child)
                kill_at = min(recovered + self.rng.uniform(0.0, 2 * self.settings.kill_every), end)
                while time.monotonic() < kill_at:
                    if not self._listen(child, kill_at):
                        raise self._died(child)
            except BaseException:
                if child.process.poll() is None:
                    child.process.kill()
                    child.process.wait()
                child.close()
                raise
            self._kill(child)
            if incarnation > 0:
                self.recoveries.append(recovered)
                self.first_events.append(child.first_event_at)
                self.resumed += child.resumed
            incarnation += 1
            if time.monotonic() >= end:
                return


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(statistics.fmean(values), 3) if values else None


async def _check_database(url: str | None) -> None:
    # Fail with the runtime's own one-line reason before any child is started.
    async with Runtime(url, recover=False, maintenance_interval=None):
        pass


async def _settle(url: str | None, chaos: _Chaos, began: float) -> ChaosReport:
    async with Runtime(
        url, seed=chaos.settings.seed, recover=False, saga_coordinators=True
    ) as runtime:
        # The chaos is over: the last restart runs clean, so every saga can finish.
        await install_demo(runtime, Faults(), seed=chaos.settings.seed)
        resumed = await runtime.recover()
        if chaos.kill_times:
            chaos.recoveries.append(time.monotonic())
            chaos.resumed += len(resumed)
        summary = await run_demo(runtime, sagas=0, seed=chaos.settings.seed)
        for _ in range(3):
            # `run_demo` can return while a saga it has just approved is still finishing
            # (it is then counted as waiting); another pass waits for it.
            if summary.waiting == 0:
                break
            summary = await run_demo(runtime, sagas=0, seed=chaos.settings.seed)
        # Every row of saga_executions, to look each acknowledged start up in.
        found = {s.saga_id for s in await runtime.query_sagas()}
        consistency = await runtime.check_consistency()
        incidents = Counter(i.status for i in await runtime.incidents())
        lost = summary.lost + len(chaos.acknowledged - found)
        # The failure suite's verdict, for SAGA-004: nothing twice, nothing lost, consistent.
        await record_failure_suite(
            runtime,
            summary.duplicate_effects == 0 and lost == 0 and not consistency.violations,
            {"kills": len(chaos.kill_times), "sagas": len(found), "seed": chaos.settings.seed},
        )
    kills = chaos.kill_times
    recovery = [r - k for k, r in zip(kills, chaos.recoveries, strict=False)]
    first = [f - k for k, f in zip(kills, chaos.first_events, strict=False) if f is not None]
    return ChaosReport(
        started=len(found),
        completed=summary.completed,
        rolled_back=summary.rolled_back,
        failed=summary.failed,
        cancelled=summary.cancelled,
        waiting=summary.waiting,
        duplicate_effects=summary.duplicate_effects,
        lost=lost,
        consistency_score=round(consistency.score, 6),
        consistency_violations=len(consistency.violations),
        incidents_opened=sum(incidents.values()),
        # A remedy applied counts, validated (closed) or still awaiting its window.
        incidents_auto_remediated=incidents.get("closed", 0) + incidents.get("remediated", 0),
        incidents_healed=incidents.get("closed", 0),
        kills=len(kills),
        resumed=chaos.resumed,
        mean_time_to_recovery_seconds=_mean(recovery),
        max_time_to_recovery_seconds=round(max(recovery), 3) if recovery else None,
        mean_time_to_first_event_seconds=_mean(first),
        dead_letters=summary.dead_letters,
        elapsed_seconds=round(time.monotonic() - began, 3),
        violations_by_kind={str(k): n for k, n in consistency.by_kind.items()},
    )


def run_chaos(db: str | None, settings: ChaosSettings) -> ChaosReport:
    """Run the workload under chaos for `settings.duration` seconds, settle, and report.

    Args:
        db: database file or URL (None: `EVA_DATABASE_URL` or data/eva.db), as for
            `eva demo`; each child is given the same.

    Raises:
        EngineError: the database cannot be opened; ChaosError: a child died on its own
            or never recovered.
    """
    began = time.monotonic()
    url = database_url(db)
    asyncio.run(_check_database(url))
    chaos = _Chaos(db, settings)
    chaos.run()
    return asyncio.run(_settle(url, chaos, began))
