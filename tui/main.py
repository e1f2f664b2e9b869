"""`eva`: the dashboard with no subcommand (or `eva dashboard`); anything else is `eva.cli`.

The console script lives here because the dashboard may import `eva` but
`eva` may never import the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from eva import EngineError, Workload, open_assistant
from eva.cli import main as eva_main
from eva.voice import Microphone, Speaker, VoiceInput, VoiceSession
from tui.app import Dashboard
from tui.failed import CannotStart
from tui.history import History

HISTORY = Path.home() / ".local" / "state" / "eva" / "history"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] != "dashboard" and not args[0].startswith("-"):
        return eva_main(args)
    parser = argparse.ArgumentParser(
        prog="eva",
        description="EVA's dashboard; `eva COMMAND --help` for the others "
        "(say, run, parse, listen, demo).",
    )
    parser.add_argument("dashboard", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument(
        "--db", help="database file or URL (default: EVA_DATABASE_URL or data/eva.db)"
    )
    parser.add_argument("--sagas", type=int, default=20, help="demo sagas a batch (0: no traffic)")
    parser.add_argument("--failure-rate", type=float, default=0.1)
    parser.add_argument("--crash-rate", type=float, default=0.02)
    options = parser.parse_args(args)
    workload = Workload(options.sagas, options.failure_rate, options.crash_rate)
    started: list[bool] = []
    try:
        return asyncio.run(_run(options.db, workload, started))
    except EngineError as exc:
        if not started and sys.stdin.isatty() and sys.stdout.isatty():
            CannotStart(str(exc)).run()  # in the terminal the dashboard was asked for
        print(f"eva: {exc}", file=sys.stderr)
        return 1


async def _run(db: str | None, workload: Workload, started: list[bool]) -> int:
    async with open_assistant(db, workload) as assistant:
        started.append(True)
        # Nothing is opened or loaded here: the dashboard checks the microphone and
        # loads the model in the background once its first frame is up.
        voice = VoiceInput(Microphone(), VoiceSession(assistant))
        with Speaker.from_env() as speaker:
            dashboard = Dashboard(assistant, history=History(HISTORY), speaker=speaker, voice=voice)
            await dashboard.run_async()
    return 0
