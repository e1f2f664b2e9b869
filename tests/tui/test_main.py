"""`eva`: the dashboard by default, every other command handed to `eva.cli`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.main import main


def test_subcommands_are_eva_clis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "pause saga 42", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "pause_saga"


def test_a_database_that_cannot_be_opened_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "notes.db"
    garbage.write_text("these are my notes, not a database\n" * 100)
    assert main(["--db", str(garbage), "--sagas", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("eva: ")
    assert "Traceback" not in err
    assert garbage.read_text().startswith("these are my notes")
