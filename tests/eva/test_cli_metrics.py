"""`eva metrics`, run as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime import Runtime, StepCall, StepError
from runtime.store.engine import sqlite_url
from tests.conftest import Recorder, order_definition


def eva(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eva", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    """A database where two sagas completed and one rolled back, just now (real clock)."""
    path = tmp_path / "eva.db"
    recorder = Recorder()

    async def refuse_once(call: StepCall) -> None:
        del recorder.behaviour["charge"]
        raise StepError("card declined", kind="rejected")

    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    async with Runtime(
        sqlite_url(path), definitions=[order_definition()], participants=[shop]
    ) as runtime:
        for _ in range(2):
            await runtime.wait_for([await runtime.start_saga("order", "acme")])
        recorder.behaviour["charge"] = refuse_once
        await runtime.wait_for([await runtime.start_saga("order", "acme")])
    return path


def test_metrics_json_gives_the_current_figures_as_one_object(db: Path) -> None:
    result = eva("metrics", "--db", str(db), "--window", "600", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["seconds"] == 600
    assert data["ended"] == {"completed": 2, "rolled_back": 1}
    assert data["started"] == 3
    assert data["success_rate"] == pytest.approx(2 / 3)
    assert data["compensations"] == 2
    assert data["consecutive_compensations"] == 1
    assert data["saga_latency"]["order"]["count"] == 2
    assert set(data["step_latency"]["order"]) == {"reserve", "check", "charge", "confirm"}
    assert data["dead_letters"] == 0
    assert data["consistency_score"] is None
    assert data["actor_restarts"] is None  # not measurable from another process
    assert data["thresholds"]["success_rate_min"] == 0.9


def test_metrics_prints_one_line_per_figure_with_its_threshold(db: Path) -> None:
    result = eva("metrics", "--db", str(db), env={"EVA_ENV": "prod"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "window 300s (prod thresholds)"
    assert "sagas ended 3: 2 completed, 1 rolled back" in lines
    assert "success rate 66.7% (at least 99.5%)" in lines
    assert any(line.startswith("step latency order.check: p50") for line in lines)
    assert "dead letters unresolved 0 (0 at window start)" in lines


def test_bad_thresholds_and_arguments_get_one_clear_line(db: Path) -> None:
    result = eva("metrics", "--db", str(db), env={"EVA_THRESHOLD_SUCCESS_RATE_MIN": "99.5"})
    assert result.returncode == 1
    assert result.stderr == (
        "eva metrics: threshold success_rate_min = '99.5' (from "
        "EVA_THRESHOLD_SUCCESS_RATE_MIN) is refused: it must be a number from 0 to 1\n"
    )
    result = eva("metrics", "--db", str(db), "--window", "0")
    assert (result.returncode, result.stderr) == (
        2,
        "eva metrics: --window must be more than 0 seconds\n",
    )


def test_serve_exposes_the_metrics_until_interrupted(db: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "eva", "metrics", "--db", str(db), "--serve", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert line.startswith("serving metrics on http://127.0.0.1:"), line
            with urllib.request.urlopen(line.split()[-1], timeout=10) as response:
                text = response.read().decode()
            families = {f.name: f for f in text_string_to_metric_families(text)}
            [rate] = families["saga_transaction_success_rate"].samples
            assert rate.value == pytest.approx(2 / 3)
            assert "saga_step_latency_ms" in families
            # Restarts are seen only by the process running the actors: none shown as zeros.
            assert "actor_restarts_total" not in families
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=20) == 0
        finally:
            server.kill()


def test_serve_on_a_port_in_use_says_so_and_which_option_to_change(db: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = eva("metrics", "--db", str(db), "--serve", str(port), "--duration", "1")
    assert result.returncode == 1
    assert result.stderr == (
        f"eva metrics: port {port} is in use; choose another with --serve PORT\n"
    )


def test_serve_for_a_duration_stops_by_itself(db: Path) -> None:
    result = eva("metrics", "--db", str(db), "--serve", "0", "--duration", "0.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("serving metrics on http://127.0.0.1:")
