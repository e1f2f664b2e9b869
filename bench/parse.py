"""The command language's speed: parsing, and answering a query on a big database.

1. `parse` over every sentence of the test corpus (tests/intents/corpus.jsonl),
   several passes: p50/p95/p99 in milliseconds (target: p95 under 0.5 ms).
2. `Assistant.handle("show saga failures in the last 24 hours")` and two other
   queries on an SQLite database holding N finished sagas, a fifth of them
   failed (target: p95 under 20 ms with N = 10,000).

There is no peer to run beside it: hassil, the library the issue pointed at,
was set aside (README, "The command language"), so the figures stand against
their targets. Run from the repository root; the last line is one JSON object:

    python -m bench.parse --quick    # 2,000 sagas, 3 passes
    python -m bench.parse            # 10,000 sagas, 10 passes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eva import Assistant
from intents import parse
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
from runtime.store.engine import sqlite_url

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "intents" / "corpus.jsonl"
QUERIES = (
    "show saga failures in the last 24 hours",
    "list the top 20 failed order sagas",
    "what's the transaction success rate",
)


def quantiles_ms(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50_ms": round(cuts[49], 4),
        "p95_ms": round(cuts[94], 4),
        "p99_ms": round(cuts[98], 4),
    }


def bench_parse(passes: int) -> dict[str, Any]:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text().splitlines() if line]
    samples = []
    for _ in range(passes):
        for text in texts:
            began = time.perf_counter()
            parse(text)
            samples.append((time.perf_counter() - began) * 1000)
    return {"sentences": len(texts), "passes": passes, **quantiles_ms(samples)}


async def bench_assistant(sagas: int, asks: int, folder: Path) -> dict[str, Any]:
    async def ok(call: StepCall) -> dict[str, Any]:
        return {}

    async def sometimes(call: StepCall) -> dict[str, Any]:
        if int(call.saga_id) % 5 == 0:
            raise StepError("declined", kind="rejected")
        return {}

    definition = SagaDefinition(
        name="order_fulfillment",
        steps=[
            StepDefinition(
                name="reserve", participant="shop", action="reserve", compensation="release"
            ),
            StepDefinition(
                name="charge",
                participant="shop",
                action="charge",
                kind=StepKind.PIVOT,
                retry=RetryPolicy(max_attempts=1),
            ),
        ],
    )
    shop = FunctionParticipant("shop", {"reserve": ok, "charge": sometimes}, {"reserve": ok})
    async with Runtime(
        sqlite_url(folder / "parse.db"),
        definitions=[definition],
        participants=[shop],
        maintenance_interval=None,
    ) as rt:
        for start in range(0, sagas, 1000):
            ids = await asyncio.gather(
                *(
                    rt.start_saga("order_fulfillment", "acme")
                    for _ in range(min(1000, sagas - start))
                )
            )
            await rt.wait_for(ids)
        eva = Assistant(rt)
        out: dict[str, Any] = {"sagas": sagas}
        for query in QUERIES:
            samples = []
            for _ in range(asks):
                began = time.perf_counter()
                reply = await eva.handle(query)
                samples.append((time.perf_counter() - began) * 1000)
            out[query] = {**quantiles_ms(samples), "reply": reply.text}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    args = parser.parse_args()
    sagas, passes, asks = (2_000, 3, 60) if args.quick else (10_000, 10, 200)
    parsing = bench_parse(passes)
    with tempfile.TemporaryDirectory() as folder:
        answering = asyncio.run(bench_assistant(sagas, asks, Path(folder)))
    print(
        f"parse, {parsing['sentences']} corpus sentences x {passes}: "
        f"p50 {parsing['p50_ms']} ms, p95 {parsing['p95_ms']} ms, p99 {parsing['p99_ms']} ms"
        " (target p95 < 0.5 ms)"
    )
    for query in QUERIES:
        figures = answering[query]
        print(
            f"handle {query!r} on {sagas} sagas: p50 {figures['p50_ms']} ms, "
            f"p95 {figures['p95_ms']} ms (target p95 < 20 ms) -> {figures['reply']}"
        )
    print(json.dumps({"quick": args.quick, "parse": parsing, "assistant": answering}))


if __name__ == "__main__":
    main()
