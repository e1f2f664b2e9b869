"""Every sentence of the corpus parses to its intent and exactly its slots."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from intents import COMMANDS, parse

CORPUS = Path(__file__).with_name("corpus.jsonl")
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()
]
INTENTS = {m.model_fields["intent"].default for m in COMMANDS} | {"unknown"}


def test_the_corpus_covers_every_intent_with_varied_sentences() -> None:
    assert len(CASES) >= 800
    counts = Counter(case["intent"] for case in CASES)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 25
    assert len({case["text"].lower() for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:60] for c in CASES])
def test_each_sentence_gives_its_intent_and_slots(case: dict[str, Any]) -> None:
    got = parse(case["text"]).as_json()
    assert (got["intent"], got["slots"]) == (case["intent"], case["slots"])
    assert bool(got.get("confirmed")) == bool(case.get("confirmed"))


def test_eva_parse_eval_reports_accuracy_and_confusions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text(
        json.dumps({"text": "pause saga 42", "intent": "pause_saga", "slots": {"saga": "42"}})
        + "\n"
        + json.dumps({"text": "pause saga 42", "intent": "resume_saga", "slots": {}})
        + "\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "eva", "parse", "--eval", str(sample), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["sentences"] == 2
    assert report["intent_accuracy"] == 0.5
    assert report["confusions"] == [{"expected": "resume_saga", "got": "pause_saga", "count": 1}]
