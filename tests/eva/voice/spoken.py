"""The spoken round-trip corpus: EVA's own speech of each command in `spoken.jsonl`.

Each line gives the command, the espeak-ng voice and rate to say it with, the
signal-to-noise ratio of white noise mixed in (or none), and the intent and
slots `eva listen` must recover. The audio is made here, at test time, by
`eva.voice.Speaker` (pyttsx3 with espeak-ng), so no audio is committed.

    python -m tests.eva.voice.spoken OUT_DIR    # writes the WAVs, prints their paths
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz

CORPUS = Path(__file__).with_name("spoken.jsonl")
REASON_SIMILARITY = 90
"""A reason is free text: it counts as heard when this similar (0..100, by characters,
case aside), so "canceled" matches "cancelled" but "this pressure" misses "disk pressure"."""


@dataclass(frozen=True)
class Clip:
    """One command as spoken, and what it must parse to."""

    text: str
    voice: str
    rate: int
    snr_db: float | None
    intent: str
    slots: dict[str, Any]


def clips() -> list[Clip]:
    return [Clip(**json.loads(line)) for line in CORPUS.read_text().splitlines() if line.strip()]


def synthesize(folder: Path, *, snr_db: float | None = None) -> list[tuple[Clip, Path]]:
    """Every clip of the corpus written as a WAV into `folder` (`snr_db`: the noisy clips'
    noise at this level instead of the corpus's)."""
    from eva.voice import Speaker, Speech

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    with Speaker() as speaker:
        for i, clip in enumerate(clips()):
            path = folder / f"{i:03d}.wav"
            speech = speaker.synthesize(clip.text, voice=clip.voice, rate=clip.rate)
            samples = speech.samples.astype(np.float32) / 32768.0
            if clip.snr_db is not None:
                samples = _noisy(samples, snr_db or clip.snr_db, seed=i)
            pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
            Speech(pcm, speech.sample_rate).write_wav(path)
            out.append((clip, path))
    return out


def _noisy(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise at `snr_db` below the speech's power, seeded so each run hears the same."""
    speech_power = float(np.mean(samples[np.abs(samples) > 1e-3] ** 2))
    noise = np.random.default_rng(seed).normal(0.0, 1.0, samples.shape)
    noise *= np.sqrt(speech_power / 10 ** (snr_db / 10))
    return (samples + noise).astype(np.float32)


def slots_heard(want: dict[str, Any], got: dict[str, Any]) -> tuple[int, int]:
    """(slots right, slots counted): every slot expected or produced counts once, so a
    missing slot and an invented one both cost."""
    keys = set(want) | set(got)
    right = 0
    for key in keys:
        a, b = want.get(key), got.get(key)
        if key == "reason" and isinstance(a, str) and isinstance(b, str):
            right += fuzz.ratio(a.lower(), b.lower()) >= REASON_SIMILARITY
        else:
            right += a == b
    return right, len(keys)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for _, wav in synthesize(target):
        print(wav)
