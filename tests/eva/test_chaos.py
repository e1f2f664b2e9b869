"""`eva chaos`, run as a user runs it: real processes, real SIGKILLs, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TERMINAL = {"completed", "rolled_back", "failed", "cancelled"}


def eva(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eva", *args],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


@pytest.mark.slow
def test_sagas_survive_seeded_sigkills_with_nothing_twice_and_nothing_lost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "chaos.db"
    result = eva(
        "chaos", "--duration", "8", "--kill-every", "2", "--seed", "3", "--db", str(db), "--json"
    )
    assert result.returncode == 0, result.stderr
    r = report(result)
    assert r["kills"] > 0
    assert r["duplicate_effects"] == 0
    assert r["lost"] == 0
    assert r["waiting"] == 0
    assert r["consistency_score"] == 1.0, r["violations_by_kind"]
    assert 0 < r["mean_time_to_recovery_seconds"] <= r["max_time_to_recovery_seconds"]
    assert r["incidents_opened"] >= r["incidents_auto_remediated"] >= r["incidents_healed"] >= 0
    # The report is over the whole database, and after settling nothing is left running.
    with sqlite3.connect(db) as conn:
        statuses = [row[0] for row in conn.execute("select status from saga_executions")]
    assert r["started"] == len(statuses) > 0
    assert set(statuses) <= TERMINAL
    assert r["completed"] + r["rolled_back"] + r["failed"] + r["cancelled"] == len(statuses)
    # The run is the failure suite's verdict for SAGA-004, kept in the journal.
    with sqlite3.connect(db) as conn:
        [(verdict,)] = conn.execute(
            "select data from events where stream_id = 'failure-suite' order by version"
        ).fetchall()
    assert json.loads(verdict)["passed"] is True


@pytest.mark.slow
def test_a_step_applied_twice_fails_the_run(tmp_path: Path) -> None:
    db = tmp_path / "chaos.db"
    # A fixed number of sagas, not a timed run: a loaded machine can spend a whole
    # short run starting the child.
    first = eva("demo", "--db", str(db), "--sagas", "20", "--failure-rate", "0", "--json")
    assert first.returncode == 0, first.stderr
    assert report(first)["duplicate_effects"] == 0
    with sqlite3.connect(db) as conn:
        # A service applying an effect a second time, as a broken idempotency check would.
        inserted = conn.execute(
            "insert into demo_order_ledger (idempotency_key, saga_id, step, kind, action, "
            "result, applied_at) select idempotency_key || '-again', saga_id, step, kind, "
            "action, result, applied_at from demo_order_ledger where kind = 'effect' limit 1"
        ).rowcount
    assert inserted == 1, "the first run applied no order effect to duplicate"
    result = eva("chaos", "--duration", "1", "--kill-every", "0.5", "--db", str(db))
    assert result.returncode == 1
    assert "steps executed twice 1" in result.stdout
    for words in ("kills (SIGKILL)", "sagas lost 0", "consistency", "incidents opened"):
        assert words in result.stdout
    assert "time to recovery mean" in result.stdout


def test_bad_arguments_and_bad_databases_get_one_clear_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "chaos.db")
    for duration in ("0", "-5"):
        result = eva("chaos", "--duration", duration, "--db", db)
        assert result.returncode == 2
        assert result.stderr.strip() == "eva chaos: --duration must be more than 0 seconds"
    result = eva("chaos", "--duration", "5", "--kill-every", "0", "--db", db)
    assert result.returncode == 2
    assert "--kill-every must be more than 0 seconds" in result.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    result = eva("chaos", "--duration", "5", "--db", str(notes))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not an SQLite database" in result.stderr
    assert notes.read_text() == "not a database\n" * 100
    assert not Path(db).exists()
