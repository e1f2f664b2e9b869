"""EVA the assistant: commands in words become runtime calls, decision records and replies.

May import `intents`, `runtime`, `runtime.errors` and `runtime.events`; never `tui`.
"""

from eva.assistant import Assistant
from eva.replies import Reply
from eva.workspace import Workload, open_assistant
from intents import complete
from runtime import EngineError

__all__ = ["Assistant", "EngineError", "Reply", "Workload", "complete", "open_assistant"]
