"""ActorRef: the handle through which everyone talks to an actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.actors.mailbox import NORMAL, Priority

if TYPE_CHECKING:
    from runtime.actors.system import ActorSystem, _Cell


class ActorRef:
    """Talks to the actor at `path`; stays valid across restarts."""

    __slots__ = ("_cell", "_system", "path")

    def __init__(self, system: ActorSystem, cell: _Cell) -> None:
        self._system = system
        self._cell = cell
        self.path = cell.path

    def __repr__(self) -> str:
        return f"ActorRef({self.path})"

    def tell(
        self, message: Any, priority: Priority = Priority.NORMAL, sender: str | None = None
    ) -> None:
        """Send without waiting for an answer.

        Args:
            message: a pydantic model or a dict.
            priority: urgent messages overtake queued normal ones.
            sender: the sending actor's path, for the message monitor.

        Raises:
            InvalidMessageError: the message is neither a model nor a dict.
            MailboxFullError: the actor's bounded mailbox is full and rejects.
        """
        cell = self._cell
        if cell.direct and type(message) is dict:
            # The hot path, inline: a dict to a running actor with an unbounded
            # mailbox. What it does is ActorSystem._deliver's, less the checks, and
            # for normal mail Mailbox.put's too (a call is a fifth of a tell).
            system = self._system
            system._recent.append((system._now(), sender, self.path, message, priority))
            system.delivered += 1
            mailbox = cell.mailbox
            queue = mailbox._queues[priority]
            if queue is None or priority is not NORMAL:
                mailbox.put(message, priority)
            else:
                queue.append(message)
                if mailbox._waiter is not None:
                    mailbox.wake()
        else:
            self._system._deliver(cell, message, priority, None, sender)

    async def send(self, message: Any, priority: Priority = Priority.NORMAL) -> None:
        """Like `tell`, but waits for room in a full bounded mailbox (backpressure)."""
        await self._system._deliver_waiting(self._cell, message, priority)

    async def ask(
        self, message: Any, timeout: float = 5.0, priority: Priority = Priority.NORMAL
    ) -> Any:
        """Send and wait for the answer.

        Raises:
            AskTimeoutError: no answer within `timeout` seconds (naming the
                actor and the message type); the ask is dead-lettered.
            ActorFailedError: the actor raised while handling it.
            ActorStoppedError: the actor is stopped.
        """
        return await self._system._ask(self._cell, message, timeout, priority)
