"""The command bar's history: up and down through what was typed, kept between sessions."""

from __future__ import annotations

import json
from pathlib import Path

LIMIT = 500
"""Commands kept: months of a Chairman's work, a few kilobytes."""


class History:
    """Commands typed, oldest first, persisted one JSON string per line.

    Walking: `older()` and `newer()` move through the entries from the newest,
    and walking past the newest gives back the draft that was being typed.
    An unreadable file is set aside (`.corrupt`) and history starts empty:
    losing history never stops the dashboard.

    Args:
        path: the file (None: in memory only).
        limit: most entries kept.
    """

    def __init__(self, path: Path | None = None, *, limit: int = LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.problem: str | None = None
        self.entries: list[str] = self._load()
        self._cursor: int | None = None
        self._draft = ""

    def add(self, command: str) -> None:
        """Remember a command (not a blank one, nor the one just before it again)."""
        self._cursor = None
        command = command.strip()
        if not command or (self.entries and self.entries[-1] == command):
            return
        self.entries.append(command)
        del self.entries[: -self.limit]
        self._save()

    def older(self, draft: str) -> str:
        """The entry before the current one (`draft`: what is typed now, kept for later)."""
        if not self.entries:
            return draft
        if self._cursor is None:
            self._draft, self._cursor = draft, len(self.entries)
        self._cursor = max(0, self._cursor - 1)
        return self.entries[self._cursor]

    def newer(self, current: str) -> str:
        """The entry after the current one, the draft past the newest, or `current` (what
        is typed now) when not walking."""
        if self._cursor is None:
            return current
        self._cursor += 1
        if self._cursor >= len(self.entries):
            self._cursor = None
            return self._draft
        return self.entries[self._cursor]

    def _load(self) -> list[str]:
        if self.path is None or not self.path.exists():
            return []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            entries = [json.loads(line) for line in lines if line.strip()]
            if not all(isinstance(e, str) for e in entries):
                raise ValueError("an entry is not text")
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            self.problem = (
                f"Command history {self.path} was unreadable ({exc}); set aside as {aside.name}."
            )
            try:
                self.path.replace(aside)
            except OSError:
                self.problem = f"Command history {self.path} is unreadable ({exc})."
            return []
        return entries[-self.limit :]

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(
                "".join(json.dumps(e) + "\n" for e in self.entries), encoding="utf-8"
            )
            temporary.replace(self.path)
        except OSError as exc:
            self.problem = f"Command history cannot be saved to {self.path}: {exc.strerror}."
