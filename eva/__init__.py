"""EVA the assistant: commands in words become runtime calls, decision records and replies.

May import `intents`, `runtime`, `runtime.errors` and `runtime.events`; never `tui`.
"""

from eva.assistant import Assistant
from eva.monitor import ENDED, Monitor
from eva.replies import Reply
from eva.workspace import Workload, open_assistant
from intents import EXAMPLES, complete, parse
from runtime import (
    ActorInfo,
    DeadLetter,
    Decision,
    EngineError,
    Incident,
    IntegrityError,
    RecentMessage,
    SagaState,
    SagaSummary,
    StepState,
    UnknownSagaError,
)
from runtime.events import RuntimeEvent

__all__ = [
    "ENDED",
    "EXAMPLES",
    "ActorInfo",
    "Assistant",
    "DeadLetter",
    "Decision",
    "EngineError",
    "Incident",
    "IntegrityError",
    "Monitor",
    "RecentMessage",
    "Reply",
    "RuntimeEvent",
    "SagaState",
    "SagaSummary",
    "StepState",
    "UnknownSagaError",
    "Workload",
    "complete",
    "open_assistant",
    "parse",
]
