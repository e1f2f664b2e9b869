"""Crash recovery for real: `eva demo` killed with SIGKILL, again and again, then finished."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from runtime import Runtime
from runtime.store import schema
from runtime.store.engine import sqlite_url

TERMINAL = {"completed", "rolled_back", "failed", "cancelled"}


def demo(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eva",
            "demo",
            "--db",
            str(db),
            "--latency",
            "0.002",
            "--failure-rate",
            "0.2",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run_until_killed(db: Path, sagas: int, kill_after: int, seed: int) -> list[str]:
    """Start a demo run, SIGKILL it after `kill_after` progress lines (a start or a finish
    committed); return the ids of the sagas it acknowledged starting."""
    acknowledged: list[str] = []
    with demo(db, "--sagas", str(sagas), "--progress", "--seed", str(seed)) as process:
        assert process.stdout is not None
        for seen, line in enumerate(process.stdout, start=1):
            words = line.split()
            if len(words) == 2 and words[0] == "started":
                acknowledged.append(words[1])
            if seen >= kill_after:
                break
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
    # It may have finished just before the signal: that is a clean run, not a failure.
    assert process.returncode in (-signal.SIGKILL, 0), err
    return acknowledged


async def test_sagas_survive_repeated_sigkills_with_no_duplicate_effects_and_nothing_lost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crash.db"
    rng = random.Random(20261123)
    acknowledged: list[str] = []
    for round_ in range(5):
        sagas = 150
        # Anywhere from the first start to the last finishes of this run.
        acknowledged += run_until_killed(db, sagas, rng.randint(1, 2 * sagas), seed=round_)

    with demo(db, "--sagas", "0", "--json") as final:
        out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["lost"] == 0
    assert summary["duplicate_effects"] == 0
    assert summary["waiting"] == 0
    # With a 20% failure rate most sagas still complete; some are rolled back.
    assert summary["completed"] > summary["rolled_back"] > 0

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                sa.select(schema.saga_executions.c.saga_id, schema.saga_executions.c.status)
            ).all()
        )
        dead = (
            conn.execute(
                sa.select(schema.dead_letters.c.saga_id).where(
                    schema.dead_letters.c.resolved_at.is_(None)
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert len(acknowledged) == len(set(acknowledged))
    missing = [i for i in acknowledged if i not in rows]
    assert missing == [], "sagas acknowledged as started were lost"
    assert set(rows.values()) <= TERMINAL
    assert summary["completed"] + summary["rolled_back"] + summary["failed"] + summary[
        "cancelled"
    ] == len(rows)
    # A failed saga either failed forwards (past its pivot) or holds a dead letter.
    async with Runtime(sqlite_url(db), recover=False) as rt:
        assert await rt.verify_journal() > 0
        for saga_id, status in rows.items():
            if status == "failed":
                state = await rt.get_saga(saga_id)
                assert state.dead_letters or state.pivot_done
                assert (saga_id in dead) == bool(state.dead_letters)
