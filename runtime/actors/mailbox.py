"""Mailboxes: four priorities, FIFO within each, optionally bounded.

Urgent messages overtake queued normal ones. A bounded mailbox either makes
senders wait for room or rejects the overflow (to the dead letters).

A told message is queued as it is; only an ask travels in an `Envelope`
with its reply. Messages are models or dicts, never envelopes, so the
actor's loop tells them apart by type, and a tell allocates nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from enum import IntEnum, StrEnum
from typing import Any


class Priority(IntEnum):
    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


URGENT, HIGH, NORMAL = Priority.URGENT, Priority.HIGH, Priority.NORMAL


class Overflow(StrEnum):
    WAIT = "wait"
    """`tell` waits until the actor has made room."""
    REJECT = "reject"
    """The message goes to the dead letters at once."""


class Envelope:
    """An ask in a mailbox: the message and the future its answer goes to."""

    __slots__ = ("message", "reply")

    def __init__(self, message: Any, reply: asyncio.Future[Any]) -> None:
        self.message = message
        self.reply = reply


def unwrap(item: Any) -> tuple[Any, asyncio.Future[Any] | None]:
    """The message in a mailbox item, and the reply it expects (None for a tell)."""
    if type(item) is Envelope:
        return item.message, item.reply
    return item, None


class Mailbox:
    """The queue of one actor.

    Items are told messages or `Envelope`s (asks).

    Args:
        capacity: most messages held; None for unbounded.
        overflow: what a full mailbox does to a new message.

    Attributes:
        fast: the normal queue while the actor's loop may pop it directly:
            the mailbox is unbounded (no sender waits for room) and nothing
            urgent or high is queued; otherwise None, and the loop calls
            `take`. The system also clears it to make the loop look at its
            controls (stop, restart) before the next message.
    """

    __slots__ = ("_queues", "_room", "_waiter", "capacity", "fast", "overflow")

    def __init__(self, capacity: int | None = None, overflow: Overflow = Overflow.WAIT) -> None:
        # Queues are made on first use: most actors only ever see one priority,
        # and ten thousand actors with five empty deques each weigh 37 MB.
        self._queues: list[deque[Any] | None] = [None, None, None, None]
        self._waiter: asyncio.Future[None] | None = None
        self._room: deque[asyncio.Future[None]] | None = None
        self.capacity = capacity
        self.overflow = overflow
        self.fast: deque[Any] | None = None

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues if queue)

    @property
    def full(self) -> bool:
        return self.capacity is not None and len(self) >= self.capacity

    @property
    def idle(self) -> bool:
        """The actor's loop waits for mail."""
        return self._waiter is not None

    def put(self, item: Any, priority: Priority) -> None:
        """Queue the item, full or not (the caller checked the capacity).

        `ActorRef.tell` does this inline for normal mail: it appends to the
        normal queue and wakes the loop."""
        queue = self._queues[priority]
        if queue is None:
            queue = self._queues[priority] = deque()
        queue.append(item)
        if priority < NORMAL:
            self.fast = None
        waiter = self._waiter  # `wake`, inlined: this runs once per message
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def put_nowait(self, item: Any, priority: Priority) -> bool:
        """Queue the item; False (and nothing queued) if the mailbox is full."""
        if self.capacity is not None and len(self) >= self.capacity:
            return False
        self.put(item, priority)
        return True

    def put_front(self, item: Any) -> None:
        """Queue the item ahead of everything (redelivery after a restart), even if full."""
        queue = self._queues[URGENT]
        if queue is None:
            queue = self._queues[URGENT] = deque()
        queue.appendleft(item)
        self.fast = None

    async def put_waiting(self, item: Any, priority: Priority) -> None:
        """Queue the item, waiting for room in a full bounded mailbox."""
        while not self.put_nowait(item, priority):
            room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._room is None:
                self._room = deque()
            self._room.append(room)
            await room

    def take(self) -> Any | None:
        """The next item, most urgent first; None when empty."""
        for queue in self._queues:
            if queue:
                item = queue.popleft()
                break
        else:
            return None
        if self._room:
            self._make_room()
        self._rearm()
        return item

    def _rearm(self) -> None:
        """Let the loop pop the normal queue directly again, if nothing should overtake it.

        Only `take` calls it, that is the loop after it has looked at its controls:
        anything else that cleared `fast` stays seen."""
        queues = self._queues
        if self.capacity is None and not queues[URGENT] and not queues[HIGH]:
            self.fast = queues[NORMAL]
        else:
            self.fast = None

    def _make_room(self) -> None:
        while self._room:
            room = self._room.popleft()
            if not room.done():
                room.set_result(None)
                return

    def wake(self) -> None:
        """Wake the actor's loop if it waits for mail."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Until a message arrives or `wake` is called (at once if a message is queued)."""
        if any(self._queues):
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        await waiter

    def drain(self) -> list[Any]:
        """Take every queued item (the actor is stopping)."""
        taken = [item for queue in self._queues if queue for item in queue]
        for queue in self._queues:
            if queue is not None:
                queue.clear()
        while self._room:
            self._make_room()
        return taken
