"""The actor system end to end: delivery, priorities, mailboxes, supervision, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from runtime import (
    Actor,
    ActorFailedError,
    ActorStatus,
    ActorStoppedError,
    ActorSystem,
    ActorType,
    AskTimeoutError,
    Directive,
    DuplicateActorError,
    InvalidMessageError,
    MailboxFullError,
    ManualClock,
    Overflow,
    Priority,
    RestartIntensity,
    Strategy,
    SupervisorSpec,
)

CHECKER = ActorType.COMPLIANCE_CHECKER


class Check(BaseModel):
    venture: str


class Counter(Actor):
    """Counts messages; `crash` raises, `get` answers the count, `hold` waits on a gate."""

    instances: ClassVar[list[Counter]] = []

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.count = 0
        self.seen: list[Any] = []
        self.gate = gate
        self.stopped = False
        self.target: int | None = None
        self.reached = asyncio.Event()
        Counter.instances.append(self)

    async def on_receive(self, message: Any) -> Any:
        self.seen.append(message)
        if message == {"op": "crash"}:
            raise ValueError("boom")
        if message == {"op": "hold"} and self.gate is not None:
            await self.gate.wait()
        if message == {"op": "get"}:
            return self.count
        self.count += 1
        if self.count == self.target:
            self.reached.set()
        return self.count

    async def on_stop(self) -> None:
        self.stopped = True


async def counted(counter: Counter, target: int) -> None:
    """Until the counter has counted `target` messages."""
    counter.target = target
    if counter.count < target:
        await counter.reached.wait()


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    Counter.instances = []
    actors = ActorSystem(ManualClock())
    yield actors
    await actors.shutdown()


async def test_tell_and_ask_reach_the_actor_at_its_path(system: ActorSystem) -> None:
    parent = await system.spawn(Counter, "ventures", ActorType.VENTURE_ORCHESTRATOR)
    acme = await system.spawn(Counter, "acme", ActorType.VENTURE_ORCHESTRATOR, parent=parent)
    checker = await system.spawn(Counter, "compliance-checker-2", CHECKER, parent=acme)
    assert checker.path == "/ventures/acme/compliance-checker-2"
    checker.tell(Check(venture="acme"))
    checker.tell({"op": "inc"})
    assert await checker.ask({"op": "get"}) == 2
    tree = system.tree()
    assert [a.path for a in tree] == [
        "/ventures",
        "/ventures/acme",
        "/ventures/acme/compliance-checker-2",
    ]
    assert tree[-1].messages_processed == 3
    assert tree[-1].status is ActorStatus.ACTIVE


async def test_urgent_messages_overtake_queued_normal_ones_fifo_within_a_priority(
    system: ActorSystem,
) -> None:
    gate = asyncio.Event()
    ref = await system.spawn(lambda: Counter(gate), "c", CHECKER)
    ref.tell({"op": "hold"})
    await asyncio.sleep(0)  # the actor takes the first message and waits on the gate
    for i in range(3):
        ref.tell({"n": i}, Priority.LOW)
        ref.tell({"n": 10 + i})
    ref.tell({"n": 99}, Priority.URGENT)
    ref.tell({"n": 50}, Priority.HIGH)
    gate.set()
    await ref.ask({"op": "get"}, priority=Priority.LOW)
    seen = [m["n"] for m in Counter.instances[0].seen if "n" in m]
    assert seen == [99, 50, 10, 11, 12, 0, 1, 2]


async def test_a_full_rejecting_mailbox_dead_letters_the_overflow(system: ActorSystem) -> None:
    gate = asyncio.Event()
    ref = await system.spawn(
        lambda: Counter(gate), "c", CHECKER, mailbox_capacity=2, overflow=Overflow.REJECT
    )
    ref.tell({"op": "hold"})
    await asyncio.sleep(0)
    ref.tell({"n": 1})
    ref.tell({"n": 2})
    with pytest.raises(MailboxFullError, match="mailbox of /c is full \\(2 messages\\)"):
        ref.tell({"n": 3})
    assert system.dead_letter_counts["mailbox full"] == 1
    gate.set()
    await counted(Counter.instances[0], 3)  # the hold and the two accepted messages
    assert system.info(ref).mailbox_depth == 0


async def test_a_full_waiting_mailbox_makes_send_wait_for_room(system: ActorSystem) -> None:
    gate = asyncio.Event()
    ref = await system.spawn(lambda: Counter(gate), "c", CHECKER, mailbox_capacity=1)
    ref.tell({"op": "hold"})
    await asyncio.sleep(0)
    ref.tell({"n": 1})
    sending = asyncio.ensure_future(ref.send({"n": 2}))
    await asyncio.sleep(0)
    assert not sending.done()
    gate.set()
    await sending
    await counted(Counter.instances[0], 3)
    assert system.dead_letter_counts == {}


async def test_an_unanswered_ask_times_out_naming_the_actor_and_message_type() -> None:
    clock = ManualClock()
    system = ActorSystem(clock)
    gate = asyncio.Event()
    ref = await system.spawn(lambda: Counter(gate), "slow", CHECKER)
    ref.tell({"op": "hold"})
    asking = asyncio.ensure_future(ref.ask(Check(venture="acme"), timeout=2))
    await clock.until_sleeping(include_timeouts=True)
    clock.advance(2)
    with pytest.raises(AskTimeoutError, match="/slow did not answer Check within 2s"):
        await asking
    assert system.dead_letter_counts["ask expired"] == 1
    gate.set()
    await system.shutdown()


async def test_a_restarted_actor_starts_fresh_and_the_crashing_message_is_not_redelivered(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(Counter, "c", CHECKER)
    ref.tell({"op": "inc"})
    with pytest.raises(ActorFailedError, match="/c failed on dict"):
        await ref.ask({"op": "crash"})
    assert await ref.ask({"op": "get"}) == 0
    assert len(Counter.instances) == 2
    assert {"op": "crash"} not in Counter.instances[1].seen
    assert system.info(ref).restarts == 1


async def test_with_redelivery_the_crashing_message_is_handled_again_after_restart(
    system: ActorSystem,
) -> None:
    class CrashesOnce(Counter):
        async def on_receive(self, message: Any) -> Any:
            if message == {"op": "flaky"} and len(Counter.instances) == 1:
                raise ValueError("first instance only")
            return await super().on_receive(message)

    ref = await system.spawn(CrashesOnce, "c", CHECKER, redeliver=True)
    ref.tell({"op": "flaky"})
    assert await ref.ask({"op": "get"}) == 1
    assert {"op": "flaky"} in Counter.instances[1].seen


async def test_resume_keeps_the_actors_state(system: ActorSystem) -> None:
    parent = await system.spawn(
        Counter, "p", CHECKER, supervision=SupervisorSpec(decider=lambda _: Directive.RESUME)
    )
    child = await system.spawn(Counter, "c", CHECKER, parent=parent)
    child.tell({"op": "inc"})
    child.tell({"op": "crash"})
    assert await child.ask({"op": "get"}) == 1
    assert system.info(child).restarts == 0
    assert system.info(child).failures == 1


@pytest.mark.parametrize(
    ("strategy", "restarted"),
    [
        (Strategy.ONE_FOR_ONE, {"b"}),
        (Strategy.ONE_FOR_ALL, {"a", "b", "c"}),
        (Strategy.REST_FOR_ONE, {"b", "c"}),
    ],
)
async def test_strategies_restart_the_failed_child_all_of_them_or_the_rest(
    system: ActorSystem, strategy: Strategy, restarted: set[str]
) -> None:
    parent = await system.spawn(
        Counter, "p", ActorType.VENTURE_ORCHESTRATOR, supervision=SupervisorSpec(strategy)
    )
    kids = {n: await system.spawn(Counter, n, CHECKER, parent=parent) for n in "abc"}
    assert [await ref.ask({"op": "inc"}) for ref in kids.values()] == [1, 1, 1]
    with pytest.raises(ActorFailedError):
        await kids["b"].ask({"op": "crash"})
    counts = {n: await ref.ask({"op": "get"}) for n, ref in kids.items()}
    assert {n for n, count in counts.items() if count == 0} == restarted
    assert {n for n in kids if system.info(kids[n]).restarts} == restarted


async def test_the_stop_directive_stops_the_child_and_dead_letters_its_mail(
    system: ActorSystem,
) -> None:
    parent = await system.spawn(
        Counter, "p", CHECKER, supervision=SupervisorSpec(decider=lambda _: Directive.STOP)
    )
    child = await system.spawn(Counter, "c", CHECKER, parent=parent)
    child.tell({"op": "crash"})
    child.tell({"n": 1})
    await system.stop(parent)
    assert Counter.instances[1].stopped
    assert (
        system.dead_letter_counts["left in mailbox at stop"] >= 1
        or system.dead_letter_counts["recipient stopped"] >= 1
    )


async def test_exceeding_restart_intensity_escalates_to_the_parent_which_restarts_its_children(
    system: ActorSystem,
) -> None:
    parent = await system.spawn(
        Counter,
        "p",
        ActorType.VENTURE_ORCHESTRATOR,
        supervision=SupervisorSpec(intensity=RestartIntensity(1, 60)),
    )
    child = await system.spawn(Counter, "c", CHECKER, parent=parent)
    parent.tell({"op": "inc"})
    assert await parent.ask({"op": "get"}) == 1
    child.tell({"op": "crash"})
    child.tell({"op": "crash"})  # second restart within the window: escalate
    assert await child.ask({"op": "get"}) == 0
    assert await parent.ask({"op": "get"}) == 0  # the parent was restarted
    assert system.info(parent).restarts == 1


async def test_escalation_past_the_root_opens_an_incident_and_fails_the_actor() -> None:
    system = ActorSystem(ManualClock(), guardian=SupervisorSpec(intensity=RestartIntensity(0, 60)))
    ref = await system.spawn(Counter, "flaky", ActorType.NOTIFICATION_DISPATCHER)
    with pytest.raises(ActorFailedError):
        await ref.ask({"op": "crash"})
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "actor/flaky"))
    [incident] = system.incidents
    assert incident["trigger"] == "SAGA-003"
    assert incident["actor_type"] == "notification_dispatcher"
    assert "exceeded its restart intensity" in incident["reason"]
    with pytest.raises(Exception, match="no actor at /flaky"):
        system.ref("/flaky")


async def test_messages_to_stopped_actors_are_dead_letters_and_asks_fail_clearly(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(Counter, "c", CHECKER)
    await system.stop(ref)
    ref.tell({"n": 1})
    with pytest.raises(ActorStoppedError, match="actor /c is stopped"):
        await ref.ask({"op": "get"})
    assert system.dead_letter_counts["recipient stopped"] == 2


async def test_bad_input_gets_specific_errors(system: ActorSystem) -> None:
    ref = await system.spawn(Counter, "c", CHECKER)
    with pytest.raises(DuplicateActorError, match="already lives at /c"):
        await system.spawn(Counter, "c", CHECKER)
    with pytest.raises(InvalidMessageError, match="not str"):
        ref.tell("hello")


async def test_an_actor_that_raises_in_on_start_is_supervised(system: ActorSystem) -> None:
    attempts: list[int] = []

    class Fragile(Counter):
        async def on_start(self) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("not ready")

    ref = await system.spawn(Fragile, "fragile", CHECKER)
    assert await ref.ask({"op": "get"}) == 0
    assert len(attempts) == 2
    assert system.info(ref).restarts == 1


async def test_broadcast_reaches_every_child(system: ActorSystem) -> None:
    parent = await system.spawn(Counter, "p", ActorType.VENTURE_ORCHESTRATOR)
    kids = [await system.spawn(Counter, n, CHECKER, parent=parent) for n in "abc"]
    assert system.broadcast(parent, {"op": "inc"}) == 3
    assert [await k.ask({"op": "get"}) for k in kids] == [1, 1, 1]


async def test_an_actor_stuck_on_a_message_with_mail_waiting_misses_its_heartbeat(
    system: ActorSystem,
) -> None:
    gate = asyncio.Event()
    busy = await system.spawn(lambda: Counter(gate), "busy", CHECKER)
    idle = await system.spawn(Counter, "idle", CHECKER)
    busy.tell({"op": "hold"})
    busy.tell({"n": 1})
    await asyncio.sleep(0)
    system.check_heartbeats()
    assert system.check_heartbeats() == ["/busy"]
    assert not system.info(busy).responsive
    assert system.info(idle).responsive
    gate.set()
    await busy.ask({"op": "get"})
    assert system.check_heartbeats() == []
    assert system.info(busy).responsive


async def test_the_message_monitor_keeps_a_bounded_ring_of_recent_messages() -> None:
    system = ActorSystem(ManualClock(), recent=5)
    ref = await system.spawn(Counter, "c", CHECKER)
    for i in range(8):
        ref.tell({"n": i}, sender="/test")
    recent = system.recent_messages()
    assert len(recent) == 5
    assert (recent[-1].sender, recent[-1].recipient, recent[-1].message_type) == (
        "/test",
        "/c",
        "dict",
    )
    await system.shutdown()


async def test_a_supervisor_whose_decider_raises_escalates_instead_of_hanging(
    system: ActorSystem,
) -> None:
    def broken(_: BaseException) -> Directive:
        raise KeyError("no rule for this")

    parent = await system.spawn(
        Counter, "p", ActorType.VENTURE_ORCHESTRATOR, supervision=SupervisorSpec(decider=broken)
    )
    child = await system.spawn(Counter, "c", CHECKER, parent=parent)
    with pytest.raises(ActorFailedError):
        await child.ask({"op": "crash"})
    # The escalation restarted the parent, and the child with it.
    assert await child.ask({"op": "get"}) == 0
    assert system.info(parent).restarts == 1
