"""Push-to-talk (to be built): a key starts and stops recording; the transcript is
shown, then acted on."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.widgets import Static

from eva import Assistant


class Heard(Message):
    """A command was heard: the dashboard runs it as heard text."""

    def __init__(self, text: str, confidence: float) -> None:
        super().__init__()
        self.text = text
        self.confidence = confidence


class TalkBar(Static):
    """The recording indicator and level meter; `toggle` starts or stops recording."""

    def __init__(self, assistant: Assistant, voice: Any = None) -> None:
        super().__init__("", id="talk")
        self.assistant = assistant
        self.voice = voice

    async def toggle(self) -> None:
        self.app.notify("Push-to-talk is not built yet.")
