"""The command language: text to a typed command (INTENTS.md).

Pure: no I/O, and nothing of EVA's other packages is imported here.
"""

from intents.commands import DESTRUCTIVE, Command
from intents.normalize import normalize, split_confirmation, split_reason

__all__ = ["DESTRUCTIVE", "Command", "normalize", "split_confirmation", "split_reason"]
