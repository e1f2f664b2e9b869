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
  4. N sagas held in step 2, the process SIGKILLed, and a new process
     recovering them: seconds until all have completed;
  5. peak RSS of the process holding N sagas in step 2 (from scenario 4).

Durability: both commit each step's result before the next step starts, to
SQLite in WAL mode with synchronous=NORMAL (a commit survives the process
dying; a power cut may lose the last few). EVA sets those pragmas itself; DBOS
gets them from a SQLAlchemy pool "connect" listener in its worker process
(`--dbos-defaults` leaves DBOS as shipped). The pragmas each side's
connections report are printed.

Every scenario runs in a fresh subprocess (DBOS keeps global state, and RSS
must be per system). `--quick` (under a minute) runs DBOS with fewer sagas,
since it is ~50x slower; rates are still comparable.

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
from pathlib import Path
from typing import IO, Any

SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


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


# --- EVA ---------------------------------------------------------------------


def eva_runtime(db: Path, fail: bool, hold: Hold) -> Any:
    from runtime import (
        FunctionParticipant,
        RetryPolicy,
        Runtime,
        SagaDefinition,
        StepCall,
        StepDefinition,
        StepError,
        StepKind,
    )

    # Long timeouts so a held step 2 is not retried before the kill.
    definition = SagaDefinition(
        name="order",
        steps=[
            StepDefinition(name="reserve_inventory", participant="inventory", action="reserve",
                           compensation="release", timeout=600),
            StepDefinition(name="charge_payment", participant="payment", action="charge",
                           compensation="refund", timeout=600),
            StepDefinition(name="confirm_order", participant="order", action="confirm",
                           kind=StepKind.PIVOT, timeout=600, retry=RetryPolicy(max_attempts=1)),
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
    return Runtime(f"sqlite+aiosqlite:///{db}", definitions=[definition],
                   participants=participants, recover=True)


async def eva_worker(scenario: str, db: Path, n: int) -> dict[str, Any]:
    hold = Hold(n, holding=scenario == "hold")
    result: dict[str, Any] = {}
    start = time.perf_counter()
    async with eva_runtime(db, scenario == "failing", hold) as rt:
        if scenario == "recover":
            await rt.wait_settled()
            result["seconds"] = time.perf_counter() - start
        elif scenario == "sequential":
            result["latencies_ms"] = await timed_sequence(
                n, lambda: eva_one(rt), warmup=5)
        else:
            start = time.perf_counter()
            ids = await asyncio.gather(*(rt.start_saga("order", "acme") for _ in range(n)))
            if scenario == "hold":
                await hold.all_in.wait()
                emit({"ready": True, "peak_rss_mb": peak_rss_mb()})
                await asyncio.Event().wait()
            await rt.wait_for(ids)
            result["seconds"] = time.perf_counter() - start
        async with rt.engine.connect() as conn:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        result["sqlite"] = {"journal_mode": journal, "synchronous": SYNC_NAMES.get(sync, sync)}
        result["statuses"] = Counter(s.status for s in await rt.query_sagas())
    return result


async def eva_one(rt: Any) -> None:
    await rt.wait_for([await rt.start_saga("order", "acme")])


async def timed_sequence(n: int, one: Any, warmup: int) -> list[float]:
    """Milliseconds each of n sagas run one after another takes, after a warm-up."""
    for _ in range(warmup):
        await one()
    latencies = []
    for _ in range(n):
        began = time.perf_counter()
        await one()
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


# --- DBOS --------------------------------------------------------------------

DBOS_SEEN: dict[str, Any] = {}


def tune_dbos_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """Give each new DBOS connection EVA's pragmas (synchronous is per connection)."""
    for pragma in PRAGMAS:
        dbapi_conn.execute(pragma)


def record_dbos_pragmas(dbapi_conn: Any, _record: Any) -> None:
    DBOS_SEEN["journal_mode"] = dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = dbapi_conn.execute("PRAGMA synchronous").fetchone()[0]
    DBOS_SEEN["synchronous"] = SYNC_NAMES.get(sync, sync)


def dbos_launch(db: Path, fail: bool, hold: Hold, tune: bool) -> Any:
    """Launch DBOS on a SQLite system database; returns the order workflow."""
    import sqlalchemy as sa
    from dbos import DBOS

    # DBOS builds its engine inside launch(); a class-level pool listener is the
    # hook that reaches it. This process holds no other engine.
    if tune:
        sa.event.listen(sa.pool.Pool, "connect", tune_dbos_sqlite)
    sa.event.listen(sa.pool.Pool, "connect", record_dbos_pragmas)
    DBOS(config={"name": "bench-sagas", "system_database_url": f"sqlite:///{db}",
                 "application_version": "bench", "log_level": "WARNING"})

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


def dbos_statuses(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, count(*) FROM workflow_status GROUP BY status")
        return Counter(dict(rows.fetchall()))


async def dbos_worker(scenario: str, db: Path, n: int, tune: bool) -> dict[str, Any]:
    from dbos import DBOS

    hold = Hold(n, holding=scenario == "hold")
    result: dict[str, Any] = {}
    start = time.perf_counter()
    workflow = dbos_launch(db, scenario == "failing", hold, tune)
    if scenario == "recover":
        # Recovered workflows run on DBOS's own threads; poll their rows.
        while dbos_statuses(db)["SUCCESS"] < n:
            await asyncio.sleep(0.02)
        result["seconds"] = time.perf_counter() - start
    elif scenario == "sequential":

        async def one() -> None:
            await (await DBOS.start_workflow_async(workflow)).get_result()

        result["latencies_ms"] = await timed_sequence(n, one, warmup=5)
    else:
        start = time.perf_counter()
        handles = await asyncio.gather(*(DBOS.start_workflow_async(workflow) for _ in range(n)))
        if scenario == "hold":
            await hold.all_in.wait()
            emit({"ready": True, "peak_rss_mb": peak_rss_mb()})
            await asyncio.Event().wait()
        outcomes = await asyncio.gather(*(h.get_result() for h in handles))
        result["seconds"] = time.perf_counter() - start
        result["outcomes"] = Counter(outcomes)
    result["sqlite"] = dict(DBOS_SEEN)
    result["statuses"] = dbos_statuses(db)
    DBOS.destroy()
    return result


def worker_main(system: str, scenario: str, db: Path, n: int, tune: bool) -> None:
    if system == "eva":
        result = asyncio.run(eva_worker(scenario, db, n))
    else:
        result = asyncio.run(dbos_worker(scenario, db, n, tune))
    result["peak_rss_mb"] = peak_rss_mb()
    emit(result)


# --- the parent: spawning workers and reporting -------------------------------


class Bench:
    def __init__(self, folder: Path, tune_dbos: bool) -> None:
        self.folder, self.tune_dbos, self.runs = folder, tune_dbos, 0

    def command(
        self, system: str, scenario: str, n: int, db: Path | None = None
    ) -> tuple[list[str], Path]:
        self.runs += 1
        db = db or self.folder / f"{system}-{scenario}-{self.runs}.sqlite"
        cmd = [sys.executable, __file__, "--worker", system, scenario, str(db), str(n)]
        return cmd + ([] if self.tune_dbos else ["--dbos-defaults"]), db

    def run(self, system: str, scenario: str, n: int, db: Path | None = None) -> dict[str, Any]:
        cmd, _ = self.command(system, scenario, n, db)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            sys.exit(f"{system} {scenario} worker failed ({done.returncode}):\n{done.stderr}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def recovery(self, system: str, n: int) -> dict[str, Any]:
        """Hold n sagas in step 2, SIGKILL the process, time a new one finishing them."""
        cmd, db = self.command(system, "hold", n)
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
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


def check(system: str, scenario: str, result: dict[str, Any], n: int, want: str) -> None:
    count = result["statuses"].get(want, 0)
    if count != n:
        sys.exit(f"{system} {scenario}: {count} of {n} ended {want}: {result['statuses']}")


def throughput(bench: Bench, system: str, scenario: str, n: int, repeats: int) -> list[float]:
    want = {"eva": "completed", "dbos": "SUCCESS"}[system]
    if scenario == "failing" and system == "eva":
        want = "rolled_back"
    rates = []
    for _ in range(repeats):
        result = bench.run(system, scenario, n)
        check(system, scenario, result, n, want)
        if system == "dbos" and scenario == "failing":
            assert result["outcomes"] == {"rolled_back": n}, result["outcomes"]
        rates.append(n / result["seconds"])
    return rates


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def verdict(eva: float, dbos: float, higher_is_better: bool) -> str:
    """Which side wins, by how many times."""
    eva_wins = eva > dbos if higher_is_better else eva < dbos
    big, small = max(eva, dbos), min(eva, dbos)
    return f"{'EVA' if eva_wins else 'DBOS'} {ratio(big, small)}x better"


def measure(bench: Bench, quick: bool) -> dict[str, Any]:
    # Recovery and RSS always hold 1,000 sagas on both sides so they compare directly.
    eva_n, dbos_n, held = 1000, (200 if quick else 1000), 1000
    eva_reps, dbos_reps = (3, 1) if quick else (5, 5)
    seq_eva, seq_dbos = (100, 50) if quick else (200, 200)
    out: dict[str, Any] = {"quick": quick, "n": {"eva": eva_n, "dbos": dbos_n, "held": held}}
    for key, scenario in (("concurrent_sagas_per_s", "concurrent"),
                          ("compensating_sagas_per_s", "failing")):
        eva = throughput(bench, "eva", scenario, eva_n, eva_reps)
        dbos = throughput(bench, "dbos", scenario, dbos_n, dbos_reps)
        e, d = statistics.median(eva), statistics.median(dbos)
        out[key] = {"eva": round(e, 1), "dbos": round(d, 1), "ratio_eva_over_dbos": ratio(e, d),
                    "eva_runs": [round(r, 1) for r in eva], "dbos_runs": [round(r, 1) for r in dbos]}
    seq = {s: bench.run(s, "sequential", n)["latencies_ms"]
           for s, n in (("eva", seq_eva), ("dbos", seq_dbos))}
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        e, d = percentile(seq["eva"], q), percentile(seq["dbos"], q)
        out[f"sequential_{name}_ms"] = {"eva": round(e, 2), "dbos": round(d, 2),
                                        "ratio_dbos_over_eva": ratio(d, e)}
    rec = {s: bench.recovery(s, held) for s in ("eva", "dbos")}
    for s, r in rec.items():
        check(s, "recover", r, held, {"eva": "completed", "dbos": "SUCCESS"}[s])
    for key, field in (("recovery_in_process_s", "seconds"), ("recovery_wall_s", "wall_seconds"),
                       ("peak_rss_mb", "held_peak_rss_mb")):
        e, d = rec["eva"][field], rec["dbos"][field]
        out[key] = {"eva": round(e, 3), "dbos": round(d, 3), "ratio_dbos_over_eva": ratio(d, e)}
    out["sqlite"] = {s: rec[s]["sqlite"] for s in rec}
    out["targets_met"] = targets(out)
    return out


def targets(out: dict[str, Any]) -> dict[str, bool]:
    c, f = out["concurrent_sagas_per_s"], out["compensating_sagas_per_s"]
    return {
        "concurrent_1000_per_s_and_20x": c["eva"] >= 1000 and c["ratio_eva_over_dbos"] >= 20,
        "compensating_1000_per_s_and_20x": f["eva"] >= 1000 and f["ratio_eva_over_dbos"] >= 20,
        "sequential_p95_under_5ms": out["sequential_p95_ms"]["eva"] < 5,
        "recovery_under_2s": out["recovery_in_process_s"]["eva"] < 2,
        "rss_under_150mb": out["peak_rss_mb"]["eva"] < 150,
    }


ROWS = (
    ("concurrent_sagas_per_s", "1 concurrent, sagas/s (median)", True),
    ("compensating_sagas_per_s", "2 compensating, sagas/s (median)", True),
    ("sequential_p50_ms", "3 sequential p50, ms", False),
    ("sequential_p95_ms", "3 sequential p95, ms", False),
    ("recovery_in_process_s", "4 recovery, open to all done, s", False),
    ("recovery_wall_s", "4 recovery, spawn to exit, s", False),
    ("peak_rss_mb", "5 peak RSS, sagas in step 2, MB", False),
)


def report(out: dict[str, Any]) -> None:
    n = out["n"]
    print(f"\nsagas per throughput run: EVA {n['eva']}, DBOS {n['dbos']}"
          + (" (quick: fewer for DBOS; compare rates)" if out["quick"] else "")
          + f"; held for recovery and RSS: {n['held']} each")
    print(f"{'scenario':34} {'EVA':>9} {'DBOS':>9}  comparison")
    for key, label, higher_is_better in ROWS:
        eva, dbos = out[key]["eva"], out[key]["dbos"]
        print(f"{label:34} {eva:>9} {dbos:>9}  {verdict(eva, dbos, higher_is_better)}")
    c, f = out["concurrent_sagas_per_s"], out["compensating_sagas_per_s"]
    print(f"runs, sagas/s: concurrent EVA {c['eva_runs']} DBOS {c['dbos_runs']}; "
          f"compensating EVA {f['eva_runs']} DBOS {f['dbos_runs']}")
    for system, pragmas in out["sqlite"].items():
        print(f"{system} SQLite: journal_mode={pragmas['journal_mode']} "
              f"synchronous={pragmas['synchronous']}")
    print("EVA targets:", ", ".join(f"{k} {'yes' if v else 'NO'}"
                                    for k, v in out["targets_met"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--dir", type=Path, help="where the databases go (default: a temp dir)")
    parser.add_argument("--dbos-defaults", action="store_true",
                        help="leave DBOS's SQLite pragmas as shipped")
    parser.add_argument("--worker", nargs=4, metavar=("SYSTEM", "SCENARIO", "DB", "N"),
                        help=argparse.SUPPRESS)
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
