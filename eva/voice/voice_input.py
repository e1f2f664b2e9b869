"""Push-to-talk's two halves for a UI: where the sound comes from, and what hears it."""

from __future__ import annotations

from dataclasses import dataclass

from eva.voice.audio import SAMPLE_RATE
from eva.voice.listener import Transcript
from eva.voice.microphone import Recording
from eva.voice.session import VoiceSession
from eva.voice.source import AudioSource


@dataclass(frozen=True)
class VoiceInput:
    """A source to record commands from and a session that hears them with live names.

    Building one costs nothing: the device is first touched by `prepare` or
    `source.start`, and the model first loads in `prepare` or on first `hear`.
    """

    source: AudioSource
    """The microphone, or a file standing in for it."""
    session: VoiceSession
    """Hears what was recorded; its assistant's runtime gives the live names."""

    def prepare(self) -> None:
        """Check the source, then load the model, so the first command is heard at once.

        Blocking (seconds, the first time): call it off the event loop.

        Raises:
            VoiceError: nothing to record from, or no model; the message says which.
        """
        self.source.ready()
        self.session.listener.load()

    async def hear(self, recording: Recording) -> Transcript:
        """What was said in `recording` (at 16 kHz), without acting on it.

        Raises:
            VoiceError: nothing heard, or bad audio.
            EngineError: the live names cannot be read.
        """
        if recording.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper hears {SAMPLE_RATE} Hz, not {recording.sample_rate} Hz")
        return await self.session.transcribe(recording.samples)
