"""EVA speaks its replies: pyttsx3 with espeak-ng, from one background worker.

pyttsx3 loads and initialises libespeak-ng; speech is then synthesised through
pyttsx3's espeak-ng binding directly, collecting the samples in its own callback.
pyttsx3's engine API is avoided for two measured reasons: its `say()` on Linux
synthesises everything and then runs `aplay`, which blocks and cannot be
interrupted; and through its command queue a new rate or voice sometimes
applied one utterance late. The samples are played block by block through
sounddevice, checking between blocks whether a newer reply should cut them off.
espeak-ng is one engine per process and not thread-safe, so calls into it take
a process-wide lock, whichever speaker makes them.
"""

from __future__ import annotations

import ctypes
import difflib
import logging
import os
import queue
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from eva.voice.errors import NoSpeechEngineError

MIN_RATE, MAX_RATE = 80, 450
"""Words per minute espeak-ng can say."""
_BLOCK_SECONDS = 0.05
"""Playback is written in blocks this long: a new reply cuts in within one block."""
_ESPEAK_RATE = 22_050
"""espeak-ng's sample rate."""
_log = logging.getLogger("eva.voice.speech")

Event = Literal["started", "finished", "interrupted", "dropped", "failed"]


@dataclass(frozen=True)
class Voice:
    """One espeak-ng voice: its id (`gmw/en-us`), name and languages."""

    id: str
    name: str
    languages: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Speech:
    """Synthesised speech: mono 16-bit samples."""

    samples: npt.NDArray[np.int16]
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.samples.size / self.sample_rate

    def write_wav(self, path: Path) -> None:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.samples.astype("<i2").tobytes())


class Output(Protocol):
    """Where speech is played."""

    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        """Play; return False if `interrupted` was set before the end.

        Raises:
            NoSpeechEngineError: nothing to play to.
        """
        ...


class SoundDeviceOutput:
    """The default audio output, through PortAudio."""

    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        try:
            import sounddevice as sd
        except OSError as exc:
            raise NoSpeechEngineError(
                "No audio output: PortAudio is missing (install libportaudio2); "
                "replies are shown, not spoken."
            ) from exc
        block = max(1, round(_BLOCK_SECONDS * speech.sample_rate))
        try:
            with sd.OutputStream(
                samplerate=speech.sample_rate, channels=1, dtype="int16"
            ) as stream:
                for start in range(0, speech.samples.size, block):
                    if interrupted.is_set():
                        stream.abort()
                        return False
                    stream.write(speech.samples[start : start + block].reshape(-1, 1))
        except (sd.PortAudioError, ValueError) as exc:
            raise NoSpeechEngineError(
                "No audio output device; replies are shown, not spoken."
            ) from exc
        return True


@dataclass(frozen=True)
class _Say:
    text: str
    generation: int


class Speaker:
    """Speaks replies without ever blocking the caller.

    Args:
        voice: an espeak-ng voice (`en-us`, `gmw/en-gb-x-rp`), optionally with a
            variant (`en-us+f2`); default: espeak-ng's.
        rate: words per minute (80..450); default 175.
        volume: 0..1.
        muted: start muted.
        output: where speech is played (default: the sound card, through PortAudio).
        on_event: called from the worker with (text, event) as replies start,
            finish, are interrupted, dropped, or fail to play.
    """

    def __init__(
        self,
        *,
        voice: str | None = None,
        rate: int | None = None,
        volume: float = 1.0,
        muted: bool = False,
        output: Output | None = None,
        on_event: Callable[[str, Event], None] | None = None,
    ) -> None:
        self.muted = muted
        self.unavailable_reason: str | None = None
        self.playback_problem: str | None = None
        self._output = output or SoundDeviceOutput()
        self._on_event = on_event
        self._jobs: queue.Queue[_Say | None] = queue.Queue()
        self._lock = threading.Condition()
        self._generation = 0
        self._pending = 0
        self._espeak: Any = None
        self._default_voice = ""
        self._interrupt = threading.Event()
        self._engine: Any = None
        self._voices: list[Voice] = []
        self._variants: list[str] = []
        self._load()
        self.voice = ""
        self.volume = volume
        self.rate = self.check_rate(175 if rate is None else rate)
        if voice is not None:
            self.voice = self.check_voice(voice)
        # Started only once the settings are good, so a refused one leaves no thread.
        self._worker = threading.Thread(target=self._run, name="eva-speaker", daemon=True)
        self._worker.start()

    @classmethod
    def from_env(cls, *, voice: str | None = None, rate: int | None = None) -> Speaker:
        """A speaker set from `EVA_TTS_VOICE`, `EVA_TTS_RATE` and `EVA_TTS_MUTE` (1 mutes),
        unless given here."""
        env_rate = os.environ.get("EVA_TTS_RATE", "").strip()
        return cls(
            voice=voice or os.environ.get("EVA_TTS_VOICE") or None,
            rate=rate or (int(env_rate) if env_rate.isdigit() else None),
            muted=os.environ.get("EVA_TTS_MUTE", "") == "1",
        )

    # --- settings -------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def voices(self) -> list[Voice]:
        return list(self._voices)

    def check_voice(self, voice: str) -> str:
        """The voice as espeak-ng spells it, if it has it, else a ValueError naming close ones.

        espeak-ng matches the voice case-blind (`gmw/en-US` is `gmw/en-us`) but the
        variant exactly, and quietly drops a variant it does not know (`en-us+F3`
        speaks as plain `en-us`), so the variant is checked here against its list.
        """
        base, plus, variant = voice.partition("+")
        if not self._voices:  # no engine: nothing to check against, and nothing will speak
            return voice
        known = {v.id for v in self._voices} | {v.id.rpartition("/")[2] for v in self._voices}
        known |= {lang.lower() for v in self._voices for lang in v.languages}
        if base.lower() not in known:
            near = difflib.get_close_matches(base.lower(), sorted(known), n=6, cutoff=0.6)
            raise ValueError(
                f"No voice {base!r}; try {', '.join(near) or 'en-us'} "
                f"({len(self._voices)} voices: see Speaker.voices())."
            )
        if not plus:
            return voice
        spelled = {name.lower(): name for name in self._variants}
        if variant.lower() not in spelled:
            near = difflib.get_close_matches(variant, self._variants, n=6, cutoff=0.5)
            raise ValueError(
                f"No voice variant {variant!r}; try {', '.join(near) or 'f2, m3'} "
                "(all of them: espeak-ng --voices=variant)."
            )
        return f"{base}+{spelled[variant.lower()]}"

    @staticmethod
    def check_rate(rate: int) -> int:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ValueError(f"A speech rate is {MIN_RATE} to {MAX_RATE} words a minute.")
        return rate

    def mute(self) -> None:
        self.muted = True
        self.stop()

    def unmute(self) -> None:
        self.muted = False

    # --- speaking -------------------------------------------------------------

    def say(self, text: str) -> None:
        """Speak `text` in the background, cutting off whatever is being said; never raises."""
        if self.muted or not self.available or not text.strip():
            return
        with self._lock:
            self._generation += 1
            self._interrupt.set()
            self._pending += 1
            self._jobs.put(_Say(text, self._generation))

    def stop(self) -> None:
        """Stop speaking, and forget what was waiting to be said."""
        with self._lock:
            self._generation += 1
            self._interrupt.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything said has been spoken, interrupted or dropped."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def synthesize(self, text: str, *, voice: str | None = None, rate: int | None = None) -> Speech:
        """The speech for `text`, without playing it. Blocking.

        Raises:
            NoSpeechEngineError: no speech engine here.
            ValueError: an unknown voice or a rate out of range.
        """
        if not self.available:
            raise NoSpeechEngineError(self.unavailable_reason or "No speech engine.")
        chosen_voice = self.check_voice(voice) if voice else self.voice
        chosen_rate = self.rate if rate is None else self.check_rate(rate)
        return self._synthesize(text, chosen_voice, chosen_rate)

    def save(
        self, text: str, path: Path, *, voice: str | None = None, rate: int | None = None
    ) -> Speech:
        """Write the speech for `text` to a WAV file."""
        speech = self.synthesize(text, voice=voice, rate=rate)
        speech.write_wav(path)
        return speech

    def close(self) -> None:
        self.stop()
        self._jobs.put(None)
        self._worker.join()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- the worker -------------------------------------------------------------

    def _load(self) -> None:
        try:
            import pyttsx3

            with _ESPEAK:
                engine = pyttsx3.init("espeak")  # loads and initialises libespeak-ng once
                from pyttsx3.drivers import _espeak

                _espeak.SetSynthCallback(_collect)
                # pyttsx3 lists voices but not their variants (`+f3`): ask espeak-ng.
                variants = _espeak.ListVoices(ctypes.pointer(_espeak.VOICE(languages=b"variant")))
            self._variants = [v.identifier.decode().rpartition("/")[2] for v in variants]
            self._espeak = _espeak
            self._engine = engine
            self._voices = [
                Voice(v.id, v.name, tuple(str(lang) for lang in v.languages or ()))
                for v in self._engine.getProperty("voices")
            ]
            # espeak-ng applies a new rate only with a voice set by a name it
            # knows, so there is always one: American English, or its own first.
            languages = [lang for v in self._voices for lang in v.languages]
            self._default_voice = "en-us" if "en-us" in languages else languages[0]
        except Exception:  # pyttsx3 raises whatever its driver's loader raised
            self.unavailable_reason = (
                "No speech engine: install espeak-ng (apt-get install espeak-ng); "
                "replies are shown, not spoken."
            )

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._speak(job)

    def _speak(self, job: _Say) -> None:
        try:
            with self._lock:
                if job.generation != self._generation:
                    self._emit(job.text, "dropped")
                    return
                self._interrupt.clear()
            self._emit(job.text, "started")
            try:
                speech = self._synthesize(job.text, self.voice, self.rate)
                completed = not self._interrupt.is_set() and self._output.play(
                    speech, self._interrupt
                )
            # Whatever an output raises, the worker must live on: wait_idle() waits
            # on it, and a caller of say() never sees the failure.
            except Exception as exc:
                self._failed(job.text, exc)
                return
            self._emit(job.text, "finished" if completed else "interrupted")
        finally:
            with self._lock:
                self._done()

    def _failed(self, text: str, exc: Exception) -> None:
        if self.playback_problem is None:
            self.playback_problem = (
                str(exc)
                if isinstance(exc, NoSpeechEngineError)
                else f"Speech failed ({type(exc).__name__}: {exc}); replies are shown, not spoken."
            )
            # The caller shows `playback_problem`; the log keeps the traceback, at a level
            # that Python's last-resort handler does not print over the CLI's stderr.
            _log.debug("%s", self.playback_problem, exc_info=exc)
        self._emit(text, "failed")

    def _done(self) -> None:
        self._pending -= 1
        self._lock.notify_all()

    def _emit(self, text: str, event: Event) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(text, event)
        except Exception:  # a listener's bug must not stop the speaking
            _log.exception("on_event failed for %r (%s)", text, event)

    def _synthesize(self, text: str, voice: str | None, rate: int | None) -> Speech:
        espeak = self._espeak
        with _ESPEAK:
            if espeak.SetVoiceByName((voice or self._default_voice).encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}.")
            espeak.SetParameter(espeak.RATE, rate or 175, 0)
            espeak.SetParameter(espeak.VOLUME, round(self.volume * 100), 0)
            _CHUNKS.clear()
            espeak.Synth(text.encode(), flags=espeak.ENDPAUSE | espeak.CHARS_UTF8)
            espeak.Synchronize()
            samples = np.frombuffer(b"".join(_CHUNKS), dtype="<i2").copy()
        if samples.size == 0:
            raise NoSpeechEngineError("espeak-ng produced no speech for that text.")
        return Speech(samples, _ESPEAK_RATE)


_ESPEAK = threading.Lock()
"""espeak-ng is one engine per process with one synthesis callback: speakers take turns."""
_CHUNKS: list[bytes] = []


def _collect(wav: Any, count: int, events: Any) -> int:
    """espeak-ng's synthesis callback (called inside Synth, under `_ESPEAK`): keep the
    samples; 0 means go on."""
    if count > 0:
        _CHUNKS.append(ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short)))
    return 0
