"""Scoring the parser against a corpus of sentences with their expected intent and slots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from intents.parse import parse


@dataclass
class Evaluation:
    """Intent and slot accuracy over a corpus, and what was confused with what."""

    total: int = 0
    intents_right: int = 0
    slots_right: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.total if self.total else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.total if self.total else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "sentences": self.total,
            "intent_accuracy": round(self.intent_accuracy, 4),
            "slot_accuracy": round(self.slot_accuracy, 4),
            "confusions": [
                {"expected": e, "got": g, "count": n} for (e, g), n in self.confusions.most_common()
            ],
        }


def evaluate(cases: Iterable[Mapping[str, Any]]) -> Evaluation:
    """Parse each case's `text`; compare with its `intent`, `slots` (and `confirmed`)."""
    result = Evaluation()
    for case in cases:
        got = parse(case["text"]).as_json()
        want = {"intent": case["intent"], "slots": case.get("slots", {})}
        result.total += 1
        if got["intent"] == want["intent"]:
            result.intents_right += 1
            if got["slots"] == want["slots"] and bool(got.get("confirmed")) == bool(
                case.get("confirmed")
            ):
                result.slots_right += 1
                continue
        else:
            result.confusions[(want["intent"], got["intent"])] += 1
        result.misses.append((case["text"], want, {"intent": got["intent"], "slots": got["slots"]}))
    return result
