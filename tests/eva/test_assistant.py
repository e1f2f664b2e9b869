"""The assistant: words in, runtime calls, decision records and replies out."""

from __future__ import annotations

import asyncio

from eva import Assistant
from runtime import Runtime, SagaStatus, StepCall, StepError
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held


async def test_a_pronoun_follows_the_conversation(runtime: Runtime, recorder: Recorder) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    reply = await eva.handle(f"what happened to saga {saga_id}")
    assert reply.intent == "describe_saga"
    assert reply.text.startswith(f"Saga {saga_id}, order for venture acme, is running")
    assert [row["step"] for row in reply.rows] == ["reserve", "check", "charge", "confirm"]
    reply = await eva.handle("pause it")
    assert reply.text == f"Saga {saga_id} is now paused."
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PAUSED
    gate.set()
    [decision] = await runtime.decisions.list()
    assert (decision.intent, decision.saga_id, decision.decision_type) == (
        "pause_saga",
        saga_id,
        "PAUSE",
    )
    assert decision.outcome == reply.text


async def test_a_destructive_command_reads_back_its_target_and_waits_for_yes(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    reply = await eva.handle(f"abort saga {saga_id} because the customer withdrew")
    assert reply.awaiting_confirmation
    assert reply.text == (
        f"Abort saga {saga_id}, order for venture acme: 1 completed step will be undone. Confirm?"
    )
    assert await runtime.decisions.list() == []
    reply = await eva.handle("yes")
    assert reply.ok
    gate.set()
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.CANCELLED
    report = await eva.handle("what happened to it")
    assert report.text.endswith("The last of 1 Chairman decision was ABORT: the customer withdrew.")
    [decision] = await runtime.decisions.list()
    assert decision.confirmation == "confirmed"
    assert decision.reasoning == "the customer withdrew"
    assert decision.decision_type == "ABORT"


async def test_no_drops_the_pending_command_and_changes_nothing(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    await eva.handle(f"force compensation on saga {saga_id}")
    reply = await eva.handle("no")
    assert reply.text == "Cancelled; nothing was changed."
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.RUNNING
    assert await runtime.decisions.list() == []
    gate.set()


async def test_an_exclamation_mark_confirms_at_once_and_bulk_commands_count_first(
    runtime: Runtime, recorder: Recorder
) -> None:
    gate = asyncio.Event()

    async def slow(call: StepCall) -> None:
        await gate.wait()

    recorder.behaviour["check"] = slow
    ids = [await runtime.start_saga("order", "acme") for _ in range(3)]
    eva = Assistant(runtime)
    reply = await eva.handle("pause all order sagas")
    assert reply.text == "Pause 3 sagas. Confirm?"
    reply = await eva.handle("yes")
    assert reply.text == "Done for 3 sagas."
    reply = await eva.handle(f"resume saga {ids[0]}!")
    assert reply.text == f"Saga {ids[0]} is now running."
    gate.set()


async def test_queries_answer_specifically(runtime: Runtime, recorder: Recorder) -> None:
    async def decline(call: StepCall) -> None:
        raise StepError("card declined", kind="rejected")

    ok = await runtime.start_saga("order", "acme")
    await runtime.wait_for([ok])
    recorder.behaviour["charge"] = decline
    bad = await runtime.start_saga("order", "globex")
    await runtime.wait_for([ok, bad])
    eva = Assistant(runtime)
    reply = await eva.handle("show saga failures in the last 24 hours")
    assert reply.text == "1 saga failure in the last day: 1 rolled back."
    assert [row["saga"] for row in reply.rows] == [bad]
    reply = await eva.handle("what's the transaction success rate")
    assert reply.text.startswith("Success rate 50.0%")


async def test_unknown_references_and_words_get_a_helpful_answer(runtime: Runtime) -> None:
    eva = Assistant(runtime)
    reply = await eva.handle("pause saga 999")
    assert not reply.ok
    assert reply.text == "I know no saga '999'; there are no sagas yet."
    for _ in range(3):
        await runtime.start_saga("order", "acme")
    reply = await eva.handle("pause saga 4")
    assert reply.text == "I know no saga '4'; the closest are 3, 2, 1."
    reply = await eva.handle("restart actor compliance-checker-9")
    assert reply.text == "I know no actor called 'compliance-checker-9'; there are no actors."
    reply = await eva.handle("pause it")
    assert reply.text == "Which saga? I have none in mind yet; say its number."
    reply = await eva.handle("order me a pizza")
    assert reply.intent == "unknown"
    assert reply.text.startswith("I didn't understand that. Try")


async def test_incidents_from_an_actor_escalating_past_the_root_are_listed(
    runtime: Runtime,
) -> None:
    from typing import Any

    from runtime import Actor, ActorType

    class Flaky(Actor):
        async def on_receive(self, message: Any) -> Any:
            raise RuntimeError("always")

    ref = await runtime.spawn(Flaky, "flaky", ActorType.NOTIFICATION_DISPATCHER)
    for _ in range(4):  # the guardian allows 3 restarts a minute
        ref.tell({"go": 1})
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "actor/flaky"))
    eva = Assistant(runtime)
    reply = await eva.handle("show restart storm incidents")
    assert reply.text == "1 SAGA-003 incident; 1 open."
    assert reply.rows[0]["summary"].startswith("/flaky escalated past the root")
    assert (await eva.handle("any compensation incidents this week")).text == (
        "No SAGA-002 incidents in the last week."
    )


async def test_pausing_new_sagas_of_one_type_reads_back_the_type_and_holds_only_it(
    runtime: Runtime, recorder: Recorder
) -> None:
    eva = Assistant(runtime)
    reply = await eva.handle("stop accepting new ord sagas because the card gateway is down")
    assert reply.awaiting_confirmation
    assert reply.text == "Stop accepting new order sagas; in-flight sagas will finish. Confirm?"
    reply = await eva.handle("yes")
    assert reply.text == "New order sagas wait as pending; other types go on."
    assert runtime.paused_saga_types == {"order": "the card gateway is down"}
    saga_id = await runtime.start_saga("order", "acme")
    await runtime.wait_settled()
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PENDING

    reply = await eva.handle("open intake")
    assert reply.text == (
        'Intake open again; 0 pending sagas started. New order sagas stay paused: say "resume '
        'new order sagas".'
    )
    reply = await eva.handle("resume new order sagas")
    assert reply.text == "New order sagas start again; 1 pending saga started."
    await runtime.wait_for([saga_id])
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.COMPLETED
    decisions = await runtime.decisions.list()  # newest first
    assert [(d.intent, d.slots.get("saga_type")) for d in decisions] == [
        ("resume_intake", "order"),
        ("resume_intake", None),
        ("pause_intake", "ord"),
    ]


async def test_an_unknown_saga_type_in_an_intake_command_is_asked_about_and_nothing_changes(
    runtime: Runtime,
) -> None:
    reply = await Assistant(runtime).handle("pause new refund sagas!")
    assert not reply.ok
    assert reply.text == "I know no saga type 'refund'; the types are order."
    assert runtime.paused_saga_types == {}
    assert not runtime.intake_paused
    assert await runtime.decisions.list() == []
