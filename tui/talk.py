"""Push-to-talk: ctrl+space starts recording, ctrl+space (or trailing silence) stops it;
what was heard is shown, then run as a heard command.

Terminals report no key-up, so the key toggles. The recording happens on the
source's own thread; a timer reads its level ten times a second for the meter,
and the model hears the recording in a worker, so the dashboard stays live.
"""

from __future__ import annotations

import asyncio
import math
from typing import Literal

from rich.text import Text
from textual import work
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker

from eva import Assistant, EngineError
from eva.voice import NoMicrophoneError, Recording, VoiceError, VoiceInput

Phase = Literal["idle", "starting", "recording", "hearing"]

HINT = "ctrl+space to talk"
NO_VOICE = "Push-to-talk is off: this dashboard was started without a microphone."
METER_EVERY = 0.1
"""Seconds between readings of the level: about a microphone block, and smooth to the eye."""
METER_CELLS = 12
QUIET_DB = -60.0
"""The meter's empty end; speech at a desk sits around -30 to -10 dB, so it moves in the middle."""


class Heard(Message):
    """A command was heard: the dashboard runs it as heard text."""

    def __init__(self, text: str, confidence: float) -> None:
        super().__init__()
        self.text = text
        self.confidence = confidence


def meter(level: float, cells: int = METER_CELLS) -> str:
    """`level` (RMS, 0..1) as a bar on a decibel scale, as ears judge loudness."""
    db = 20 * math.log10(level) if level > 0 else QUIET_DB
    filled = round(cells * min(1.0, max(0.0, 1 - db / QUIET_DB)))
    return "█" * filled + "░" * (cells - filled)


class TalkBar(Widget):
    """One line: the hint, the recording indicator with its level meter, or what was heard.

    `toggle` starts or stops recording (the dashboard binds it to ctrl+space);
    a heard command is posted as `Heard` after it is shown.

    Args:
        assistant: the assistant the dashboard commands.
        voice: where to record from and what hears it (None: push-to-talk is off).
    """

    DEFAULT_CSS = """
    TalkBar { height: 1; padding: 0 1; color: $text-muted; }
    TalkBar.-recording { color: $text; }
    """

    phase: reactive[Phase] = reactive[Phase]("idle")
    """What push-to-talk is doing: idle, starting the source, recording, or hearing."""
    seconds: reactive[float] = reactive(0.0)
    """How long the recording is so far."""
    level: reactive[float] = reactive(0.0)
    """Loudness of the sound now (RMS, 0..1), as the meter shows it."""
    said: reactive[str] = reactive("")
    """The last outcome, shown while idle: what was heard, or why nothing was."""
    problem: reactive[str | None] = reactive[str | None](None)
    """Why push-to-talk cannot work here (no microphone, no model); None: it can."""

    def __init__(self, assistant: Assistant, voice: VoiceInput | None = None) -> None:
        super().__init__(id="talk")
        self.assistant = assistant
        self.voice = voice
        self.hearing: Worker[None] | None = None
        """The worker hearing the last recording (await `hearing.wait()` for the outcome)."""
        self._meter: Timer | None = None
        if voice is None:
            self.set_reactive(TalkBar.problem, NO_VOICE)

    def on_mount(self) -> None:
        self._meter = self.set_interval(METER_EVERY, self._read_meter, pause=True)
        if self.voice is not None:
            # After the first frame: checking the device and loading the model take
            # seconds, and the dashboard should be up before they start.
            self.call_after_refresh(self._prepare)

    def render(self) -> Text:
        if self.phase in ("starting", "recording"):
            return Text.assemble(
                ("● REC", "bold red"),
                f" {self.seconds:4.1f} s ",
                (meter(self.level), "green"),
                ("  ctrl+space to stop", "dim"),
            )
        if self.phase == "hearing":
            return Text("Hearing…")
        return Text(self.problem or self.said or HINT)

    def watch_phase(self, phase: Phase) -> None:
        self.set_class(phase in ("starting", "recording"), "-recording")

    async def toggle(self) -> None:
        """Start recording, or stop and hear what was said."""
        if self.voice is None or self.problem is not None:
            self.app.notify(self.problem or NO_VOICE, severity="warning", markup=False)
            return
        if self.phase == "idle":
            await self._start(self.voice)
        elif self.phase == "recording":
            await self._stop(self.voice)
        elif self.phase == "hearing":
            self.app.notify("Still hearing the last command.", markup=False)

    def _prepare(self) -> None:
        self.run_worker(self._get_ready(), name="prepare voice", group="talk-prepare")

    async def _get_ready(self) -> None:
        assert self.voice is not None
        try:
            await asyncio.to_thread(self.voice.prepare)
        except VoiceError as exc:
            self.problem = str(exc)

    async def _start(self, voice: VoiceInput) -> None:
        self.phase = "starting"
        self.seconds = self.level = 0.0
        try:
            await asyncio.to_thread(voice.source.start, until_silence=True)
        except NoMicrophoneError as exc:
            self.phase = "idle"
            self.problem = str(exc)
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        except VoiceError as exc:
            self.phase = "idle"
            self.said = str(exc)
            return
        self.phase = "recording"
        if self._meter is not None:
            self._meter.resume()

    async def _read_meter(self) -> None:
        if self.phase != "recording" or self.voice is None:
            return
        source = self.voice.source
        self.seconds, self.level = source.seconds, source.level
        if source.ended:
            await self._stop(self.voice)

    async def _stop(self, voice: VoiceInput) -> None:
        self.phase = "hearing"
        if self._meter is not None:
            self._meter.pause()
        try:
            recording = await asyncio.to_thread(voice.source.stop)
        except VoiceError as exc:
            self.phase = "idle"
            self.said = str(exc)
            return
        self.hearing = self._hear(voice, recording)

    @work(exclusive=True, group="talk")
    async def _hear(self, voice: VoiceInput, recording: Recording) -> None:
        try:
            transcript = await voice.hear(recording)
        except VoiceError as exc:
            self.said = str(exc)
            return
        except EngineError as exc:
            self.said = f"Cannot read the live names to hear with: {exc}"
            return
        finally:
            self.phase = "idle"
        self.said = f"Heard: “{transcript.text}” ({transcript.confidence:.2f})"
        self.post_message(Heard(transcript.text, transcript.confidence))
