"""What EVA expects to hear: the command language and the live names, as Whisper's prompt.

Whisper continues the text it is prompted with, so a prompt in the style of the
commands biases it towards their words ("saga", not "soccer"). The prompt holds
no numbers: prompted with "saga 42", tiny.en starts hearing 42 everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from intents import COMMON, EXAMPLES, VOCABULARY

_GLOSSARY = (
    "Saga operations. Show sagas: failed, running, paused, compensating, completed, "
    "rolled back, waiting for approval. Pause saga, resume saga, abort saga, roll back, "
    "force compensation, retry the step, approve saga. Stop accepting new sagas, resume "
    "intake. Actors: venture orchestrator, validation processor, compliance checker, "
    "notification dispatcher, backup manager, metrics collector, saga coordinator. "
    "Restart actor, stop actor. Dead letters. Latency p95, median latency, throughput, "
    "success rate. Run a consistency check. Recursion incidents, restart storm. Decisions."
)
_MOST_IDS = 20
"""Saga ids in the hotwords: the newest few are what the Chairman is looking at."""
_WORD = re.compile(r"[a-z]+")


def _spoken(name: str) -> str:
    """A name as it is said: `order_fulfillment` → "order fulfillment"."""
    return re.sub(r"[_\-]+", " ", name).strip()


@dataclass(frozen=True)
class Hints:
    """The live names worth hearing, on top of the command language.

    Attributes:
        saga_types: registered saga definitions (`order_fulfillment`).
        saga_ids: sagas the Chairman is likely to name, newest first.
        actors: actor names (`compliance-checker-2`).
        ventures: venture names.
    """

    saga_types: tuple[str, ...] = ()
    saga_ids: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    ventures: tuple[str, ...] = ()

    @property
    def prompt(self) -> str:
        """The initial prompt: the command language's glossary."""
        return _GLOSSARY

    @cached_property
    def hotwords(self) -> str:
        """The live names, spoken form, most useful first."""
        names = [
            *(_spoken(t) for t in self.saga_types),
            *(_spoken(a) for a in self.actors),
            *(f"venture {v}" for v in self.ventures),
            *(f"saga {i}" for i in self.saga_ids[:_MOST_IDS]),
        ]
        return ", ".join(dict.fromkeys(n for n in names if n))

    @cached_property
    def words(self) -> frozenset[str]:
        """Every word EVA would understand here: command language and live names."""
        texts: Iterable[str] = (_GLOSSARY, *EXAMPLES.values(), self.hotwords)
        heard = frozenset(w for text in texts for w in _WORD.findall(text.lower()))
        return heard | VOCABULARY | COMMON
