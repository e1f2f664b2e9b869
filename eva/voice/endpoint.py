"""When a spoken command ends: the `Endpointer`, fed blocks of samples.

Endpointing is by frame energy against an adaptive noise floor rather than
faster-whisper's Silero VAD: it costs microseconds per block inside the
PortAudio callback at any device rate, needs no model loading before the first
word, and gives the same answer however the sound is cut into blocks. Silero
copes better with talk or music in the background, but it would cost a model
load, runs only at 16 or 8 kHz, and its faster-whisper wrapper keeps no state
between calls; at a desk, where the speaker is the loudest thing in the
room, energy against a floor that follows steady noise is enough.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]

_FRAME_SECONDS = 0.02
"""Energy is judged per 20 ms: short enough to follow syllables, long enough to be steady."""
_SPEECH_DB = 10.0
"""A frame this far above the noise floor is speech; steady noise never gets there."""
_MIN_LEVEL_DB = -55.0
"""Below this (dB re full scale) nothing is speech, even over digital silence."""
_QUIETEST_DB = -100.0
_FLOOR_FALL = 0.5
"""The floor drops halfway to a quieter frame at once: the quietest frames are the noise."""
_FLOOR_RISE_DB_PER_SECOND = 5.0
"""It rises slowly, so speech barely lifts it but a fan switched on is learned in seconds."""


class Endpointer:
    """Decides, block by block, whether speech has started and whether it has ended.

    Pure: it sees only the samples it is fed, counts time in samples, and gives
    the same answer however the same sound is split into blocks.
    """

    def __init__(
        self,
        sample_rate: int = 16_000,
        *,
        trailing_silence: float = 0.8,
        max_seconds: float | None = None,
        min_speech: float = 0.1,
    ) -> None:
        """
        Args:
            sample_rate: samples per second of what will be fed.
            trailing_silence: seconds of silence after speech that end it (`math.inf`: never).
            max_seconds: end after this much sound whatever was heard (None: no limit).
            min_speech: seconds of loud sound before it counts as speech (a click does not).
        """
        if sample_rate <= 0 or trailing_silence <= 0 or min_speech <= 0:
            raise ValueError("sample_rate, trailing_silence and min_speech must be positive")
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        self._frame = max(1, round(sample_rate * _FRAME_SECONDS))
        self._frame_seconds = self._frame / sample_rate
        self._trailing = trailing_silence * sample_rate
        self._min_speech = min_speech * sample_rate
        self._limit = (
            None
            if max_seconds is None or math.isinf(max_seconds)
            else round(max_seconds * sample_rate)
        )
        self._pending: Samples = np.zeros(0, dtype=np.float32)
        self._received = 0
        self._judged = 0
        self._floor: float | None = None
        self._loud_run = 0
        self._silent_run = 0
        self._speech_started = False
        self._stopped_by: Literal["silence", "limit"] | None = None
        self._stop_sample: int | None = None

    @property
    def speech_started(self) -> bool:
        """Whether speech has been heard so far."""
        return self._speech_started

    @property
    def done(self) -> bool:
        """Whether the recording should end; once True it stays True."""
        return self._stopped_by is not None

    @property
    def stopped_by(self) -> Literal["silence", "limit"] | None:
        """Why it is done: trailing silence after speech, or the length limit."""
        return self._stopped_by

    @property
    def stop_sample(self) -> int | None:
        """How many of the fed samples belong to the recording, once done."""
        return self._stop_sample

    def feed(self, block: npt.ArrayLike) -> bool:
        """Take the next samples (mono, float in [-1, 1]) and answer `done`."""
        if self._stopped_by is not None:
            return True
        samples = np.asarray(block, dtype=np.float32).reshape(-1)
        self._received += samples.size
        pending = np.concatenate((self._pending, samples))
        whole = pending.size // self._frame
        frames = pending[: whole * self._frame].reshape(whole, self._frame).astype(np.float64)
        self._pending = pending[whole * self._frame :]
        energies = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
        energies = np.clip(np.nan_to_num(energies, nan=_QUIETEST_DB), _QUIETEST_DB, 0.0)
        for energy in energies.tolist():
            end = self._judged + self._frame
            # Frames beyond the limit are never judged, so the answer does not
            # depend on how much was fed past it.
            if self._limit is not None and end > self._limit:
                break
            self._judged = end
            if self._judge(energy):
                self._stop("silence", end)
                return True
        if self._limit is not None and self._received >= self._limit:
            self._stop("limit", self._limit)
        return self.done

    def _judge(self, energy: float) -> bool:
        """Classify one frame, learn the floor from it; True when speech has ended."""
        floor = energy if self._floor is None else self._floor
        loud = energy >= max(floor + _SPEECH_DB, _MIN_LEVEL_DB)
        ended = False
        if not self._speech_started:
            self._loud_run = self._loud_run + self._frame if loud else 0
            self._speech_started = self._loud_run >= self._min_speech
        else:
            self._silent_run = 0 if loud else self._silent_run + self._frame
            ended = self._silent_run >= self._trailing
        if energy < floor:
            floor += _FLOOR_FALL * (energy - floor)
        else:
            floor += min(energy - floor, _FLOOR_RISE_DB_PER_SECOND * self._frame_seconds)
        self._floor = floor
        return ended

    def _stop(self, why: Literal["silence", "limit"], at: int) -> None:
        self._stopped_by = why
        self._stop_sample = at


# eq=False: == on arrays gives arrays, so generated equality would raise.
