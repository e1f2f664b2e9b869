"""`eva demo`, run as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def eva(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eva", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_runs_sagas_to_the_end_and_prints_a_json_summary(tmp_path: Path) -> None:
    result = eva(
        "demo", "--db", str(tmp_path / "d.db"), "--sagas", "40", "--failure-rate", "0.2", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["started"] == 40
    finished = (
        summary["completed"] + summary["rolled_back"] + summary["failed"] + summary["cancelled"]
    )
    assert finished == 40
    assert summary["lost"] == 0
    assert summary["duplicate_effects"] == 0
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
    assert summary["sagas_per_second"] > 0


def test_demo_with_zero_sagas_only_recovers(tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    assert eva("demo", "--db", db, "--sagas", "5", "--json").returncode == 0
    result = eva("demo", "--db", db, "--sagas", "0", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["started"], summary["recovered"]) == (0, 0)
    assert summary["completed"] + summary["rolled_back"] + summary["failed"] == 5


def test_human_summary_names_every_figure(tmp_path: Path) -> None:
    result = eva("demo", "--db", str(tmp_path / "d.db"), "--sagas", "5")
    assert result.returncode == 0, result.stderr
    for words in (
        "started 5 sagas",
        "completed",
        "rolled back",
        "dead letters",
        "p95",
        "duplicate effects 0",
        "lost 0",
    ):
        assert words in result.stdout


def test_bad_arguments_and_bad_databases_get_one_clear_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    result = eva("demo", "--db", str(tmp_path / "d.db"), "--failure-rate", "2")
    assert result.returncode == 2
    assert "--failure-rate must be between 0 and 1" in result.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    result = eva("demo", "--db", str(notes), "--sagas", "1")
    assert result.returncode == 1
    assert "not an SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
    assert notes.read_text() == "not a database\n" * 100


def test_demo_runs_a_supervision_tree_of_the_prd_actor_types_through_injected_crashes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "d.db"
    result = eva("demo", "--db", str(db), "--sagas", "60", "--crash-rate", "0.05", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["lost"] == 0
    assert summary["duplicate_effects"] == 0
    with sqlite3.connect(db) as conn:
        types = {row[0] for row in conn.execute("select actor_type from actors")}
        restarts = conn.execute("select sum(restarts_count) from actors").fetchone()[0]
        paths = {row[0] for row in conn.execute("select path from actors")}
    assert types == {
        "venture_orchestrator",
        "validation_processor",
        "compliance_checker",
        "notification_dispatcher",
        "backup_manager",
        "metrics_collector",
        "saga_coordinator",
    }
    assert "/ventures/acme/compliance-checker-2" in paths
    assert restarts > 0
