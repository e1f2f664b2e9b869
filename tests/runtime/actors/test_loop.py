"""The actor's message loop: batches that keep priorities and yield to others, and
no message lost or handled twice across crashes, restarts and stops."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import (
    Actor,
    ActorFailedError,
    ActorNotFoundError,
    ActorRef,
    ActorStoppedError,
    ActorSystem,
    ActorType,
    ManualClock,
    Priority,
)
from runtime.actors.system import BATCH

CHECKER = ActorType.COMPLIANCE_CHECKER


class Recorder(Actor):
    """Records each message's `n`; `inject` tells itself a message of that priority,
    `crash` raises."""

    def __init__(self, seen: list[int], gate: asyncio.Event | None = None) -> None:
        self.seen = seen
        self.gate = gate

    async def on_receive(self, message: Any) -> Any:
        if message.get("hold") and self.gate is not None:
            await self.gate.wait()
            return None
        self.seen.append(message["n"])
        if "inject" in message:
            injected = {"n": message["n"] + 1000}
            self.context.ref.tell(injected, Priority(message["inject"]))
        if message.get("crash"):
            raise ValueError("boom")
        return message["n"]


def handled_in(sent: list[tuple[int, Priority, int | None]]) -> list[int]:
    """The order a mailbox of four FIFO priorities hands out `sent` (n, priority,
    injected priority), handling each injection as its message is handled."""
    queues: list[list[tuple[int, int | None]]] = [[], [], [], []]
    for n, priority, inject in sent:
        queues[priority].append((n, inject))
    order: list[int] = []
    while any(queues):
        n, inject = next(q for q in queues if q).pop(0)
        order.append(n)
        if inject is not None:
            queues[inject].append((n + 1000, None))
    return order


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Priority)),
            st.none() | st.sampled_from(list(Priority)),
            st.booleans(),
        ),
        min_size=1,
        max_size=3 * BATCH,
    )
)
async def test_a_batch_keeps_priorities_even_for_mail_arriving_mid_batch(
    messages: list[tuple[Priority, Priority | None, bool]],
) -> None:
    """Messages queue behind a held one, some asks, some telling the actor more mail
    while it works through the backlog: every message goes out most urgent first,
    FIFO within a priority, including those that arrive mid-batch."""
    system = ActorSystem(ManualClock())
    seen: list[int] = []
    gate = asyncio.Event()
    ref = await system.spawn(lambda: Recorder(seen, gate), "r", CHECKER)
    ref.tell({"hold": True})
    await asyncio.sleep(0)  # the actor takes the held message and waits on the gate
    asks, told, asked = [], [], []
    for n, (priority, inject, is_ask) in enumerate(messages):
        message: dict[str, Any] = {"n": n}
        if inject is not None:
            message["inject"] = int(inject)
        if is_ask:
            asks.append(asyncio.ensure_future(ref.ask(message, priority=priority)))
            asked.append((n, priority, inject))
        else:
            ref.tell(message, priority)
            told.append((n, priority, inject))
    await asyncio.sleep(0)  # the asks' tasks deliver, after every tell
    gate.set()
    await ref.ask({"n": -1}, priority=Priority.LOW)
    await asyncio.gather(*asks)
    # All that is left now is LOW mail that was injected after -1 was queued.
    await ref.ask({"n": -2}, priority=Priority.LOW)
    assert seen == [*handled_in([*told, *asked, (-1, Priority.LOW, None)]), -2]
    await system.shutdown()


async def test_a_busy_actor_lets_other_actors_and_callbacks_run_between_batches() -> None:
    system = ActorSystem(ManualClock())
    busy_seen: list[int] = []
    busy = await system.spawn(lambda: Recorder(busy_seen), "busy", CHECKER)
    other = await system.spawn(lambda: Recorder([]), "other", CHECKER)
    backlog = 4 * BATCH
    for n in range(backlog):
        busy.tell({"n": n})
    ran: list[int] = []
    asyncio.get_running_loop().call_soon(lambda: ran.append(len(busy_seen)))
    assert await other.ask({"n": 1}) == 1
    # Neither the callback nor the other actor waited for the whole backlog.
    assert ran
    assert ran[0] < backlog
    assert len(busy_seen) < backlog
    assert await busy.ask({"n": -1}) == -1
    assert busy_seen == [*range(backlog), -1]
    await system.shutdown()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["tell", "ask", "crash", "restart", "turn"]),
            st.sampled_from(list(Priority)),
        ),
        max_size=60,
    ),
    st.integers(min_value=0, max_value=60),
)
async def test_every_message_is_handled_or_dead_lettered_exactly_once(
    ops: list[tuple[str, Priority]], stop_at: int
) -> None:
    """Tells, asks and crashes in any order, restarts requested from outside, the
    loop running in between or not, then a stop: each message is handled once or
    dead-lettered once, never lost, and asks all get an answer or an error."""
    system = ActorSystem(ManualClock())
    seen: list[int] = []
    ref = await system.spawn(lambda: Recorder(seen), "r", CHECKER)
    asks: list[asyncio.Future[Any]] = []
    sent: list[int] = []
    for n, (op, priority) in enumerate(ops):
        if n == stop_at:
            await stop(system, ref)
        if op == "turn":
            await asyncio.sleep(0)
        elif op == "restart":
            with contextlib.suppress(ActorNotFoundError):  # stopped, or failed for good
                await system.restart(ref)
        elif op == "ask":
            sent.append(n)
            asks.append(asyncio.ensure_future(ref.ask({"n": n}, priority=priority)))
        else:
            sent.append(n)
            ref.tell({"n": n, "crash": op == "crash"}, priority)
    await stop(system, ref)
    outcomes = await asyncio.gather(*asks, return_exceptions=True)
    assert all(isinstance(o, int | ActorFailedError | ActorStoppedError) for o in outcomes)
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) + sum(system.dead_letter_counts.values()) == len(sent)


async def stop(system: ActorSystem, ref: ActorRef) -> None:
    """Stop the actor unless it is gone already (escalated past the guardian)."""
    with contextlib.suppress(ActorNotFoundError):
        await system.stop(ref)


async def test_shutdown_stops_every_actor_each_after_its_children() -> None:
    system = ActorSystem(ManualClock())
    stopped: list[str] = []

    class Noted(Actor):
        async def on_stop(self) -> None:
            stopped.append(self.context.path)

    for top in ("a", "b"):
        parent = await system.spawn(Noted, top, CHECKER)
        child = await system.spawn(Noted, "c", CHECKER, parent=parent)
        await system.spawn(Noted, "g", CHECKER, parent=child)
    await system.shutdown()
    assert sorted(stopped) == ["/a", "/a/c", "/a/c/g", "/b", "/b/c", "/b/c/g"]
    for path in stopped:
        above = path.rsplit("/", 1)[0]
        if above:
            assert stopped.index(path) < stopped.index(above)
    assert system.tree() == []
