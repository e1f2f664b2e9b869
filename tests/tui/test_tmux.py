"""The real `eva` console script in a real terminal: tmux, 120x40, keys typed, screen read.

The dashboard runs as its own process in a detached tmux session on a private
server (`-L`), so nothing here touches the user's tmux. The screen is read with
`capture-pane` until what is expected appears or a generous deadline passes:
another process's screen can only be polled.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVA = [sys.executable, "-c", "from tui.main import main; raise SystemExit(main())"]
"""The `eva` console script (`tui.main:main`), run by this interpreter whatever is on PATH."""
DEADLINE = 45.0
"""Seconds to wait for the screen: generous, since startup imports a lot on a busy machine."""
POLL = 0.05
EXITED = "eva exited with status "
EXITED_AS = re.escape(EXITED) + r"(\d+)\."

needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (`make system` installs it)"
)


def eva_environment(home: Path) -> dict[str, str]:
    """A quiet `eva`: nothing spoken, no chat model, history kept under `home`."""
    unwanted = ("EVA_LLM", "EVA_DATABASE_URL", "TMUX")
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env.update(HOME=str(home), EVA_TTS_MUTE="1", PYTHONPATH=str(ROOT))
    return env


class Terminal:
    """A detached 120x40 tmux session on a private server, running one command.

    The command runs under a shell that then prints its exit status on the
    screen: tmux's own record of it (`#{pane_dead_status}`) is not dependable,
    as tmux 3.3 sometimes never reaps a pane's process. The pane stays after the
    shell exits (`remain-on-exit`), so the last screen can still be read.
    """

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.socket = f"eva-test-{uuid.uuid4().hex[:12]}"
        script = f"{shlex.join(command)}; echo {EXITED}$?."
        self.tmux(
            *("new-session", "-d", "-s", "eva", "-x", "120", "-y", "40", "/bin/sh", "-c", script),
            *(";", "set-option", "-t", "eva", "remain-on-exit", "on"),
            env=env,
        )

    def tmux(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        # -f /dev/null: the user's tmux.conf must not change what the test sees.
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            cwd=ROOT,
            env=env,
        )
        return done.stdout

    def screen(self) -> str:
        """What the terminal shows, with what has scrolled off it (-S -)."""
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", "eva")

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "eva", "-l", text)

    def press(self, key: str) -> None:
        self.tmux("send-keys", "-t", "eva", key)

    def wait_until(self, seen: Callable[[str], bool], what: str) -> str:
        """The screen, once `seen(screen)` holds; fails naming `what` after the deadline."""
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if seen(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {DEADLINE:.0f} s; the screen was:\n{screen}")
            time.sleep(POLL)

    def wait_for_exit(self) -> tuple[int, str]:
        """The command's exit status once it has ended, and the screen it left."""
        screen = self.wait_until(lambda s: re.search(EXITED_AS, s) is not None, "exit")
        found = re.search(EXITED_AS, screen)
        assert found is not None
        return int(found[1]), screen

    def close(self) -> None:
        # tmux leaves its socket file behind when the server is killed.
        socket = self.tmux("display-message", "-p", "#{socket_path}", check=False).strip()
        self.tmux("kill-server", check=False)
        if socket:
            Path(socket).unlink(missing_ok=True)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Terminal]:
    """`eva` on a fresh database with two demo sagas a batch, in a 120x40 terminal."""
    terminal = Terminal(
        [*EVA, "--db", str(tmp_path / "eva.db"), "--sagas", "2"], eva_environment(tmp_path)
    )
    try:
        yield terminal
    finally:
        terminal.close()


def _dashboard_drawn(screen: str) -> bool:
    return "Sagas F2" in screen and "Command, e.g." in screen and "Quit" in screen


@needs_tmux
def test_a_typed_command_is_answered_on_screen_and_ctrl_q_quits_cleanly(
    dashboard: Terminal,
) -> None:
    first = dashboard.wait_until(_dashboard_drawn, "dashboard")
    assert "saga  type" in first  # the saga table's header, under the tabs

    dashboard.type("show paused sagas")
    dashboard.press("Enter")
    # The reply and the filter's chip are drawn apart; both must show.
    dashboard.wait_until(lambda s: "No paused sagas." in s and "status: paused ✕" in s, "reply")

    dashboard.press("C-q")
    status, last = dashboard.wait_for_exit()
    assert status == 0
    assert "Traceback" not in last


def test_a_file_that_is_not_a_database_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("these are my notes, not a database\n" * 100)
    done = subprocess.run(
        [*EVA, "--db", str(notes), "--sagas", "2"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=eva_environment(tmp_path),
        timeout=DEADLINE,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("eva: ")
    assert notes.name in line  # which file, with the reason after it
    assert notes.read_text().startswith("these are my notes")
