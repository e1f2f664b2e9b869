"""One spoken command from the microphone: push-to-talk, or until the speaker falls silent.

The decision "has the speaker finished?" is the `Endpointer` (eva.voice.endpoint);
`Microphone` only moves sound from PortAudio (through sounddevice, imported when
first needed so typed commands never load it) into an `Endpointer` and a buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from eva.voice.endpoint import Endpointer
from eva.voice.errors import NoMicrophoneError

Samples = npt.NDArray[np.float32]
StoppedBy = Literal["silence", "stop", "limit"]

_STALL_GRACE_SECONDS = 2.0
"""How much longer than max_seconds `record()` waits for a device that stops delivering."""


@dataclass(frozen=True, eq=False)
class Recording:
    """What the microphone heard, ready for faster-whisper."""

    samples: Samples
    """Mono float32 in [-1, 1]."""
    sample_rate: int
    """Samples per second (16 000 unless asked otherwise)."""
    stopped_by: StoppedBy
    """Why it ended: "silence" after speech, "stop" by the caller, or "limit" (max_seconds)."""

    @property
    def seconds(self) -> float:
        """How long the recording lasts."""
        return self.samples.size / self.sample_rate


class Microphone:
    """Records one command from an input device through PortAudio.

    The work happens on PortAudio's own thread: `start` and `stop` return
    quickly, `record` blocks the calling thread, and `record_async` awaits
    without blocking the event loop.
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        sample_rate: int = 16_000,
        max_seconds: float = 15.0,
        trailing_silence: float = 0.8,
        min_speech: float = 0.1,
    ) -> None:
        """
        Args:
            device: PortAudio device index or (part of) its name; None: the system default.
            sample_rate: rate of the returned samples; asked of the device first, else resampled.
            max_seconds: no recording is longer than this.
            trailing_silence: seconds of silence after speech that end `record()`.
            min_speech: seconds of loud sound before it counts as speech.
        """
        if not math.isfinite(max_seconds):
            raise ValueError("max_seconds must be finite: a microphone left open records forever")
        # Validates the endpointing arguments now rather than on first use.
        Endpointer(
            sample_rate,
            trailing_silence=trailing_silence,
            max_seconds=max_seconds,
            min_speech=min_speech,
        )
        self._device = device
        self._sample_rate = sample_rate
        self._max_seconds = max_seconds
        self._trailing_silence = trailing_silence
        self._min_speech = min_speech
        self._session: _Session | None = None

    @staticmethod
    def check(device: int | str | None = None) -> None:
        """Make sure there is something to record from.

        Raises:
            NoMicrophoneError: PortAudio is not installed, or there is no such input device.
        """
        _input_device(_sounddevice(), device)

    @property
    def recording(self) -> bool:
        """Whether `start` was called and `stop` not yet."""
        return self._session is not None

    @property
    def ended(self) -> bool:
        """Whether the recording ended by itself (silence or max_seconds) and waits for `stop`."""
        session = self._session
        return session is not None and session.ended.is_set()

    @property
    def level(self) -> float:
        """Loudness of the last block heard, as RMS in 0..1 (0 when not recording).

        Safe to read from any thread: a meter polls it while PortAudio's thread writes it.
        """
        session = self._session
        return 0.0 if session is None else session.level

    @property
    def seconds(self) -> float:
        """How much has been recorded so far (0 when not recording)."""
        session = self._session
        return 0.0 if session is None else session.seconds

    def ready(self) -> None:
        """Make sure this microphone's device is there to record from (`check` for it).

        Raises:
            NoMicrophoneError: PortAudio is not installed, or there is no such input device.
        """
        self.check(self._device)

    def start(self, *, until_silence: bool = False) -> None:
        """Open the device and begin recording in the background (push-to-talk: key down).

        Without `until_silence` it goes on until `stop()` or max_seconds.

        Raises:
            NoMicrophoneError: nothing to record from, or the device cannot be opened.
            RuntimeError: already recording.
        """
        if self._session is not None:
            raise RuntimeError("already recording; call stop() first")
        sd = _sounddevice()
        name = _input_device(sd, self._device)
        rate, channels = _input_settings(sd, self._device, name, self._sample_rate)
        endpointer = Endpointer(
            rate,
            trailing_silence=self._trailing_silence if until_silence else math.inf,
            max_seconds=self._max_seconds,
            min_speech=self._min_speech,
        )
        session = _Session(sd, endpointer, rate)
        try:
            session.stream = sd.InputStream(
                device=self._device,
                samplerate=rate,
                channels=channels,
                dtype="float32",
                callback=session.on_block,
                finished_callback=session.on_finished,
            )
            session.stream.start()
        except sd.PortAudioError as error:
            session.close()
            raise NoMicrophoneError(f"The microphone {name} cannot be opened: {error}.") from error
        self._session = session

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the recording ends by itself (silence or max_seconds); False on timeout."""
        return self._current().ended.wait(timeout)

    def stop(self) -> Recording:
        """End the recording (push-to-talk: the key came up) and return what was heard.

        Raises:
            RuntimeError: not recording.
        """
        return self._finish("stop")

    def record(self, *, until_silence: bool = True) -> Recording:
        """Record one command, blocking until silence after speech or max_seconds.

        Raises:
            NoMicrophoneError: nothing to record from, or the device gave no sound at all.
        """
        self.start(until_silence=until_silence)
        ended = self.wait(self._max_seconds + _STALL_GRACE_SECONDS)
        return self._finish("stop" if ended else "limit", stalled=not ended)

    async def record_async(self, *, until_silence: bool = True) -> Recording:
        """`record()` for an event loop: opening, waiting and closing happen off the loop.

        Cancelling it closes the device and discards the sound.
        """
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()

        def wake() -> None:
            # The loop may be gone when a late end-of-stream arrives after a cancel.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ended.set)

        await asyncio.to_thread(self.start, until_silence=until_silence)
        self._current().when_ended(wake)
        try:
            async with asyncio.timeout(self._max_seconds + _STALL_GRACE_SECONDS):
                await ended.wait()
        except TimeoutError:
            return await asyncio.to_thread(self._finish, "limit", stalled=True)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._finish, "stop"))
            raise
        return await asyncio.to_thread(self._finish, "stop")

    def _current(self) -> _Session:
        if self._session is None:
            raise RuntimeError("not recording; call start() first")
        return self._session

    def _finish(self, otherwise: StoppedBy, *, stalled: bool = False) -> Recording:
        session = self._current()
        self._session = None
        samples, stopped_by = session.close()
        if stalled and samples.size == 0:
            raise NoMicrophoneError(
                "The microphone delivered no sound at all; "
                "check that it is not muted or held by another program."
            )
        return Recording(
            samples=_resample(samples, session.rate, self._sample_rate),
            sample_rate=self._sample_rate,
            stopped_by=stopped_by or otherwise,
        )


class _Session:
    """One open stream: PortAudio's thread feeds it, the caller's thread closes it."""

    def __init__(self, sd: ModuleType, endpointer: Endpointer, rate: int) -> None:
        self.sd = sd
        self.rate = rate
        self.stream: Any = None
        self.ended = threading.Event()
        self._endpointer = endpointer
        self._lock = threading.Lock()
        self._chunks: list[Samples] = []
        self._kept = 0
        self._listeners: list[Callable[[], None]] = []
        self.level = 0.0
        """RMS of the last block; a float is replaced whole, so readers need no lock."""

    @property
    def seconds(self) -> float:
        return self._kept / self.rate

    def on_block(self, indata: Samples, frames: int, time: object, status: object) -> None:
        # Devices that only record in stereo are mixed down here.
        mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
        with self._lock:
            done = self._endpointer.feed(mono)
            stop = self._endpointer.stop_sample
            keep = mono if stop is None else mono[: max(0, stop - self._kept)]
            self._chunks.append(keep.copy())
            self._kept += keep.size
            self.level = rms(mono)
        if done:
            self._end()
            raise self.sd.CallbackStop

    def on_finished(self) -> None:
        self._end()

    def when_ended(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on some other thread) when the stream ends, at once if it has."""
        with self._lock:
            if not self.ended.is_set():
                self._listeners.append(listener)
                return
        listener()

    def _end(self) -> None:
        with self._lock:
            if self.ended.is_set():
                return
            self.ended.set()
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener()

    def close(self) -> tuple[Samples, Literal["silence", "limit"] | None]:
        if self.stream is not None:
            # stop() rather than abort(): the last blocks spoken before the key
            # came up are still delivered to on_block.
            self.stream.stop()
            self.stream.close()
        with self._lock:
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            return samples, self._endpointer.stopped_by


def rms(samples: Samples) -> float:
    """Root mean square of `samples` (float in [-1, 1]), 0 for none: how loud they are."""
    if samples.size == 0:
        return 0.0
    return min(1.0, float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def _sounddevice() -> ModuleType:
    """sounddevice, with PortAudio's absence turned into an answer the user can act on."""
    try:
        import sounddevice
    except OSError as error:
        # sounddevice loads libportaudio when imported and raises OSError if it cannot.
        raise NoMicrophoneError(
            "PortAudio is missing, so EVA cannot record: install libportaudio2 "
            "(sudo apt install libportaudio2; on macOS, brew install portaudio)."
        ) from error
    module: ModuleType = sounddevice
    return module


def _input_device(sd: ModuleType, device: int | str | None) -> str:
    """The name of the input device that `device` selects."""
    try:
        info = sd.query_devices(device, "input")
    except (ValueError, sd.PortAudioError) as error:
        inputs = [d["name"] for d in sd.query_devices() if d["max_input_channels"] > 0]
        if device is None or not inputs:
            raise NoMicrophoneError(
                "No microphone: PortAudio finds no audio input device on this machine; "
                "connect one, or check that this user may use the sound card."
            ) from error
        raise NoMicrophoneError(
            f"No microphone matches {device!r}; the input devices here are: {', '.join(inputs)}."
        ) from error
    return str(info["name"])


def _input_settings(
    sd: ModuleType, device: int | str | None, name: str, rate: int
) -> tuple[int, int]:
    """(rate, channels) the device accepts: the wanted rate in mono if possible."""
    info = sd.query_devices(device, "input")
    own_rate = round(info["default_samplerate"])
    channels = [1] + ([2] if info["max_input_channels"] >= 2 else [])
    for count in channels:
        for candidate in dict.fromkeys((rate, own_rate)):
            try:
                sd.check_input_settings(
                    device=device, channels=count, dtype="float32", samplerate=candidate
                )
            except (ValueError, sd.PortAudioError):
                continue
            return candidate, count
    raise NoMicrophoneError(
        f"The microphone {name} records neither at {rate} Hz nor at its own {own_rate} Hz."
    )


def _resample(samples: Samples, source_rate: int, target_rate: int) -> Samples:
    """`samples` at `target_rate`; only used when the device cannot record at it.

    FFmpeg's resampler (through PyAV, which faster-whisper brings) filters below
    the new Nyquist frequency, so nothing above it folds back into speech.
    """
    if source_rate == target_rate or samples.size == 0:
        return samples
    import av

    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = source_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    resampled: Samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return resampled.astype(np.float32, copy=False)
