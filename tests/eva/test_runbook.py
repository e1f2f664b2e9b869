"""Runbooks: commands and expectations from a file, and `eva run`/`eva say` as processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eva import Assistant
from eva.runbook import RunbookError, load, run
from runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "book.txt"
    path.write_text(text)
    return path


def test_a_line_that_is_not_a_command_is_named_with_its_number(tmp_path: Path) -> None:
    path = write(tmp_path, "# fine\nshow failed sagas\n\nfrobnicate the widgets\n")
    with pytest.raises(RunbookError, match=r"book.txt, line 4: not a command EVA knows"):
        load(path)
    with pytest.raises(RunbookError, match="line 1: 'expect' must follow a command"):
        load(write(tmp_path, "expect no failed sagas\n"))


async def test_expectations_check_the_previous_reply(runtime: Runtime, tmp_path: Path) -> None:
    saga = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga])
    lines: list[str] = []
    steps = load(
        write(
            tmp_path,
            "show saga failures in the last hour\nexpect no failed sagas\n"
            "show completed sagas\nexpect 1 saga\n"
            "show completed sagas\nexpect 2 sagas\n",
        )
    )
    assert await run(steps, Assistant(runtime), echo=lines.append) == 6
    assert lines[-1].startswith("FAIL line 6: expected 2 sagas, got 1")


async def test_destructive_steps_need_yes_and_dry_run_changes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    steps = load(write(tmp_path, "stop accepting new sagas\nexpect intake paused\n"))
    assert await run(steps, Assistant(runtime), echo=lambda _: None) == 1
    assert not runtime.intake_paused
    assert await run(steps, Assistant(runtime), dry_run=True, echo=lambda _: None) == 0
    assert not runtime.intake_paused
    assert await run(steps, Assistant(runtime, assume_yes=True), echo=lambda _: None) == 0
    assert runtime.intake_paused


def test_the_shipped_rollback_runbook_runs_end_to_end(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    eva = [sys.executable, "-m", "eva"]
    subprocess.run(
        [*eva, "demo", "--db", db, "--sagas", "10"], check=True, capture_output=True, timeout=120
    )
    book = str(ROOT / "data" / "runbooks" / "rollback.txt")
    refused = subprocess.run(
        [*eva, "run", book, "--db", db], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1
    assert "needs --yes" in refused.stdout
    done = subprocess.run(
        [*eva, "run", book, "--db", db, "--yes"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: journal is intact" in done.stdout
    said = subprocess.run(
        [*eva, "say", "show completed sagas", "--db", db, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert '"intent": "list_sagas"' in said.stdout
