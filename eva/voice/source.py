"""Where push-to-talk's sound comes from: the `AudioSource` protocol, and `FileSource`.

`Microphone` is the source the Chairman talks into. `FileSource` "records" an
audio file instead, so tests, demos and sound that arrives as a file (a phone,
a remote client) go through exactly the same push-to-talk path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from eva.voice import audio
from eva.voice.errors import NoMicrophoneError
from eva.voice.microphone import Recording, rms

_METER_SECONDS = 0.1
"""The level is that of the last tenth of a second, about one block of a microphone."""


class AudioSource(Protocol):
    """Something push-to-talk records one command from.

    `start` and `stop` may block briefly (opening a device, reading a file), so
    callers on an event loop run them on a thread; the properties are cheap and
    safe to poll from any thread while recording.
    """

    @property
    def recording(self) -> bool:
        """Whether `start` was called and `stop` not yet."""
        ...

    @property
    def ended(self) -> bool:
        """Whether the recording ended by itself and waits for `stop` to collect it."""
        ...

    @property
    def level(self) -> float:
        """Loudness of the sound now, as RMS in 0..1."""
        ...

    @property
    def seconds(self) -> float:
        """How much has been recorded so far."""
        ...

    def ready(self) -> None:
        """Make sure there is something to record from.

        Raises:
            NoMicrophoneError: with the reason, fit to show.
        """
        ...

    def start(self, *, until_silence: bool = False) -> None:
        """Begin recording in the background.

        Raises:
            VoiceError: nothing to record from, or sound that cannot be read.
        """
        ...

    def stop(self) -> Recording:
        """End the recording and return it (mono float32)."""
        ...


class FileSource:
    """An audio file (any format FFmpeg decodes) recorded as if spoken into a microphone.

    The recording is always the whole file, however soon `stop` comes; the
    clock only paces what a meter sees: the level and seconds of the part
    "heard" so far, and `ended` once the file has run out.

    Args:
        path: the file.
        clock: seconds, monotonic (a test can hold it still or move it).
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._samples: audio.Samples | None = None
        self._started = 0.0

    @property
    def recording(self) -> bool:
        return self._samples is not None

    # Each property reads `_samples` once: a meter polls them while `stop` runs on
    # another thread.

    @property
    def ended(self) -> bool:
        samples = self._samples
        return samples is not None and self._heard(samples) == samples.size

    @property
    def level(self) -> float:
        samples = self._samples
        if samples is None:
            return 0.0
        end = self._heard(samples)
        window = round(_METER_SECONDS * audio.SAMPLE_RATE)
        return rms(samples[max(0, end - window) : end])

    @property
    def seconds(self) -> float:
        samples = self._samples
        return 0.0 if samples is None else self._heard(samples) / audio.SAMPLE_RATE

    def ready(self) -> None:
        if not self.path.is_file():
            raise NoMicrophoneError(f"There is no audio file {self.path} to record from.")

    def start(self, *, until_silence: bool = False) -> None:
        """Read the file; the file's end is its silence, so `until_silence` changes nothing.

        Raises:
            VoiceError: the file is missing, not audio, damaged, or far too long.
            RuntimeError: already recording.
        """
        if self._samples is not None:
            raise RuntimeError("already recording; call stop() first")
        self._samples = audio.load(self.path)
        self._started = self._clock()

    def stop(self) -> Recording:
        """The whole file, at 16 kHz.

        Raises:
            RuntimeError: not recording.
        """
        if self._samples is None:
            raise RuntimeError("not recording; call start() first")
        samples, self._samples = self._samples, None
        return Recording(
            samples=samples,
            sample_rate=audio.SAMPLE_RATE,
            stopped_by="silence" if self._heard(samples) == samples.size else "stop",
        )

    def _heard(self, samples: audio.Samples) -> int:
        """How many samples a microphone would have delivered by now."""
        elapsed = round((self._clock() - self._started) * audio.SAMPLE_RATE)
        return min(max(0, elapsed), samples.size)
