"""EVA the assistant: the command line now; conversation, voice and runbooks to come.

May import `intents`, `runtime`, `runtime.errors` and `runtime.events`; never `tui`.
"""

__all__: list[str] = []
