"""The Textual dashboard. May import `eva` (and through it nothing else of ours directly)."""

from tui.app import Dashboard
from tui.history import History

__all__ = ["Dashboard", "History"]
