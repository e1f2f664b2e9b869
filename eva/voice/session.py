"""A spoken conversation: audio in, the assistant acts, the reply is spoken.

The dashboard and `eva listen --act` use it. Recognition runs on a worker
thread so the event loop (and the UI on it) never waits for the model, and
each command is heard with the live names of the runtime it will act on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from eva.assistant import Assistant
from eva.replies import Reply
from eva.voice.audio import Samples
from eva.voice.errors import VoiceError
from eva.voice.hints import Hints
from eva.voice.listener import Listener, Transcript
from eva.voice.speech import Speaker

_RECENT = 20
"""Saga ids offered to Whisper: the newest, which the Chairman is looking at."""


@dataclass(frozen=True)
class Exchange:
    """One spoken command and its answer (`transcript` is None when nothing was heard)."""

    transcript: Transcript | None
    reply: Reply


class VoiceSession:
    """Hears commands for one assistant and speaks its replies.

    Args:
        assistant: acts on what is heard (its runtime gives the live names).
        listener: the speech recogniser (default: the bundled tiny.en).
        speaker: speaks the replies (default: none, replies are only returned).
    """

    def __init__(
        self,
        assistant: Assistant,
        *,
        listener: Listener | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.assistant = assistant
        self.listener = listener or Listener()
        self.speaker = speaker

    async def load(self) -> None:
        """Load the model off the event loop, before the first command needs it."""
        await asyncio.to_thread(self.listener.load)

    async def hints(self) -> Hints:
        """The names worth hearing now: saga types, actors, ventures, recent sagas."""
        runtime = self.assistant.runtime
        actors = runtime.actors.tree()
        recent = await runtime.query_sagas(limit=_RECENT)
        return Hints(
            saga_types=tuple(runtime.saga_types),
            saga_ids=tuple(s.saga_id for s in recent),
            actors=tuple(sorted({a.name for a in actors if any(c.isdigit() for c in a.name)})),
            ventures=tuple(sorted({a.venture for a in actors if a.venture})),
        )

    async def transcribe(self, source: Path | Samples) -> Transcript:
        """Hear one command with the live names, without acting on it (the dashboard
        shows what it heard first). The model runs on a worker thread.

        Raises:
            VoiceError: nothing heard, bad audio, or no model.
            EngineError: the live names cannot be read.
        """
        hints = await self.hints()
        return await asyncio.to_thread(self.listener.transcribe, source, hints)

    async def hear(self, source: Path | Samples) -> Exchange:
        """Hear one command, act on it and speak the answer; never raises."""
        try:
            transcript = await self.transcribe(source)
        except VoiceError as exc:
            reply = Reply(str(exc), "unheard", ok=False)
            self._say(reply)
            return Exchange(None, reply)
        reply = await self.assistant.handle(
            transcript.text, transcript_confidence=transcript.confidence
        )
        self._say(reply)
        return Exchange(transcript, reply)

    def _say(self, reply: Reply) -> None:
        if self.speaker is not None:
            self.speaker.say(reply.text)
