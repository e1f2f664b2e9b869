"""Choosing among Whisper's best guesses the one that is a command EVA knows.

Beam search returns several transcripts; the most probable one is often a near
miss ("portent saga 42") while a close second is the command ("pause saga 42").
Command-and-control recognisers rescore such lists with their grammar; here the
grammar is the command language: a guess that parses, and whose words EVA knows,
beats a slightly more probable one that does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eva.voice.hints import Hints
from intents import ACTIONS, ParseResult, normalize, parse, split_reason

_FIT_WEIGHT = 1.0
"""How much a fully known guess gains over Whisper's average token log-probability."""
_UNKNOWN_NAME = 0.3
"""What naming a saga type, actor or venture that does not exist costs a guess: a name
nobody has is more likely misheard than meant."""
_SLOT_WEIGHT = 0.1
"""What each slot the command fills gains a guess: "compliance checker 2" over "... tube"."""
_NO_TARGET = 0.3
"""What an action that names nothing to act on costs: "pause saga, work" is a near miss
of "pause saga 1", not an order to pause everything."""
_TARGETS = {"saga", "saga_type", "status", "all", "actor"}
_TARGETED = ACTIONS - {"start_saga", "pause_intake", "resume_intake"}
"""The actions that act on a saga or an actor."""
_WORD = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True)
class Guess:
    """One of Whisper's transcripts with its average token log-probability."""

    text: str
    logprob: float


def fit(text: str, known: frozenset[str]) -> float:
    """The share of the command's words (its reason aside) that EVA knows, 0..1."""
    said, _ = split_reason(text)
    words = _WORD.findall(normalize(said))
    if not words:
        return 0.0
    hits = sum(bool(w.isdigit() or w in known or w.removesuffix("s") in known) for w in words)
    return hits / len(words)


def unknown_names(parsed: ParseResult, hints: Hints) -> int:
    """How many names in the command are not among the live ones ("pull sagas": the
    saga type `pull`), counting only kinds the hints list."""
    slots = parsed.command.slots()
    kind = slots.get("saga_type")
    missing = 0
    if kind is not None and hints.saga_types:
        missing += not any(t.startswith(str(kind)) for t in hints.saga_types)
    if "actor" in slots and hints.actors:
        missing += slots["actor"] not in hints.actors
    if "venture" in slots and hints.ventures:
        missing += slots["venture"] not in hints.ventures
    return missing


def untargeted(parsed: ParseResult) -> bool:
    """An action on sagas or actors that names none."""
    command = parsed.command
    return command.intent in _TARGETED and not _TARGETS & set(command.slots())


def choose(guesses: list[Guess], hints: Hints) -> tuple[Guess, ParseResult]:
    """The guess to act on, and its parse: the best-scoring one that is a command,
    or Whisper's first when none is."""
    best: tuple[float, Guess, ParseResult] | None = None
    for guess in guesses:
        parsed = parse(guess.text)
        if parsed.command.intent == "unknown":
            continue
        score = (
            guess.logprob
            + _FIT_WEIGHT * fit(guess.text, hints.words)
            - _UNKNOWN_NAME * unknown_names(parsed, hints)
            + _SLOT_WEIGHT * len(parsed.command.slots())
            - _NO_TARGET * untargeted(parsed)
        )
        if best is None or score > best[0]:
            best = (score, guess, parsed)
    if best is None:
        return guesses[0], parse(guesses[0].text)
    return best[1], best[2]
