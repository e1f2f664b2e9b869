"""Audio files to 16 kHz samples, and the speech in them, with a specific answer for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from eva.voice.errors import NotAudioError, NothingHeardError, TooLongError, VoiceError

SAMPLE_RATE = 16_000
"""What Whisper listens at."""
MAX_RECORDING = 15 * 60.0
"""Longer files are refused before decoding: nobody records a command for a quarter hour."""
MAX_SPEECH = 30.0
"""Whisper hears 30 s at a time; a command is far shorter."""

Samples = npt.NDArray[np.float32]


def load(path: Path) -> Samples:
    """The file's sound as mono 16 kHz float32 (any format and rate FFmpeg decodes).

    Raises:
        VoiceError: the file is missing, empty, not audio, or far too long.
        NothingHeardError: it decodes to no samples at all.
    """
    # Decoding goes through PyAV, which faster-whisper brings; imported here so
    # typed commands never pay for it.
    import av
    from faster_whisper import decode_audio

    if path.is_dir():
        raise VoiceError(f"{path} is a folder, not an audio file.")
    if not path.exists():
        raise VoiceError(f"There is no file {path}.")
    if path.stat().st_size == 0:
        raise NotAudioError(f"{path.name} is empty: that file is not audio.")
    seconds = _duration(path)
    if seconds is not None and seconds > MAX_RECORDING:
        raise TooLongError(
            f"{path.name} is {_minutes(seconds)} long; say one command (a few seconds)."
        )
    try:
        samples: Samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, ValueError) as exc:
        raise NotAudioError(f"{path.name} is not audio, or is damaged.") from exc
    if samples.size == 0:
        raise NothingHeardError(f"I heard nothing: {path.name} holds no sound.")
    return samples


def _duration(path: Path) -> float | None:
    """The container's own idea of its length, read without decoding (None: unknown)."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise NotAudioError(f"{path.name} has no sound in it: that file is not audio.")
            stream = streams[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
    except av.error.FFmpegError as exc:
        raise NotAudioError(f"{path.name} is not audio, or is damaged.") from exc
    return None


def _minutes(seconds: float) -> str:
    whole = round(seconds / 60)
    return f"{whole} minutes" if whole != 1 else "1 minute"


def speech(samples: Samples) -> Samples:
    """Only the speech in the samples (Silero VAD), joined.

    Raises:
        NothingHeardError: silence, or noise without speech.
        TooLongError: more speech than one command.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # Half a second of silence splits speech; the pad keeps word edges Whisper needs.
    found = get_speech_timestamps(
        samples, VadOptions(min_silence_duration_ms=500, speech_pad_ms=200)
    )
    if not found:
        raise NothingHeardError("I heard nothing: no speech in that recording.")
    spoken = np.concatenate([samples[f["start"] : f["end"]] for f in found])
    seconds = spoken.size / SAMPLE_RATE
    if seconds > MAX_SPEECH:
        raise TooLongError(
            f"I heard {seconds:.0f} seconds of speech; say one command at a time "
            f"(at most {MAX_SPEECH:.0f} seconds)."
        )
    return spoken
