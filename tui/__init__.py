"""The Textual dashboard. May import `eva` (and through it nothing else of ours directly)."""

__all__: list[str] = []
