"""Durable sagas: EVA's saga engine against DBOS Transact, side by side in one run.

Both run the same order saga: reserve inventory, charge payment (both
compensable), confirm the order (the pivot). EVA runs it as a `SagaDefinition`
through `runtime.Runtime`; DBOS Transact as an async `@DBOS.workflow` calling
three `@DBOS.step`s, compensating in an `except` block when the last one fails.
Neither side retries a failed step.

Scenarios, each on a fresh database per system, all in one temporary directory:
  1. N sagas started at once: sagas/s until all have completed;
  2. the same with the pivot declined and both earlier steps compensated;
  3. one saga at a time: p50/p95 latency from start to finish;
  4. 1,000 sagas held in step 2, the process SIGKILLed, and a new process
     recovering them: seconds until all have completed;
  5. peak RSS of the process holding those 1,000 sagas in step 2.

Durability: both commit each step's result before the next step starts, to
SQLite in WAL mode with synchronous=NORMAL (a commit survives the process
dying; a power cut may lose the last few). EVA sets those pragmas itself
(runtime/store/engine.py); DBOS gets them from a SQLAlchemy pool "connect"
listener in its worker process (`--dbos-defaults` leaves DBOS as shipped:
rollback journal, synchronous=FULL). The pragmas each side's own connections
report are printed.

Every scenario runs in a fresh subprocess: DBOS keeps global state, and RSS
must be one system's alone. `--quick` (under a minute) runs the DBOS
throughput scenarios with 200 sagas instead of 1,000; compare rates.

Run from the repository root:
    python bench/sagas.py [--quick] [--dir DIR] [--dbos-defaults]
The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
HELD = 1000


class Hold:
    """Counts sagas that reached step 2 and, when holding, keeps them there.

    Reaching step 2 means step 1's result is committed: both systems record a
    step before running the next one.
    """

    def __init__(self, n: int, holding: bool) -> None:
        self.n, self.holding, self.count = n, holding, 0
        self.all_in = asyncio.Event()

    async def arrive(self) -> None:
        self.count += 1
        if self.count >= self.n:
            self.all_in.set()
        if self.holding:
            await asyncio.Event().wait()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


async def drive(
    scenario: str,
    n: int,
    hold: Hold,
    start: Callable[[], Awaitable[Any]],
    finish: Callable[[list[Any]], Awaitable[Any]],
) -> dict[str, Any]:
    """Run a throughput, sequential or hold scenario through one system's start/finish."""
    if scenario == "sequential":
        latencies = []
        for i in range(n + 5):  # the first 5 warm up
            began = time.perf_counter()
            await finish([await start()])
            if i >= 5:
                latencies.append((time.perf_counter() - began) * 1000)
        return {"latencies_ms": latencies}
    began = time.perf_counter()
    handles = await asyncio.gather(*(start() for _ in range(n)))
    if scenario == "hold":
        await hold.all_in.wait()
        emit({"ready": True, "peak_rss_mb": peak_rss_mb()})
        await asyncio.Event().wait()  # until the parent kills this process
    outcomes = await finish(handles)
    return {"seconds": time.perf_counter() - began, "returned": outcomes}


# --- EVA ---------------------------------------------------------------------


def eva_runtime(db: Path, fail: bool, hold: Hold) -> Any:
    from runtime import (
        FunctionParticipant,
        RetryPolicy,
        Runtime,
        SagaDefinition,
        StepCall,
        StepError,
        StepKind,
    )
    from runtime import StepDefinition as Step

    # Long timeouts, so no held step 2 times out and retries before the kill.
    definition = SagaDefinition(
        name="order",
        steps=[
            Step(
                name="reserve_inventory",
                participant="inventory",
                action="reserve",
                compensation="release",
                timeout=600,
            ),
            Step(
                name="charge_payment",
                participant="payment",
                action="charge",
                compensation="refund",
                timeout=600,
            ),
            Step(
                name="confirm_order",
                participant="order",
                action="confirm",
                kind=StepKind.PIVOT,
                timeout=600,
                retry=RetryPolicy(max_attempts=1),
            ),
        ],
    )

    async def nothing(_call: StepCall) -> None:
        return None

    async def charge(_call: StepCall) -> None:
        await hold.arrive()

    async def confirm(_call: StepCall) -> None:
        if fail:
            raise StepError("declined", kind="rejected")

    participants = [
        FunctionParticipant("inventory", {"reserve": nothing}, {"reserve": nothing}),
        FunctionParticipant("payment", {"charge": charge}, {"charge": nothing}),
        FunctionParticipant("order", {"confirm": confirm}),
    ]
    return Runtime(
        f"sqlite+aiosqlite:///{db}",
        definitions=[definition],
        participants=participants,
        recover=True,
    )


async def eva_worker(scenario: str, db: Path, n: int) -> dict[str, Any]:
    hold = Hold(n, holding=scenario == "hold")
    began = time.perf_counter()
    async with eva_runtime(db, scenario == "failing", hold) as rt:
        if scenario == "recover":
            # Runtime(recover=True) resumed every saga in flight on open.
            await rt.wait_settled()
            result: dict[str, Any] = {"seconds": time.perf_counter() - began}
        else:
            result = await drive(
                scenario, n, hold, lambda: rt.start_saga("order", "acme"), rt.wait_for
            )
        async with rt.engine.connect() as conn:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        result["sqlite"] = {"journal_mode": journal, "synchronous": SYNC_NAMES.get(sync, sync)}
        result["outcomes"] = Counter(s.status for s in await rt.query_sagas())
    return result


# --- DBOS --------------------------------------------------------------------

DBOS_PRAGMAS: dict[str, Any] = {}


def tune_dbos_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """Give each new DBOS connection EVA's pragmas (synchronous is per connection)."""
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA synchronous=NORMAL")


def record_dbos_pragmas(dbapi_conn: Any, _record: Any) -> None:
    DBOS_PRAGMAS["journal_mode"] = dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = dbapi_conn.execute("PRAGMA synchronous").fetchone()[0]
    DBOS_PRAGMAS["synchronous"] = SYNC_NAMES.get(sync, sync)


def dbos_launch(db: Path, fail: bool, hold: Hold, tune: bool) -> Any:
    """Launch DBOS on a SQLite system database; returns the order workflow."""
    import sqlalchemy as sa
    from dbos import DBOS

    # DBOS creates its engine inside launch(); a class-level pool listener
    # reaches it without patching DBOS. This process holds no other engine.
    if tune:
        sa.event.listen(sa.pool.Pool, "connect", tune_dbos_sqlite)
    sa.event.listen(sa.pool.Pool, "connect", record_dbos_pragmas)
    # A fixed version: recovery only resumes workflows of the same version.
    DBOS(
        config={
            "name": "bench-sagas",
            "system_database_url": f"sqlite:///{db}",
            "application_version": "bench",
            "log_level": "WARNING",
        }
    )

    @DBOS.step()
    async def reserve_inventory() -> None:
        return None

    @DBOS.step()
    async def charge_payment() -> None:
        await hold.arrive()

    @DBOS.step()
    async def confirm_order() -> None:
        if fail:
            raise ValueError("declined")

    @DBOS.step()
    async def refund() -> None:
        return None

    @DBOS.step()
    async def release() -> None:
        return None

    @DBOS.workflow()
    async def order_saga() -> str:
        await reserve_inventory()
        await charge_payment()
        try:
            await confirm_order()
        except ValueError:
            await refund()
            await release()
            return "rolled_back"
        return "completed"

    DBOS.launch()
    return order_saga


def dbos_succeeded(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        query = "SELECT count(*) FROM workflow_status WHERE status = 'SUCCESS'"
        return int(conn.execute(query).fetchone()[0])


def wait_dbos_succeeded(db: Path, n: int) -> None:
    # Recovered workflows run on DBOS's own threads and loop; their rows tell.
    while dbos_succeeded(db) < n:
        time.sleep(0.02)


async def dbos_worker(scenario: str, db: Path, n: int, tune: bool) -> dict[str, Any]:
    from dbos import DBOS

    hold = Hold(n, holding=scenario == "hold")
    began = time.perf_counter()
    workflow = dbos_launch(db, scenario == "failing", hold, tune)
    if scenario == "recover":
        await asyncio.to_thread(wait_dbos_succeeded, db, n)
        result: dict[str, Any] = {"seconds": time.perf_counter() - began}
        result["outcomes"] = {"completed": dbos_succeeded(db)}
    else:

        async def finish(handles: list[Any]) -> list[str]:
            return list(await asyncio.gather(*(h.get_result() for h in handles)))

        result = await drive(scenario, n, hold, lambda: DBOS.start_workflow_async(workflow), finish)
        result["outcomes"] = Counter(result.pop("returned", None) or ())
        result["succeeded"] = dbos_succeeded(db)  # rows, not just return values
    result["sqlite"] = dict(DBOS_PRAGMAS)
    DBOS.destroy()
    return result


def worker_main(system: str, scenario: str, db: Path, n: int, tune: bool) -> None:
    if system == "eva":
        result = asyncio.run(eva_worker(scenario, db, n))
    else:
        result = asyncio.run(dbos_worker(scenario, db, n, tune))
    result.pop("returned", None)
    result["peak_rss_mb"] = peak_rss_mb()
    emit(result)


# --- the parent: spawning workers and reporting -------------------------------


class Bench:
    def __init__(self, folder: Path, tune_dbos: bool) -> None:
        self.folder, self.tune_dbos, self.runs = folder, tune_dbos, 0

    def command(self, system: str, scenario: str, n: int, db: Path) -> list[str]:
        cmd = [sys.executable, __file__, "--worker", system, scenario, str(db), str(n)]
        return cmd + ([] if self.tune_dbos else ["--dbos-defaults"])

    def fresh_db(self, system: str, scenario: str) -> Path:
        self.runs += 1
        return self.folder / f"{system}-{scenario}-{self.runs}.sqlite"

    def run(self, system: str, scenario: str, n: int, db: Path | None = None) -> dict[str, Any]:
        cmd = self.command(system, scenario, n, db or self.fresh_db(system, scenario))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            sys.exit(f"{system} {scenario} worker failed ({done.returncode}):\n{done.stderr}")
        result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
        want = "rolled_back" if scenario == "failing" else "completed"
        done_n = (result["outcomes"].get(want), result.get("succeeded", n))
        if scenario != "sequential" and done_n != (n, n):
            sys.exit(f"{system} {scenario}: not all {n} sagas {want}: {result['outcomes']}")
        return result

    def recovery(self, system: str, n: int) -> dict[str, Any]:
        """Hold n sagas in step 2, SIGKILL the process, time a new one finishing them."""
        db = self.fresh_db(system, "recovery")
        with subprocess.Popen(
            self.command(system, "hold", n, db), stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            held = wait_ready(proc.stdout)
            if held is None:
                sys.exit(f"{system} hold worker exited ({proc.wait()}) before all sagas were in")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        began = time.perf_counter()
        result = self.run(system, "recover", n, db)
        result["wall_seconds"] = time.perf_counter() - began
        result["held_peak_rss_mb"] = held["peak_rss_mb"]
        return result


def wait_ready(stdout: IO[str]) -> dict[str, Any] | None:
    for line in stdout:
        if line.startswith('{"ready"'):
            return dict(json.loads(line))
    return None


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def rates(bench: Bench, system: str, scenario: str, n: int, repeats: int) -> list[float]:
    return [n / bench.run(system, scenario, n)["seconds"] for _ in range(repeats)]


def measure(bench: Bench, quick: bool) -> dict[str, Any]:
    eva_n, dbos_n = 1000, (200 if quick else 1000)
    eva_reps, dbos_reps = (3, 1) if quick else (5, 5)
    out: dict[str, Any] = {
        "quick": quick,
        "dbos_pragmas_tuned": bench.tune_dbos,
        "n": {"eva": eva_n, "dbos": dbos_n, "held": HELD},
    }
    for key, scenario in (
        ("concurrent_sagas_per_s", "concurrent"),
        ("compensating_sagas_per_s", "failing"),
    ):
        eva = rates(bench, "eva", scenario, eva_n, eva_reps)
        dbos = rates(bench, "dbos", scenario, dbos_n, dbos_reps)
        e, d = statistics.median(eva), statistics.median(dbos)
        out[key] = {
            "eva": round(e, 1),
            "dbos": round(d, 1),
            "ratio_eva_over_dbos": ratio(e, d),
            "eva_runs": [round(r) for r in eva],
            "dbos_runs": [round(r) for r in dbos],
        }
    seq_n = 200 if quick else 500
    seq = {s: bench.run(s, "sequential", seq_n)["latencies_ms"] for s in ("eva", "dbos")}
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        e, d = percentile(seq["eva"], q), percentile(seq["dbos"], q)
        out[f"sequential_{name}_ms"] = {
            "eva": round(e, 2),
            "dbos": round(d, 2),
            "ratio_dbos_over_eva": ratio(d, e),
        }
    rec = {s: bench.recovery(s, HELD) for s in ("eva", "dbos")}
    for key, field in (
        ("recovery_in_process_s", "seconds"),
        ("recovery_wall_s", "wall_seconds"),
        ("peak_rss_mb", "held_peak_rss_mb"),
    ):
        e, d = rec["eva"][field], rec["dbos"][field]
        out[key] = {"eva": round(e, 2), "dbos": round(d, 2), "ratio_dbos_over_eva": ratio(d, e)}
    out["sqlite"] = {s: rec[s]["sqlite"] for s in rec}
    c, f = out["concurrent_sagas_per_s"], out["compensating_sagas_per_s"]
    out["eva_targets_met"] = {
        "concurrent_1000_per_s_and_20x": c["eva"] >= 1000 and c["ratio_eva_over_dbos"] >= 20,
        "compensating_1000_per_s_and_20x": f["eva"] >= 1000 and f["ratio_eva_over_dbos"] >= 20,
        "sequential_p95_under_5ms": out["sequential_p95_ms"]["eva"] < 5,
        "recovery_under_2s": out["recovery_in_process_s"]["eva"] < 2,
        "rss_under_150mb": out["peak_rss_mb"]["eva"] < 150,
    }
    return out


ROWS = (  # key, label, whether higher is better
    ("concurrent_sagas_per_s", "1 concurrent, sagas/s (median)", True),
    ("compensating_sagas_per_s", "2 compensating, sagas/s (median)", True),
    ("sequential_p50_ms", "3 sequential p50, ms", False),
    ("sequential_p95_ms", "3 sequential p95, ms", False),
    ("recovery_in_process_s", "4 recovery, open to all done, s", False),
    ("recovery_wall_s", "4 recovery, spawn to exit, s", False),
    ("peak_rss_mb", "5 peak RSS, 1,000 in step 2, MB", False),
)


def verdict(eva: float, dbos: float, higher_is_better: bool) -> str:
    eva_wins = (eva > dbos) == higher_is_better
    return f"{'EVA' if eva_wins else 'DBOS'} {ratio(max(eva, dbos), min(eva, dbos))}x better"


def report(out: dict[str, Any]) -> None:
    n = out["n"]
    print(
        f"\nsagas per throughput run: EVA {n['eva']}, DBOS {n['dbos']}"
        + (" (quick: fewer for DBOS; compare rates)" if out["quick"] else "")
    )
    print(f"{'scenario':34} {'EVA':>8} {'DBOS':>8}  comparison")
    for key, label, higher_is_better in ROWS:
        eva, dbos = out[key]["eva"], out[key]["dbos"]
        print(f"{label:34} {eva:>8} {dbos:>8}  {verdict(eva, dbos, higher_is_better)}")
    c, f = out["concurrent_sagas_per_s"], out["compensating_sagas_per_s"]
    print(
        f"runs, sagas/s: concurrent EVA {c['eva_runs']} DBOS {c['dbos_runs']}; "
        f"compensating EVA {f['eva_runs']} DBOS {f['dbos_runs']}"
    )
    for system, pragmas in out["sqlite"].items():
        print(
            f"{system} SQLite: journal_mode={pragmas['journal_mode']} "
            f"synchronous={pragmas['synchronous']}"
        )
    print(
        "EVA targets:",
        ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in out["eva_targets_met"].items()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="EVA's saga engine against DBOS Transact")
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--dir", type=Path, help="where the databases go (default: a temp dir)")
    parser.add_argument(
        "--dbos-defaults", action="store_true", help="leave DBOS's SQLite pragmas as shipped"
    )
    parser.add_argument(
        "--worker", nargs=4, metavar=("SYSTEM", "SCENARIO", "DB", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        system, scenario, db, n = args.worker
        worker_main(system, scenario, Path(db), int(n), tune=not args.dbos_defaults)
        return
    with tempfile.TemporaryDirectory(prefix="eva-bench-sagas-", dir=args.dir) as folder:
        began = time.perf_counter()
        out = measure(Bench(Path(folder), tune_dbos=not args.dbos_defaults), args.quick)
        out["bench_seconds"] = round(time.perf_counter() - began, 1)
    report(out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
