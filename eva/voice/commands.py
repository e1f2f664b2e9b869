"""`eva listen`: commands heard in audio files or from the microphone, printed as by `eva parse`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eva.voice.audio import Samples
from eva.voice.errors import VoiceError
from eva.voice.hints import Hints
from eva.voice.listener import Listener, Transcript


def static_hints() -> Hints:
    """What can be known without the database: the names the demo installs (the
    dashboard hints with the live ones)."""
    from runtime import demo_definitions, demo_names

    ventures, actors = demo_names()
    return Hints(
        saga_types=tuple(d.name for d in demo_definitions()), actors=actors, ventures=ventures
    )


def heard_json(transcript: Transcript) -> dict[str, object]:
    """The `eva parse --json` object with what was heard added (INTENTS.md)."""
    return {
        **transcript.parsed.as_json(),
        "transcript": transcript.text,
        "transcript_confidence": transcript.confidence,
    }


def record_command() -> Samples:
    """One command from the microphone, with a prompt on standard error.

    Raises:
        NoMicrophoneError: no PortAudio, or no input device.
    """
    from eva.voice.microphone import Microphone

    print("Listening: say one command.", file=sys.stderr, flush=True)
    return Microphone().record().samples


def listen(files: list[str], *, mic: bool, as_json: bool, model: str | None = None) -> int:
    """Print what each file (or one command from the microphone) says; 1 if any could not
    be heard, with the specific reason."""
    listener = Listener(model)
    hints = static_hints()
    failed = False
    for name in [None] if mic else files:
        try:
            source = record_command() if name is None else Path(name)
            transcript = listener.transcribe(source, hints)
        except VoiceError as exc:
            failed = True
            if as_json:
                print(json.dumps({"error": str(exc)}), flush=True)
            else:
                print(f"eva listen: {exc}", file=sys.stderr, flush=True)
            continue
        if as_json:
            print(json.dumps(heard_json(transcript)), flush=True)
        else:
            command = transcript.parsed.command
            slots = ", ".join(f"{k}={v!r}" for k, v in command.slots().items())
            print(f"heard {transcript.text!r}  (confidence {transcript.confidence:.2f})")
            print(f"  {command.intent}({slots})", flush=True)
    return 1 if failed else 0
