"""The assistant with commands that were heard, not typed: a transcript's confidence
travels with the command, and a destructive one always waits for a spoken yes."""

from __future__ import annotations

from eva import Assistant
from eva.assistant import HEARING_FLOOR
from runtime import Runtime, SagaStatus
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held


async def test_a_doubtful_transcript_is_asked_again_and_changes_nothing(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    reply = await eva.handle(f"pause saga {saga_id}", transcript_confidence=HEARING_FLOOR - 0.01)
    assert (reply.intent, reply.ok) == ("repeat", False)
    assert reply.text == (
        f'I am not sure I heard that right ("pause saga {saga_id}"). Please say it again.'
    )
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.RUNNING
    assert await runtime.decisions.list() == []
    reply = await eva.handle(f"pause saga {saga_id}", transcript_confidence=HEARING_FLOOR)
    assert reply.ok
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PAUSED
    gate.set()


async def test_a_heard_destructive_command_is_read_back_even_with_whispers_exclamation_mark(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime, assume_yes=True)  # not even --yes skips a spoken read-back
    reply = await eva.handle(f"Abort saga {saga_id}!", transcript_confidence=0.8)
    assert reply.awaiting_confirmation
    assert reply.text.endswith("Confirm?")
    assert await runtime.decisions.list() == []
    # A mumbled answer keeps the question open; a clear yes carries it out.
    again = await eva.handle("yes", transcript_confidence=0.1)
    assert again.intent == "repeat"
    reply = await eva.handle("Yes.", transcript_confidence=0.9)
    assert reply.ok
    gate.set()
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.CANCELLED
    [decision] = await runtime.decisions.list()
    assert decision.confirmation == "spoken yes"
    assert decision.transcript == f"Abort saga {saga_id}!"
    assert decision.transcript_confidence == 0.8


async def test_a_typed_command_keeps_its_exclamation_mark_confirmation(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    reply = await eva.handle(f"abort saga {saga_id}!")
    assert not reply.awaiting_confirmation
    gate.set()
    [decision] = await runtime.decisions.list()
    assert (decision.confirmation, decision.transcript, decision.transcript_confidence) == (
        "typed !",
        None,
        None,
    )
