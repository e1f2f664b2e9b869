"""Hearing commands: EVA's listener against plain faster-whisper, on EVA's own speech.

The round-trip corpus (tests/eva/voice/spoken.jsonl: every intent, four espeak-ng
voices, three rates, white noise on some) is spoken by `eva.voice.Speaker` into
WAV files, then heard by:

- the peer: faster-whisper's own `transcribe()` (beam 5, VAD on, no prompt), then `parse`;
- EVA's `Listener` with beam 1 and 5, with the prompt and hotwords on and off.

For each: model load time; per clip the median and p95 of transcription (file to
text) and of utterance-to-intent (file to command), the real-time factor;
intent accuracy, slot accuracy and word error rate (both texts normalised by the
command language, so "forty two" and "42" agree). Targets: median
utterance-to-intent under 0.6 s for a 3 s clip; intent accuracy at least 95% and
slot accuracy at least 90%. Run from the repository root; the last line is one
JSON object:

    python -m bench.voice --quick          # every third clip
    python -m bench.voice                  # the whole corpus
    python -m bench.voice --model DIR      # also a CTranslate2 Whisper folder (e.g. base.en)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from eva.voice import Hints, Listener
from eva.voice.commands import static_hints
from eva.voice.listener import default_model
from eva.voice.nbest import choose
from intents import normalize, parse
from tests.eva.voice.spoken import Clip, slots_heard, synthesize


@dataclass
class Row:
    name: str
    load_s: float
    transcribe: list[float]
    to_intent: list[float]
    rtf: list[float]
    three_second: list[float]
    intents_right: int = 0
    slots_right: int = 0
    slots_counted: int = 0
    word_errors: int = 0
    words: int = 0
    clips: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "config": self.name,
            "load_s": round(self.load_s, 3),
            "transcribe_p50_s": round(statistics.median(self.transcribe), 3),
            "transcribe_p95_s": round(_p95(self.transcribe), 3),
            "to_intent_p50_s": round(statistics.median(self.to_intent), 3),
            "to_intent_p95_s": round(_p95(self.to_intent), 3),
            "rtf_p50": round(statistics.median(self.rtf), 3),
            "to_intent_3s_p50_s": round(statistics.median(self.three_second), 3),
            "intent_accuracy": round(self.intents_right / self.clips, 3),
            "slot_accuracy": round(self.slots_right / max(1, self.slots_counted), 3),
            "wer": round(self.word_errors / max(1, self.words), 3),
        }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes() / w.getframerate())


def _words(text: str) -> list[str]:
    return normalize(text).replace("-", " ").split()


def _listener_config(
    name: str, model: str, beam: int, prompt: bool, hints: Hints
) -> tuple[str, float, Callable[[Path], tuple[str, float, float]]]:
    listener = Listener(model, beam_size=beam, guesses=beam, prompt=prompt)
    started = time.perf_counter()
    listener.load()
    load_s = time.perf_counter() - started

    def hear(path: Path) -> tuple[str, float, float]:
        t0 = time.perf_counter()
        heard = listener.guess(path, hints)
        t1 = time.perf_counter()
        chosen, _ = choose(heard.guesses, hints)
        return chosen.text, t1 - t0, time.perf_counter() - t0

    return name, load_s, hear


def _peer_config(model: str) -> tuple[str, float, Callable[[Path], tuple[str, float, float]]]:
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    whisper = WhisperModel(model, device="cpu", compute_type="int8", local_files_only=True)
    load_s = time.perf_counter() - started

    def hear(path: Path) -> tuple[str, float, float]:
        t0 = time.perf_counter()
        segments, _ = whisper.transcribe(
            str(path),
            beam_size=5,
            language="en",
            vad_filter=True,
            condition_on_previous_text=False,
        )
        text = "".join(s.text for s in segments).strip()
        t1 = time.perf_counter()
        parse(text)
        return text, t1 - t0, time.perf_counter() - t0

    return "peer: faster-whisper transcribe()", load_s, hear


def run(clips: list[tuple[Clip, Path]], models: list[str]) -> list[Row]:
    hints = static_hints()
    rows = []
    for model in models:
        tag = "" if model == default_model() else f" [{Path(model).name}]"
        configs = [
            _peer_config(model),
            *(
                _listener_config(
                    f"EVA beam {beam}, prompt {'on' if prompt else 'off'}",
                    model,
                    beam,
                    prompt,
                    hints,
                )
                for beam in (1, 5)
                for prompt in (False, True)
            ),
        ]
        for name, load_s, hear in configs:
            row = Row(name + tag, load_s, [], [], [], [])
            for clip, path in clips:
                seconds = _seconds(path)
                text, transcribe_s, to_intent_s = hear(path)
                got = parse(text).as_json()
                row.clips += 1
                row.transcribe.append(transcribe_s)
                row.to_intent.append(to_intent_s)
                row.rtf.append(transcribe_s / seconds)
                if 2.5 <= seconds <= 3.5:
                    row.three_second.append(to_intent_s)
                row.intents_right += got["intent"] == clip.intent
                right, counted = slots_heard(
                    clip.slots, got["slots"] if got["intent"] == clip.intent else {}
                )
                row.slots_right += right
                row.slots_counted += counted
                ref = _words(clip.text)
                row.word_errors += Levenshtein.distance(ref, _words(text))
                row.words += len(ref)
            rows.append(row)
            print(_line(row.as_json()), flush=True)
    return rows


def _line(r: dict[str, object]) -> str:
    return (
        f"{r['config']:<40} load {r['load_s']:.2f}s  transcribe p50 {r['transcribe_p50_s']:.3f}"
        f" p95 {r['transcribe_p95_s']:.3f}  to-intent p50 {r['to_intent_p50_s']:.3f}"
        f" p95 {r['to_intent_p95_s']:.3f}  (3 s clips p50 {r['to_intent_3s_p50_s']:.3f})"
        f"  RTF {r['rtf_p50']:.2f}"
        f"  intent {r['intent_accuracy']:.1%}  slots {r['slot_accuracy']:.1%}  WER {r['wer']:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every third clip")
    parser.add_argument("--model", action="append", default=[], help="another model folder")
    parser.add_argument(
        "--snr",
        type=float,
        help="noise on the noisy clips at this SNR (dB) instead of the corpus's",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clips = synthesize(Path(folder), snr_db=args.snr)
        if args.quick:
            clips = clips[::3]
        seconds = [_seconds(p) for _, p in clips]
        print(
            f"{len(clips)} clips, {min(seconds):.1f}-{max(seconds):.1f} s"
            f" (median {statistics.median(seconds):.1f} s)"
        )
        rows = run(clips, [default_model(), *args.model])
    print(json.dumps({"clips": len(clips), "results": [r.as_json() for r in rows]}))


if __name__ == "__main__":
    main()
