"""The command bar's history: walking it, and keeping it between sessions."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tui import History


def test_up_walks_back_and_down_returns_to_the_draft() -> None:
    history = History()
    for command in ["show failed actors", "pause saga 42", "resume saga 42"]:
        history.add(command)
    assert history.older("show dead") == "resume saga 42"
    assert history.older("ignored") == "pause saga 42"
    assert history.older("") == "show failed actors"
    assert history.older("") == "show failed actors"  # the oldest stays put
    assert history.newer("x") == "pause saga 42"
    assert history.newer("x") == "resume saga 42"
    assert history.newer("x") == "show dead"
    assert history.newer("show dead") == "show dead"


def test_it_is_kept_between_sessions_without_blanks_repeats_or_excess(tmp_path: Path) -> None:
    path = tmp_path / "eva" / "history"
    first = History(path, limit=3)
    for command in ["help", "  ", "show actors", "show actors", "pause saga 1", "resume saga 1"]:
        first.add(command)
    assert History(path, limit=3).entries == ["show actors", "pause saga 1", "resume saga 1"]


def test_an_unreadable_file_is_set_aside_and_history_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text('"help"\n{not json\n')
    history = History(path)
    assert history.entries == []
    assert history.problem is not None
    assert history.problem.startswith(f"Command history {path} was unreadable")
    assert (tmp_path / "history.corrupt").read_text() == '"help"\n{not json\n'
    history.add("help")
    assert History(path).entries == ["help"]


@given(
    st.lists(st.text(min_size=1, max_size=5).filter(str.strip), max_size=8),
    st.text(max_size=5),
    st.integers(min_value=0, max_value=10),
)
def test_walking_back_then_forward_always_ends_at_the_draft(
    commands: list[str], draft: str, steps: int
) -> None:
    history = History()
    for command in commands:
        history.add(command)
    seen = [history.older(draft) for _ in range(steps)]
    assert all(s in history.entries for s in seen) or not history.entries
    shown = seen[-1] if seen else draft
    for _ in range(steps + 1):
        shown = history.newer(shown)
    assert shown == draft
