"""The command language: text to a typed command (INTENTS.md).

Pure: no I/O, and nothing of EVA's other packages is imported here.
"""

from intents.commands import ACTIONS, COMMANDS, DESTRUCTIVE, Command
from intents.complete import complete
from intents.evaluate import Evaluation, evaluate
from intents.normalize import normalize, split_confirmation, split_reason
from intents.parse import CONFIDENCE_FLOOR, ParseResult, parse, suggest
from intents.templates import COMMON, EXAMPLES, VOCABULARY

__all__ = [
    "ACTIONS",
    "COMMANDS",
    "COMMON",
    "CONFIDENCE_FLOOR",
    "DESTRUCTIVE",
    "EXAMPLES",
    "VOCABULARY",
    "Command",
    "Evaluation",
    "ParseResult",
    "complete",
    "evaluate",
    "normalize",
    "parse",
    "split_confirmation",
    "split_reason",
    "suggest",
]
