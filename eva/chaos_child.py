"""The process `eva chaos` kills: the demo workload, batch after batch, until SIGKILL.

Run as `python -m eva.chaos_child --db DB --seed N ...`. It opens the runtime
without resuming, installs the demo with the faults it was given, resumes what
the previous (killed) process left in flight, then runs `run_demo` batches
forever, approving sagas that wait for the Chairman. It reports on standard
output, one line each, flushed as it happens:

    recovered MONOTONIC N    `recover()` returned, N sagas resumed
    event MONOTONIC          the first saga event committed by this process
    started SAGA_ID          a saga's start is committed (the parent's log of starts)

Its standard input is a pipe from the parent that is never written to: when
it reaches end of file the parent is gone, and the child exits at once rather
than run on unwatched.

MONOTONIC is `time.monotonic()`, which on Linux is one clock for every
process on the machine, so the parent can subtract its own kill time from it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from collections.abc import Sequence

from eva.workspace import database_url
from runtime import Faults, Runtime, install_demo, run_demo

BATCH = 25
"""Sagas per `run_demo` batch: small, so a kill finds sagas at every stage."""


def _exit_when_orphaned() -> None:
    sys.stdin.read()
    # Stopping without cleanup is what the database has to survive anyway.
    os._exit(3)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _first_event(runtime: Runtime) -> None:
    # The bus publishes a saga event only once its write has committed.
    async for event in runtime.events():
        if event.kind == "saga":
            _say(f"event {time.monotonic():.6f}")
            return


async def _work(args: argparse.Namespace) -> None:
    faults = Faults(
        failure_rate=args.failure_rate,
        timeout_rate=args.timeout_rate,
        compensation_failure_rate=args.failure_rate / 4,
        latency=args.latency,
    )
    # Watching: the recursion loop heals what the faults break, and the report
    # counts the incidents it opened and closed.
    async with Runtime(
        database_url(args.db), seed=args.seed, recover=False, saga_coordinators=True, watch=True
    ) as runtime:
        await install_demo(runtime, faults, seed=args.seed, crash_rate=args.crash_rate)
        watcher = asyncio.create_task(_first_event(runtime))
        resumed = await runtime.recover()
        _say(f"recovered {time.monotonic():.6f} {len(resumed)}")
        batch = 0
        try:
            while True:
                await run_demo(
                    runtime,
                    sagas=BATCH,
                    seed=args.seed * 100_003 + batch,
                    on_started=lambda saga_id: _say(f"started {saga_id}"),
                )
                batch += 1
        finally:
            watcher.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eva.chaos_child")
    parser.add_argument("--db")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--crash-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.002)
    args = parser.parse_args(argv)
    threading.Thread(target=_exit_when_orphaned, daemon=True, name="eva-orphan-watch").start()
    asyncio.run(_work(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
