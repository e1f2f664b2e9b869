"""EVA's journal against the `eventsourcing` library's SQLite recorder, side by side.

* append: 100 writers each append one event at a time to their own stream,
  each committed before the writer's next. EVA: 100 asyncio tasks on
  `SqlJournal.append` (its group-commit writer batches their commits).
  eventsourcing: 100 threads on `SQLiteAggregateRecorder.insert_events`, the
  library's leanest recorder (no notification log); it admits one writer at a time.
* replay: 1,000 streams of 10 events read back, one stream at a time (EVA
  `read`, eventsourcing `select_events`), and with EVA's `read_many` at once.

Every event has the same ~100-byte JSON payload (5 fields), which both sides
encode and decode with orjson. Same durability, files in one temporary folder:
WAL and `synchronous=NORMAL` (a commit survives a process crash, not a power
cut). EVA sets both per connection (runtime/store/engine.py); eventsourcing
sets WAL but leaves SQLite's default synchronous=FULL, so this script sets
NORMAL on its connections. Both sides' pragmas are read back and printed.

Run from the repository root; the last line of stdout is one JSON object:

    python -m bench.journal --quick   # 100 x 100 events, median of 3: seconds
    python -m bench.journal           # 100 x 500 events, median of 5: about a minute
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent as EsEvent
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)

from runtime import Runtime
from runtime.store.engine import sqlite_url
from runtime.store.journal import NewEvent, SqlJournal

WRITERS = 100
REPLAY_STREAMS = 1_000
REPLAY_EVENTS = 10
EVENT_TYPE = "OrderReserved"
ES_TOPIC = "bench.journal:OrderReserved"
# The library's 5 s is too short for 100 threads queued on its one writer lock.
ES_POOL_TIMEOUT = 120.0
# A replay pass takes tens of milliseconds, so it gets more repetitions to steady its median.
REPLAY_REPS_FACTOR = 3
TARGETS = {"append": 10.0, "replay": 5.0}
CONCURRENCY = f"EVA: {WRITERS} asyncio tasks; eventsourcing: {WRITERS} threads"
PRAGMA_QUERY = "SELECT (SELECT * FROM pragma_journal_mode), (SELECT * FROM pragma_synchronous)"
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
PAYLOAD_BASE = {"currency": "EUR", "status": "reserved", "channel": "web-shop"}

LABELS = {
    "append_events_per_s": ("append (events/s)", "append"),
    "replay_streams_per_s": ("replay, read (streams/s)", "replay"),
    "replay_read_many_streams_per_s": ("replay, read_many (streams/s)", "replay"),
}

Figure = dict[str, float]


def payload(stream: int, n: int) -> dict[str, Any]:
    return {"order_id": f"order-{stream:06d}", "sequence": n, **PAYLOAD_BASE}


def durability(row: Any) -> dict[str, str]:
    return {"journal_mode": str(row[0]), "synchronous": SYNC_NAMES[int(row[1])]}


class _NormalSyncPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn.cursor().execute("PRAGMA synchronous=NORMAL")
        return conn


def es_open(path: Path) -> SQLiteAggregateRecorder:
    datastore = SQLiteDatastore(str(path), pool_timeout=ES_POOL_TIMEOUT)
    # The datastore has no hook for per-connection pragmas, so give it a pool that sets them.
    datastore.pool.close()
    datastore.pool = _NormalSyncPool(db_name=str(path), pool_timeout=ES_POOL_TIMEOUT)
    recorder = SQLiteAggregateRecorder(datastore)
    recorder.create_table()
    return recorder


def es_durability(recorder: SQLiteAggregateRecorder) -> dict[str, str]:
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(PRAGMA_QUERY)
        return durability(cursor.fetchone())


def es_event(stream: uuid.UUID, index: int, version: int) -> EsEvent:
    return EsEvent(stream, version, ES_TOPIC, orjson.dumps(payload(index, version)))


def es_writer(recorder: SQLiteAggregateRecorder, index: int, n: int, go: threading.Barrier) -> None:
    stream = uuid.uuid4()
    go.wait()
    for version in range(1, n + 1):
        recorder.insert_events([es_event(stream, index, version)])


def es_append(path: Path, n: int) -> float:
    """Events per second."""
    recorder = es_open(path)
    # The barrier keeps thread start-up out of the timing.
    go = threading.Barrier(WRITERS + 1)
    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            futures = [pool.submit(es_writer, recorder, i, n, go) for i in range(WRITERS)]
            go.wait()
            start = time.perf_counter()
            for future in futures:
                future.result()
            elapsed = time.perf_counter() - start
    finally:
        recorder.datastore.close()
    return WRITERS * n / elapsed


def es_seed(recorder: SQLiteAggregateRecorder) -> list[uuid.UUID]:
    streams = [uuid.uuid4() for _ in range(REPLAY_STREAMS)]
    events = [es_event(s, i, v) for i, s in enumerate(streams) for v in range(1, REPLAY_EVENTS + 1)]
    recorder.insert_events(events)
    return streams


def es_replay(recorder: SQLiteAggregateRecorder, streams: list[uuid.UUID]) -> float:
    """Seconds to read every stream, one `select_events` each."""
    start = time.perf_counter()
    for stream in streams:
        decoded = [orjson.loads(e.state) for e in recorder.select_events(stream)]
        assert len(decoded) == REPLAY_EVENTS
    return time.perf_counter() - start


async def eva_durability(rt: Runtime) -> dict[str, str]:
    async with rt.engine.connect() as conn:
        return durability((await conn.exec_driver_sql(PRAGMA_QUERY)).one())


async def eva_writer(journal: SqlJournal, index: int, n: int) -> None:
    stream = str(uuid.uuid4())
    for version in range(n):
        await journal.append(stream, version, [NewEvent(EVENT_TYPE, payload(index, version + 1))])


async def eva_append(path: Path, n: int) -> float:
    """Events per second."""
    async with Runtime(sqlite_url(path), recover=False) as rt:
        start = time.perf_counter()
        await asyncio.gather(*(eva_writer(rt.journal, i, n) for i in range(WRITERS)))
        elapsed = time.perf_counter() - start
    return WRITERS * n / elapsed


async def eva_seed(journal: SqlJournal) -> list[str]:
    streams = [str(uuid.uuid4()) for _ in range(REPLAY_STREAMS)]
    versions = range(1, REPLAY_EVENTS + 1)
    batches = [[NewEvent(EVENT_TYPE, payload(i, v)) for v in versions] for i in range(len(streams))]
    await asyncio.gather(*(journal.append(s, 0, b) for s, b in zip(streams, batches, strict=True)))
    return streams


async def eva_replay(journal: SqlJournal, streams: list[str]) -> float:
    """Seconds to read every stream, one `read` each."""
    start = time.perf_counter()
    for stream in streams:
        assert len(await journal.read(stream)) == REPLAY_EVENTS
    return time.perf_counter() - start


async def eva_replay_many(journal: SqlJournal, streams: list[str]) -> float:
    """Seconds to read every stream with one `read_many`."""
    start = time.perf_counter()
    found = await journal.read_many(streams)
    assert sum(map(len, found.values())) == REPLAY_STREAMS * REPLAY_EVENTS
    return time.perf_counter() - start


def figure(eva: list[float], es: list[float]) -> Figure:
    eva_rate, es_rate = statistics.median(eva), statistics.median(es)
    return {
        "eva": round(eva_rate, 1),
        "eventsourcing": round(es_rate, 1),
        "ratio": round(eva_rate / es_rate, 2),
    }


async def measure_append(folder: Path, n: int, reps: int) -> Figure:
    eva, es = [], []
    # Alternate the two so a noisy neighbour slows both alike; a fresh file each time.
    for rep in range(reps):
        eva.append(await eva_append(folder / f"eva-append-{rep}.db", n))
        es.append(es_append(folder / f"es-append-{rep}.db", n))
    return figure(eva, es)


async def measure_replay(folder: Path, reps: int) -> tuple[dict[str, Figure], dict[str, Any]]:
    recorder = es_open(folder / "es-replay.db")
    es_streams = es_seed(recorder)
    async with Runtime(sqlite_url(folder / "eva-replay.db"), recover=False) as rt:
        eva_streams = await eva_seed(rt.journal)
        found = {"eva": await eva_durability(rt), "eventsourcing": es_durability(recorder)}
        rates: list[list[float]] = [[], [], []]
        # Pass 0 is untimed, so every timed pass reads from a warm page cache.
        for rep in range(reps + 1):
            seconds = [
                await eva_replay(rt.journal, eva_streams),
                await eva_replay_many(rt.journal, eva_streams),
                es_replay(recorder, es_streams),
            ]
            for bucket, value in zip(rates, seconds, strict=True):
                bucket.extend([REPLAY_STREAMS / value] if rep else [])
    recorder.datastore.close()
    read, many = figure(rates[0], rates[2]), figure(rates[1], rates[2])
    return {"replay_streams_per_s": read, "replay_read_many_streams_per_s": many}, found


def print_table(figures: dict[str, Figure], found: dict[str, Any]) -> None:
    print(f"{'workload':<30}{'EVA':>12}{'eventsourcing':>15}{'EVA/es':>9}{'target':>8}")
    for key, (label, target) in LABELS.items():
        fig = figures[key]
        print(
            f"{label:<30}{fig['eva']:>12,.0f}{fig['eventsourcing']:>15,.0f}"
            f"{fig['ratio']:>8.2f}x{TARGETS[target]:>7.0f}x"
        )
    for side, pragmas in found.items():
        print(f"{side}: " + " ".join(f"{name}={value}" for name, value in pragmas.items()))


async def run(quick: bool) -> dict[str, Any]:
    n, reps = (100, 3) if quick else (500, 5)
    replay_reps = reps * REPLAY_REPS_FACTOR
    with tempfile.TemporaryDirectory(prefix="eva-bench-journal-") as tmp:
        append = await measure_append(Path(tmp), n, reps)
        replay, found = await measure_replay(Path(tmp), replay_reps)
    figures = {"append_events_per_s": append, **replay}
    size = len(orjson.dumps(payload(0, 1)))
    print(f"append: {WRITERS} writers x {n} events, median of {reps}; payload {size} B of JSON")
    print(f"replay: {REPLAY_STREAMS} streams x {REPLAY_EVENTS} events, median of {replay_reps}")
    print(f"concurrency: {CONCURRENCY}\n")
    print_table(figures, found)
    setup: dict[str, Any] = {"writers": WRITERS, "events_per_writer": n, "payload_bytes": size}
    setup |= {"repetitions": {"append": reps, "replay": replay_reps}, "concurrency": CONCURRENCY}
    return {**figures, "targets": TARGETS, "setup": setup, "durability": found, "quick": quick}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer events and repetitions")
    result = asyncio.run(run(parser.parse_args().quick))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
