"""`parse`: any text to one typed command, its confidence, and suggestions when unsure."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from intents import slots as s
from intents.commands import COMMANDS, Command, Unknown
from intents.normalize import normalize, split_confirmation, split_reason
from intents.templates import COMMON, EXAMPLES, RULES, SAGA, SAGA_CONTROLS, TARGET, VOCABULARY

_TARGETS = sorted(VOCABULARY | COMMON | {"help", "open", "intake", "dead", "abort", "start"})

CONFIDENCE_FLOOR = 0.6
"""Below this a parse is `unknown` (with suggestions), never a guess."""
MAX_LENGTH = 2000
"""Longer text is cut here: commands are a sentence or two."""

_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
_FIELDS = {m.model_fields["intent"].default: set(m.model_fields) for m in COMMANDS}
"""Each intent's slots: a reason is only kept where the intent has one."""
_TYPE_STOP = {
    "most",
    "recent",
    "latest",
    "newest",
    "oldest",
    "last",
    "first",
    "top",
    "from",
    "with",
    "by",
    "rollback",
    "spin",
    "up",
    "all",
    "every",
    "the",
    "my",
    "show",
    "list",
    "any",
    "which",
    "are",
    "of",
    "for",
    "and",
    "is",
    "that",
    "those",
    "these",
    "me",
    "now",
    "pause",
    "resume",
    "abort",
    "cancel",
    "stop",
    "halt",
    "hold",
    "freeze",
    "compensate",
    "on",
    "to",
    "in",
    "roll",
    "back",
    "undo",
    "kill",
    "force",
    "compensation",
    "restart",
    "unpause",
    "display",
    "get",
    "find",
    "what",
    "whats",
    "how",
    "many",
    "give",
    "a",
    "an",
    "new",
    "start",
    "launch",
    "run",
    "create",
    "kick",
    "off",
    "begin",
    "open",
}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a text means.

    Attributes:
        command: the intent with the slots that were said.
        confidence: 0..1; below `CONFIDENCE_FLOOR` the command is `unknown`.
        suggestions: up to 3 example commands close to the text (for `unknown`).
        confirmed: the text ended with "!" (a typed confirmation).
    """

    command: Command
    confidence: float
    suggestions: tuple[str, ...] = field(default=())
    confirmed: bool = False

    def as_json(self) -> dict[str, Any]:
        """The `eva parse --json` object (INTENTS.md)."""
        out: dict[str, Any] = {
            "intent": self.command.intent,
            "slots": self.command.slots(),
            "confidence": round(self.confidence, 3),
        }
        if self.command.intent == "unknown":
            out["suggestions"] = list(self.suggestions)
        if self.confirmed:
            out["confirmed"] = True
        return out


def _clean(text: object) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = str(text)
    text = text[:MAX_LENGTH]
    return "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\t\n" else " " for ch in text)


def _mend(text: str) -> tuple[str, int]:
    """Typos mended towards the vocabulary; how many words were changed."""
    words = text.split()
    mended = 0
    for i, word in enumerate(words):
        if (
            len(word) < 3
            or word in VOCABULARY
            or word in COMMON
            or any(c.isdigit() for c in word)
            or "-" in word
        ):
            continue
        replacement = _closest(word)
        if replacement is not None:
            words[i] = replacement
            mended += 1
    return " ".join(words), mended


def _closest(word: str) -> str | None:
    """The vocabulary word a typo most likely meant, or None.

    A typo swaps, drops or adds a letter or two: it keeps the word's first
    letter and about its length ("process" is not a misspelt "processor"). A
    three-letter word is only mended by adding the letter it lost ("ded").
    """
    most = 1 if len(word) <= 6 else 2
    candidates = process.extract(
        word, _TARGETS, scorer=DamerauLevenshtein.distance, score_cutoff=most, limit=10
    )
    fitting = [
        (distance, abs(len(target) - len(word)), target)
        for target, distance, _ in candidates
        if target[0] == word[0]
        and abs(len(target) - len(word)) <= 1
        and (len(word) > 3 or len(target) == 4)
    ]
    return min(fitting)[2] if fitting else None


def parse(text: object, *, today_seconds: int | None = None) -> ParseResult:
    """Parse any text into a command; never raises.

    Args:
        text: what was typed or heard (anything: it is made into text first).
        today_seconds: seconds since local midnight, for "today" (default: now).
    """
    try:
        return _parse(_clean(text), today_seconds)
    except Exception:  # the contract: any text at all gets a result
        return ParseResult(Unknown(), 0.0, tuple(suggest("")))


def _parse(raw: str, today_seconds: int | None) -> ParseResult:
    raw, confirmed = split_confirmation(raw)
    raw, reason = split_reason(raw)
    norm, mended = _mend(normalize(raw))
    intent = next(
        (
            name
            for name, pattern in RULES
            if pattern.search(norm) and (name not in SAGA_CONTROLS or TARGET.search(norm))
        ),
        None,
    )
    if intent is None or not norm:
        return ParseResult(Unknown(), 0.0, tuple(suggest(norm)), confirmed)
    if intent in ("list_sagas", "describe_saga"):
        # One saga named, no plural: its story; otherwise a table.
        single = s.saga_reference(norm) is not None and not re.search(rf"\b{SAGA}s\b", norm)
        if single:
            intent = "describe_saga"
        elif re.search(rf"\b{SAGA}\b", norm):
            intent = "list_sagas"
        else:  # "where is the nearest gas station": no saga in sight
            return ParseResult(Unknown(), 0.0, tuple(suggest(norm)), confirmed)
    values = _slots(intent, norm, reason, today_seconds, raw)
    command = _COMMAND.validate_python({"intent": intent, **values})
    confidence = max(0.0, 0.97 - 0.08 * mended)
    if confidence < CONFIDENCE_FLOOR:
        return ParseResult(Unknown(), confidence, tuple(suggest(norm)), confirmed)
    return ParseResult(command, confidence, (), confirmed)


def suggest(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` example commands closest to the text."""
    if not text:
        return [EXAMPLES["help"], EXAMPLES["list_sagas"], EXAMPLES["show_metrics"]][:limit]
    found = process.extract(text, list(EXAMPLES.values()), scorer=fuzz.token_set_ratio, limit=limit)
    return [example for example, score, _ in found if score >= 40]


def _since(norm: str, today_seconds: int | None) -> int | None:
    if re.search(r"\btoday\b", norm):
        if today_seconds is None:
            now = time.localtime()
            today_seconds = s.seconds_since_midnight(now.tm_hour, now.tm_min, now.tm_sec)
        return today_seconds
    return s.since_seconds(norm)


def _plural_type(norm: str) -> str | None:
    """The saga type of a plural form: "all payment sagas" → payment."""
    norm = s.without_statuses(norm)
    match = re.search(rf"(?P<words>(?:[a-z]+ )*?[a-z]+) {SAGA}\b", norm)
    if match is None or (
        re.search(r"\bsaga\b(?!s)", match.group(0))
        and not re.search(r"\b(?:every|each|any)\b", match.group("words"))
    ):
        return None
    words = [
        w
        for w in match.group("words").split()
        if w not in _TYPE_STOP and not s.saga_status(w) and not w.isdigit()
    ]
    return s.snake(" ".join(words)) if words else None


_INTAKE_TYPE = re.compile(
    rf"\b(?:new|accepting|taking|admitting|starting|incoming|intake (?:of|for)) "
    rf"(?P<words>(?:[a-z_]+ ){{0,4}}?[a-z_]+) {SAGA}\b"
)


def _intake_type(norm: str) -> str | None:
    """The saga type whose intake is meant: "stop accepting new payment sagas" → payment."""
    match = _INTAKE_TYPE.search(norm)
    if match is None:
        return None
    words = [w for w in match.group("words").split() if w not in _TYPE_STOP and w not in _NOT_TYPE]
    return s.snake(" ".join(words)) if words else None


_NOT_TYPE = {"new", "more", "again", "incoming", "accepting", "taking"}


def _slots(
    intent: str, norm: str, reason: str | None, today: int | None, raw: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if intent == "list_sagas":
        out = {
            "status": s.saga_status(norm),
            "since_seconds": _since(norm, today),
            "saga_type": _plural_type(norm),
            "venture": s.venture(norm),
            "limit": s.limit(norm),
        }
    elif intent in ("describe_saga", "approve_saga"):
        out = {"saga": s.saga_reference(norm)}
    elif intent == "start_saga":
        typed = re.search(r"\bof type (?P<name>[a-z_]+)", norm)
        match = re.search(rf"(?P<words>[a-z ]+?) {SAGA}\b", norm)
        words = [w for w in (match.group("words").split() if match else []) if w not in _TYPE_STOP]
        if typed:
            words = [typed.group("name")]
        out = {"saga_type": s.snake(" ".join(words)) if words else None, "venture": s.venture(norm)}
    elif intent in ("pause_saga", "resume_saga", "cancel_saga", "force_compensation"):
        saga = s.saga_reference(norm)
        out["saga"] = saga
        if saga is None:
            every = bool(re.search(r"\b(?:all|every|everything|everyone)\b", norm))
            out["all"] = True if every else None
            out["saga_type"] = _plural_type(norm)
            out["status"] = s.saga_status(norm)
    elif intent in ("pause_intake", "resume_intake"):
        out = {"saga_type": _intake_type(norm)}
    elif intent == "retry_step":
        camel = re.search(r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+\b", raw)
        out = {
            "saga": s.saga_reference(norm),
            "step": s.snake(camel.group(0)) if camel else s.step(norm),
        }
    elif intent == "list_actors":
        out = {"status": s.actor_status(norm), "actor_type": s.actor_type(norm)}
    elif intent in ("restart_actor", "stop_actor"):
        out = {"actor": s.actor_name(norm), "venture": s.venture(norm)}
    elif intent == "list_dead_letters":
        actor = s.actor_name(norm)
        out = {
            "since_seconds": _since(norm, today),
            "actor": actor,
            "actor_type": None if actor else s.actor_type(norm),
        }
    elif intent == "show_metrics":
        metric, percentile = s.metric(norm)
        out = {"metric": metric, "percentile": percentile, "since_seconds": _since(norm, today)}
    elif intent == "list_incidents":
        out = {"trigger": s.trigger(norm), "since_seconds": _since(norm, today)}
    elif intent == "list_decisions":
        out = {"saga": s.saga_reference(norm), "since_seconds": _since(norm, today)}
    if reason and "reason" in _FIELDS[intent]:
        out["reason"] = reason
    return {k: v for k, v in out.items() if v is not None}
