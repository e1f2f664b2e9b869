"""A spoken conversation end to end: EVA's own speech heard by the real model, acted on
by the assistant against a real runtime, and the reply spoken."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from eva import Assistant
from eva.voice import Listener, Speaker, Speech
from eva.voice.session import VoiceSession
from runtime import Runtime, SagaStatus
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held


class _Heard:
    """An output that keeps what was spoken, as a sound card would play it."""

    def __init__(self) -> None:
        self.spoken: list[Speech] = []

    def play(self, speech: Speech, interrupted: threading.Event) -> bool:
        self.spoken.append(speech)
        return True


@pytest.fixture(scope="module")
def listener() -> Listener:
    return Listener()


def _said(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.wav"
    with Speaker() as speaker:
        speaker.save(text, path, rate=150)
    return path


async def test_a_spoken_pause_is_carried_out_with_its_transcript_on_record(
    runtime: Runtime, recorder: Recorder, listener: Listener, tmp_path: Path
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    output, texts = _Heard(), []
    with Speaker(output=output, on_event=lambda t, e: texts.append((t, e))) as speaker:
        session = VoiceSession(Assistant(runtime), listener=listener, speaker=speaker)
        exchange = await session.hear(_said(tmp_path, f"pause saga {saga_id}"))
        assert speaker.wait_idle(10)
    assert exchange.transcript is not None
    assert exchange.reply.text == f"Saga {saga_id} is now paused."
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PAUSED
    assert texts[-1] == (exchange.reply.text, "finished")
    assert output.spoken[-1].seconds > 0.5
    [decision] = await runtime.decisions.list()
    assert decision.transcript == exchange.transcript.text
    assert decision.transcript_confidence == exchange.transcript.confidence
    gate.set()


async def test_a_spoken_cancel_is_read_back_and_waits_for_a_spoken_yes(
    runtime: Runtime, recorder: Recorder, listener: Listener, tmp_path: Path
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    session = VoiceSession(Assistant(runtime), listener=listener)
    asked = await session.hear(
        _said(tmp_path, f"cancel saga {saga_id} because the customer withdrew")
    )
    assert asked.reply.awaiting_confirmation, asked
    assert asked.reply.text.startswith(f"Abort saga {saga_id}")
    assert await runtime.decisions.list() == []
    done = await session.hear(_said(tmp_path, "yes"))
    assert done.reply.ok, done
    gate.set()
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.CANCELLED
    [decision] = await runtime.decisions.list()
    assert decision.confirmation == "spoken yes"
    assert decision.reasoning.lower().startswith("the customer")


async def test_silence_is_answered_and_the_event_loop_never_waits_for_the_model(
    runtime: Runtime, listener: Listener, tmp_path: Path
) -> None:
    session = VoiceSession(Assistant(runtime), listener=listener)
    quiet = await session.hear(np.zeros(16_000, dtype=np.float32))
    assert quiet.transcript is None
    assert (quiet.reply.intent, quiet.reply.text) == (
        "unheard",
        "I heard nothing: no speech in that recording.",
    )
    ticks = 0
    hearing = asyncio.ensure_future(session.hear(_said(tmp_path, "show failed actors")))
    while not hearing.done():
        ticks += 1
        await asyncio.sleep(0)  # a turn of the loop, as the dashboard's redraws take
    assert (await hearing).reply.intent == "list_actors"
    assert ticks > 100
