"""Completions for a command being typed: whole commands first, then the word in progress."""

from __future__ import annotations

import re

from intents.templates import COMMON, EXAMPLES, VOCABULARY

PHRASES = (
    *EXAMPLES.values(),
    "show saga failures in the last hour",
    "show sagas waiting for approval",
    "show running sagas",
    "show compensating sagas",
    "show paused sagas",
    "show actors",
    "show failed actors",
    "show dead letters",
    "show metrics",
    "show p99 latency",
    "what's the transaction success rate",
    "show throughput for the last hour",
    "show restart storm incidents",
    "show my decisions",
    "resume intake",
)
"""Whole commands offered as you type: one per intent, and the common queries."""
_WORDS = sorted(VOCABULARY | COMMON | {w for p in PHRASES for w in re.findall(r"[a-z]+", p)})


def complete(text: str, limit: int = 8) -> list[str]:
    """Up to `limit` ways to finish `text`, each starting with it as typed (leading spaces
    aside): commands that
    begin with it, then its last word finished from the command language's words.

    Args:
        text: what is in the command bar.
        limit: most completions returned.
    """
    typed = text.lstrip()
    if not typed.strip() or limit <= 0:
        return []
    lowered = typed.lower()
    found: list[str] = []
    for phrase in dict.fromkeys(PHRASES):
        if phrase.startswith(lowered) and len(phrase) > len(lowered):
            found.append(typed + phrase[len(lowered) :])
    head, _, last = typed.rpartition(" ")
    if last and not typed.endswith(" "):
        lowered_last = last.lower()
        for word in _WORDS:
            if word.startswith(lowered_last) and word != lowered_last:
                found.append(f"{head} {last}{word[len(last) :]}".lstrip())
    return list(dict.fromkeys(found))[:limit]
