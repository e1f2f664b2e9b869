"""EVA the assistant: commands in words become runtime calls, decision records and replies.

May import `intents`, `runtime`, `runtime.errors` and `runtime.events`; never `tui`.
"""

from eva.assistant import Assistant
from eva.replies import Reply
from intents import complete

__all__ = ["Assistant", "Reply", "complete"]
