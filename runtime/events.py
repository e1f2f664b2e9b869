"""What the runtime tells live views: one small record per thing that happened.

`EventBus.subscribe()` gives an async iterator of `RuntimeEvent`s published
after their change is committed. Each subscriber has a bounded queue; a
subscriber that falls behind loses its oldest events (counted in `dropped`)
rather than slowing the runtime down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """Something that happened in the runtime.

    Attributes:
        kind: the area: `saga`, `intake`, `dead_letter`, `actor`, `decision`, `incident`.
        type: the journal event type (`StepCompleted`, `Paused`, ...).
        subject: the saga id, actor path, or other id the event is about.
        at: epoch seconds.
        data: details (status, step, error, ...).
    """

    kind: str
    type: str
    subject: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """One subscriber's queue; iterate it with `async for`."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[RuntimeEvent | None] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, event: RuntimeEvent | None) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1

    def close(self) -> None:
        self._bus._subscribers.discard(self)
        self._put(None)

    def __aiter__(self) -> AsyncIterator[RuntimeEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RuntimeEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: RuntimeEvent) -> None:
        for subscription in self._subscribers:
            subscription._put(event)

    def close(self) -> None:
        for subscription in list(self._subscribers):
            subscription.close()
