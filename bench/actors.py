"""EVA's actors against Pykka and a raw asyncio queue-and-task baseline, side by side.

Workloads, the same on all three systems:
  1. tell: 200,000 small dicts told to one actor, then one ask; messages/s
     until that ask is answered (mailboxes are FIFO: every tell was processed);
  2. ask: sequential asks to one actor after a warm-up, p50/p95 round trip;
  3. spawn: N actors started (EVA's `spawn` awaits `on_start`; Pykka's
     `on_start` signals a semaphore), then all stopped by each system's
     stop-everything; seconds for each, peak RSS, RSS the live actors add.
Plus, for the PRD's "more than 1,000 messages/s per actor" and "10,000+
concurrent actors", EVA alone: 200,000 tells spread round-robin over 10,000
live actors (the rate they share: how many of them can each take 1,000/s at
once), and one run of 50,000 actors.

EVA: `ActorSystem(SystemClock())` in memory, default actors (four-priority
unbounded mailbox, one-for-one supervision), as it always runs; the worker
imports `runtime`'s actor system only (its exports load on first use), as a
program of actors without a store does, so peak RSS is the process's. Pykka:
`ThreadingActor`, its default (a thread per actor). Raw asyncio: a Queue and
a consumer task per actor; ask queues a future with the message. Each run is
a fresh subprocess importing only its own system, so RSS is that system's;
systems alternate within a repetition, so noise hits all alike. `--quick`
spawns 1,000 Pykka actors, not 10,000: compare per actor, and mind that
Pykka's per-actor costs grow with its thread count, so quick flatters it.

Run from the repository root; the last stdout line is one JSON object:
    python -m bench.actors --quick   # median of 3 runs, about 30 s
    python -m bench.actors           # median of 5 runs, about 90 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psutil

SYSTEMS = ("eva", "pykka", "raw")
TELLS = 200_000
ACTORS = 10_000
WARMUP_ASKS = 200
PRD_RATE = 1_000  # messages/s per actor
PRD_ACTORS = 10_000
SCALE_ACTORS = 50_000  # one EVA run past the PRD's 10,000, to show the headroom
TARGETS = {"tell_x_pykka": 5.0, "tell_x_raw": 0.5, "ask_p95_us": 40.0, "spawn_s": 0.5, "mb": 80.0}

Result = dict[str, Any]


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def spawn_summary(n: int, base_mb: float, live_mb: float, *times: float) -> Result:
    start, started, stopped = times
    return {
        "spawn_s": started - start,
        "stop_s": stopped - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "base_rss_mb": base_mb,
        "actors_rss_mb": live_mb - base_mb,
        "kb_per_actor": (live_mb - base_mb) * 1024 / n,
    }


async def drive_messaging(
    tell: Callable[[Any], None], ask: Callable[[Any], Awaitable[Any]], tells: int, asks: int
) -> Result:
    """Tell throughput, then ask latency, through one actor's tell and ask."""
    start = time.perf_counter()
    for i in range(tells):
        tell({"seq": i})
    # Mailboxes are FIFO: the answer to this ask means every tell was processed.
    assert await ask({"seq": -1}) == tells + 1
    rate = tells / (time.perf_counter() - start)
    us = []
    for i in range(WARMUP_ASKS + asks):
        began = time.perf_counter_ns()
        await ask({"seq": i})
        us.append((time.perf_counter_ns() - began) / 1000)
    us = us[WARMUP_ASKS:]
    p95 = statistics.quantiles(us, n=20)[-1]
    return {"tells_per_s": rate, "ask_p50_us": statistics.median(us), "ask_p95_us": p95}


# --- EVA ---------------------------------------------------------------------


def eva_setup() -> tuple[Any, Any, Any]:
    """A system, an actor class and a type; EVA is imported only in its own workers."""
    from runtime import Actor, ActorSystem, ActorType, SystemClock

    class Counter(Actor):
        def __init__(self) -> None:
            self.n = 0

        async def on_receive(self, message: Any) -> Any:
            self.n += 1
            return self.n

    return ActorSystem(SystemClock()), Counter, ActorType.METRICS_COLLECTOR


async def eva_messaging(tells: int, asks: int) -> Result:
    system, counter, actor_type = eva_setup()
    ref = await system.spawn(counter, "counter", actor_type)
    result = await drive_messaging(ref.tell, ref.ask, tells, asks)
    await system.shutdown()
    return result


async def eva_fanout(n: int, tells: int) -> Result:
    """Tells spread round-robin over `n` live actors; the rate they share."""
    from runtime import Actor, ActorSystem, ActorType, SystemClock

    left, done = [tells], asyncio.Event()

    class Sink(Actor):
        async def on_receive(self, message: Any) -> None:
            left[0] -= 1
            if not left[0]:
                done.set()

    system = ActorSystem(SystemClock())
    refs = [await system.spawn(Sink, f"a{i}", ActorType.METRICS_COLLECTOR) for i in range(n)]
    start = time.perf_counter()
    for i in range(tells):
        refs[i % n].tell({"seq": i})
    await done.wait()
    rate = tells / (time.perf_counter() - start)
    await system.shutdown()
    return {"fanout_tells_per_s": rate}


async def eva_spawn(n: int) -> Result:
    system, counter, actor_type = eva_setup()
    base = rss_mb()
    start = time.perf_counter()
    for i in range(n):
        await system.spawn(counter, f"a{i}", actor_type)
    await asyncio.sleep(0)  # one loop turn: every actor's task reaches its mailbox
    started, live = time.perf_counter(), rss_mb()
    # EVA's own stop-everything; 10,000 `stop`s under gather cost it 5x more here.
    await system.shutdown()
    return spawn_summary(n, base, live, start, started, time.perf_counter())


# --- raw asyncio -------------------------------------------------------------


class RawActor:
    """The least an asyncio actor can be: a queue and the task that drains it."""

    def __init__(self) -> None:
        self.n = 0
        self.queue: asyncio.Queue[tuple[Any, asyncio.Future[Any] | None] | None] = asyncio.Queue()
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while (item := await self.queue.get()) is not None:
            self.n += 1
            if item[1] is not None:
                item[1].set_result(self.n)

    def tell(self, message: Any) -> None:
        self.queue.put_nowait((message, None))

    async def ask(self, message: Any) -> Any:
        reply = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((message, reply))
        return await reply

    def stop(self) -> asyncio.Task[None]:
        self.queue.put_nowait(None)
        return self.task


async def raw_messaging(tells: int, asks: int) -> Result:
    actor = RawActor()
    result = await drive_messaging(actor.tell, actor.ask, tells, asks)
    await actor.stop()
    return result


async def raw_spawn(n: int) -> Result:
    base = rss_mb()
    start = time.perf_counter()
    actors = [RawActor() for _ in range(n)]
    await asyncio.sleep(0)  # as for EVA: every task reaches its queue
    started, live = time.perf_counter(), rss_mb()
    await asyncio.gather(*(actor.stop() for actor in actors))
    return spawn_summary(n, base, live, start, started, time.perf_counter())


# --- Pykka ---------------------------------------------------------------------


def pykka_counter() -> Any:
    """The Pykka actor; imported here so the other systems' workers do without it."""
    import pykka

    class Counter(pykka.ThreadingActor):
        def __init__(self, started: threading.Semaphore | None = None) -> None:
            super().__init__()
            self.n = 0
            self.started = started

        def on_start(self) -> None:
            if self.started is not None:
                self.started.release()

        def on_receive(self, message: Any) -> Any:
            self.n += 1
            return self.n

    return Counter


async def pykka_messaging(tells: int, asks: int) -> Result:
    ref = pykka_counter().start()

    # Pykka's ask blocks this thread; the wrapper adds under 0.1 us to a tens-of-us ask.
    async def ask(message: Any) -> Any:
        return ref.ask(message)

    result = await drive_messaging(ref.tell, ask, tells, asks)
    ref.stop()
    return result


def pykka_spawn(n: int) -> Result:
    counter, started = pykka_counter(), threading.Semaphore(0)
    base = rss_mb()
    start = time.perf_counter()
    refs = [counter.start(started) for _ in range(n)]
    for _ in refs:  # start() returns before the thread runs on_start
        started.acquire()
    ready, live = time.perf_counter(), rss_mb()
    # What Pykka's ActorRegistry.stop_all() does: ask all to stop, then wait for each.
    for future in [ref.stop(block=False) for ref in refs]:
        future.get()
    return spawn_summary(n, base, live, start, ready, time.perf_counter())


# --- workers and the parent ----------------------------------------------------


def worker(system: str, workload: str, a: int, b: int) -> Result:
    if system == "pykka":
        return asyncio.run(pykka_messaging(a, b)) if workload == "messaging" else pykka_spawn(a)
    if system == "eva":
        if workload == "fanout":
            return asyncio.run(eva_fanout(a, b))
        return asyncio.run(eva_messaging(a, b) if workload == "messaging" else eva_spawn(a))
    return asyncio.run(raw_messaging(a, b) if workload == "messaging" else raw_spawn(a))


def run_worker(system: str, workload: str, a: int, b: int = 0) -> Result:
    cmd = [sys.executable, __file__, "--worker", system, workload, str(a), str(b)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        sys.exit(f"{system} {workload} worker failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("inf")


def collect(quick: bool) -> Result:
    """Every run, systems alternating within each repetition; medians per system."""
    reps, asks = (3, 2_000) if quick else (5, 10_000)
    spawned = {"eva": ACTORS, "pykka": 1_000 if quick else ACTORS, "raw": ACTORS}
    runs: dict[str, list[Result]] = {s: [] for s in SYSTEMS}
    for _ in range(reps):
        for s in SYSTEMS:
            fig = run_worker(s, "messaging", TELLS, asks) | run_worker(s, "spawn", spawned[s])
            if s == "eva":
                fig |= run_worker(s, "fanout", PRD_ACTORS, TELLS)
            runs[s].append(fig)
    out: Result = {"quick": quick, "repetitions": reps, "tells": TELLS, "asks": asks}
    out["actors_spawned"] = spawned
    for s in SYSTEMS:
        out[s] = {k: round(statistics.median(r[k] for r in runs[s]), 3) for k in runs[s][0]}
        out[s]["tells_per_s_runs"] = [round(r["tells_per_s"]) for r in runs[s]]
    return out


def summarise(out: Result) -> None:
    """Add the ratios, the PRD margin (with one 50,000-actor EVA run) and the targets."""
    eva, pyk, raw, n = out["eva"], out["pykka"], out["raw"], out["actors_spawned"]
    out["ratios"] = {
        "tell_eva_over_pykka": ratio(eva["tells_per_s"], pyk["tells_per_s"]),
        "tell_eva_over_raw": ratio(eva["tells_per_s"], raw["tells_per_s"]),
        "ask_p95_pykka_over_eva": ratio(pyk["ask_p95_us"], eva["ask_p95_us"]),
        "ask_p95_eva_over_raw": ratio(eva["ask_p95_us"], raw["ask_p95_us"]),
        # Per actor, since quick mode spawns fewer Pykka actors.
        "spawn_per_actor_pykka_over_eva": ratio(
            pyk["spawn_s"] / n["pykka"], eva["spawn_s"] / n["eva"]
        ),
        "kb_per_actor_pykka_over_eva": ratio(pyk["kb_per_actor"], eva["kb_per_actor"]),
    }
    scale = run_worker("eva", "spawn", SCALE_ACTORS)
    out["prd_margin"] = {
        "messages_per_s_per_actor_over_1000": ratio(eva["tells_per_s"], PRD_RATE),
        "fanout_actors": PRD_ACTORS,
        "fanout_tells_per_s": round(eva["fanout_tells_per_s"]),
        "actors_at_1000_per_s_at_once": int(eva["fanout_tells_per_s"] // PRD_RATE),
        "actors_spawned": SCALE_ACTORS,
        "actors_over_10000": ratio(SCALE_ACTORS, PRD_ACTORS),
        "spawn_s": round(scale["spawn_s"], 3),
        "peak_rss_mb": round(scale["peak_rss_mb"], 1),
    }
    out["targets"] = TARGETS
    out["eva_targets_met"] = {
        "tell_5x_pykka": out["ratios"]["tell_eva_over_pykka"] >= TARGETS["tell_x_pykka"],
        "tell_half_raw": out["ratios"]["tell_eva_over_raw"] >= TARGETS["tell_x_raw"],
        "ask_p95_under_40us": eva["ask_p95_us"] < TARGETS["ask_p95_us"],
        "spawn_10k_under_0_5s": eva["spawn_s"] < TARGETS["spawn_s"],
        "spawn_and_stop_10k_under_0_5s": eva["spawn_s"] + eva["stop_s"] < TARGETS["spawn_s"],
        # The actors' own RSS, and the whole process's (runtime's imports included).
        "actors_rss_under_80mb": eva["actors_rss_mb"] < TARGETS["mb"],
        "process_peak_rss_under_80mb": eva["peak_rss_mb"] < TARGETS["mb"],
    }


ROWS = (  # key, label, format
    ("tells_per_s", "tell, messages/s", ",.0f"),
    ("ask_p50_us", "ask p50, us", ".1f"),
    ("ask_p95_us", "ask p95, us", ".1f"),
    ("spawn_s", "spawn N actors, s", ".3f"),
    ("stop_s", "stop N actors, s", ".3f"),
    ("kb_per_actor", "RSS per live actor, KB", ".1f"),
    ("actors_rss_mb", "RSS of N live actors, MB", ".1f"),
    ("base_rss_mb", "RSS before spawning, MB", ".1f"),
    ("peak_rss_mb", "peak RSS of process, MB", ".1f"),
)


def report(out: Result) -> None:
    n = out["actors_spawned"]
    print(f"tell: {out['tells']:,} messages to one actor; ask: {out['asks']:,} sequential asks")
    print(f"spawn N: EVA {n['eva']:,}, raw {n['raw']:,}, Pykka {n['pykka']:,}", end="")
    print(" (quick: fewer for Pykka, whose cost per actor grows with N)" if out["quick"] else "")
    print(f"medians of {out['repetitions']} runs, each in a fresh process\n")
    print(f"{'':28}{'EVA':>13}{'Pykka':>13}{'raw asyncio':>13}")
    for key, label, fmt in ROWS:
        cells = "".join(f"{format(out[s][key], fmt):>13}" for s in SYSTEMS)
        print(f"{label:28}{cells}")
    print(
        f"EVA process peak {out['eva']['peak_rss_mb']:.1f} MB with {n['eva']:,} actors "
        f"({out['eva']['kb_per_actor']:.1f} KB per actor, "
        f"{out['eva']['base_rss_mb']:.1f} MB before the first)"
    )
    print("tell runs:", "; ".join(f"{s} {out[s]['tells_per_s_runs']}" for s in SYSTEMS))
    print("ratios:", ", ".join(f"{k} {v}x" for k, v in out["ratios"].items()))
    m = out["prd_margin"]
    print(
        f"PRD margin: one actor takes {m['messages_per_s_per_actor_over_1000']:,}x the 1,000 "
        f"messages/s per actor; {m['fanout_actors']:,} live actors share "
        f"{m['fanout_tells_per_s']:,} messages/s, 1,000/s each for "
        f"{m['actors_at_1000_per_s_at_once']:,} of them at once; {m['actors_spawned']:,} "
        f"actors ({m['actors_over_10000']}x 10,000) spawned in {m['spawn_s']:.2f} s, "
        f"peak RSS {m['peak_rss_mb']} MB (one run)"
    )
    met = out["eva_targets_met"]
    print("EVA targets:", ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in met.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        system, workload, a, b = args.worker
        print(json.dumps(worker(system, workload, int(a), int(b))))
        return
    began = time.perf_counter()
    out = collect(args.quick)
    summarise(out)
    out["bench_seconds"] = round(time.perf_counter() - began, 1)
    report(out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
