"""The actor system: spawning, delivery, the message loop, supervision, dead letters."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from runtime.actors.actor import Actor, ActorContext, ActorStatus, ActorType
from runtime.actors.mailbox import Envelope, Mailbox, Overflow, Priority, unwrap
from runtime.actors.persistent import PersistentActor
from runtime.actors.ref import ActorRef
from runtime.actors.supervision import (
    DEFAULT_SPEC,
    Backoff,
    Decision,
    Directive,
    SupervisorSpec,
    supervise,
)
from runtime.clock import Clock
from runtime.errors import (
    ActorFailedError,
    ActorNotFoundError,
    ActorStoppedError,
    AskTimeoutError,
    DuplicateActorError,
    InvalidMessageError,
    MailboxFullError,
)
from runtime.events import EventBus, RuntimeEvent

if TYPE_CHECKING:  # the store is for systems that have one: actors alone do without it
    from runtime.store.journal import Journal
    from runtime.store.writer import GroupCommitWriter, Write

log = logging.getLogger("eva.actors")

BATCH = 256
"""Messages an actor handles in a row before it lets the loop run others. A handler
that never suspends would otherwise hold the loop for its whole mailbox (200,000
messages: about 60 ms, every timer and actor waiting). 256 trivial messages take
about 70 µs here, so the others wait about that long (plus what the handlers
themselves take); the yield, about 3 µs, costs the busy actor some 4%. 64 cost it 15%,
1,024 under 1% but made others wait four times longer."""


def _is_model(message: Any) -> bool:
    """Whether `message` is a pydantic model, without importing pydantic: a program of
    actors alone need not load it, and if nothing loaded it, nothing is a model."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(message, pydantic.BaseModel)


def _is_message(message: Any) -> bool:
    """Whether `message` may be sent: a dict or a pydantic model."""
    return isinstance(message, dict) or _is_model(message)


@dataclass(frozen=True, slots=True)
class ActorInfo:
    """One actor in the tree, with its health."""

    path: str
    name: str
    actor_type: ActorType
    status: ActorStatus
    parent: str | None
    venture: str | None
    children: tuple[str, ...]
    messages_processed: int
    failures: int
    restarts: int
    mailbox_depth: int
    last_heartbeat: float | None
    responsive: bool


@dataclass(frozen=True, slots=True)
class RecentMessage:
    """One delivered message, as the live message monitor shows it."""

    at: float
    sender: str | None
    recipient: str
    message_type: str
    priority: Priority


class _Cell:
    """Everything the system keeps about one actor."""

    # Slots: with a dict, 31 attributes (past the 30 keys a shared-key dict holds) took
    # 1.3 KB more per actor.
    __slots__ = (
        "_id",
        "actor",
        "actor_type",
        "children",
        "created_at",
        "direct",
        "factory",
        "failures",
        "interrupted",
        "last_active",
        "last_heartbeat",
        "mailbox",
        "name",
        "parent",
        "passivated",
        "passivating",
        "path",
        "processed",
        "redeliver",
        "ref",
        "responsive",
        "restart_history",
        "restart_request",
        "restarts",
        "seen_processed",
        "spec",
        "status",
        "stopping",
        "task",
        "venture",
    )

    def __init__(
        self,
        system: ActorSystem,
        path: str,
        name: str,
        factory: Callable[[], Actor],
        actor_type: ActorType,
        parent: _Cell | None,
        venture: str | None,
        mailbox: Mailbox,
        spec: SupervisorSpec,
        redeliver: bool,
    ) -> None:
        self._id: str | None = None
        self.path = path
        self.name = name
        self.factory = factory
        self.actor_type = actor_type
        self.parent = parent
        self.venture = venture
        self.mailbox = mailbox
        self.spec = spec
        """How this actor supervises its children."""
        self.redeliver = redeliver
        self.children: dict[str, _Cell] = {}
        self.status = ActorStatus.RECOVERING
        self.actor: Actor = factory()
        self.ref = ActorRef(system, self)
        self.task: asyncio.Task[None] | None = None
        self.stopping = False
        self.interrupted = False
        """Something other than mail needs the loop's attention (stop, restart, passivate)."""
        self.restart_request: BaseException | None = None
        self.restart_history: tuple[float, ...] = ()
        self.processed = 0
        self.failures = 0
        self.restarts = 0
        self.last_heartbeat: float | None = None
        self.seen_processed = -1
        self.last_active: float | None = None
        self.passivating = False
        self.passivated = False
        self.responsive = True
        self.created_at = 0.0
        self.direct = False
        """`tell` may queue straight into the mailbox (see `reroute`)."""

    @property
    def id(self) -> str:
        """The registry's key: the same path is the same actor in every process. Made on
        first use, by a store's registry: a uuid5 was a quarter of a spawn."""
        if self._id is None:
            self._id = uuid.uuid5(uuid.NAMESPACE_URL, f"eva-actor:{self.path}").hex
        return self._id

    def reroute(self) -> None:
        """Decide again whether `tell` may skip `ActorSystem._deliver`: only for a running
        actor with an unbounded mailbox; the rest (stopped, passivated, full) is the slow
        path's. Called after every change to what this reads."""
        self.direct = (
            self.task is not None
            and not self.stopping
            and not self.passivated
            and self.status is not ActorStatus.FAILED
            and self.mailbox.capacity is None
        )

    def renew(self) -> None:
        """A fresh instance of the actor; its loop picks it up before the next message."""
        self.actor = self.factory()
        self.mailbox.fast = None


class ActorSystem:
    """A tree of actors under one guardian.

    Args:
        clock: time for asks, heartbeats and restart windows.
        writer: where dead letters and the actor registry are recorded
            (None keeps them in memory only).
        bus: where actor events are published for live views.
        guardian: how the guardian supervises top-level actors; escalation
            past it opens an incident.
        recent: how many recent messages the message monitor keeps.
        journal: where persistent actors keep their events.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        writer: GroupCommitWriter | None = None,
        bus: EventBus | None = None,
        guardian: SupervisorSpec = DEFAULT_SPEC,
        recent: int = 1000,
        journal: Journal | None = None,
    ) -> None:
        # The objects alive now (modules, definitions) live as long as the
        # process: taking them out of the collector's sweeps keeps the full
        # collections that message traffic triggers from walking them each time.
        gc.freeze()
        self._clock = clock
        self._now = clock.now  # bound once: every tell reads it
        self._journal = journal
        self._writer = writer
        self._bus = bus or EventBus()
        self._guardian = guardian
        self._top: dict[str, _Cell] = {}
        self._cells: dict[str, _Cell] = {}
        self._dirty: set[_Cell] = set()
        # The hot path appends a bare tuple (wall-clock time: the monitor shows
        # when a message really went); `recent_messages` dresses it up.
        self._recent: deque[tuple[float, str | None, str, Any, Priority]] = deque(maxlen=recent)
        self.delivered = 0
        """Messages delivered since the system started (the recent ones are the last)."""
        self.dead_letter_counts: Counter[str] = Counter()
        """Dead letters by reason."""
        self.incidents: list[dict[str, Any]] = []
        """Escalations that reached the guardian (SAGA-003 material)."""
        self.restart_backoff: dict[ActorType, Backoff] = {}
        """Actor types whose failed actors wait before each supervised restart."""

    # --- spawning ---------------------------------------------------------

    async def spawn(
        self,
        factory: Callable[[], Actor],
        name: str,
        actor_type: ActorType,
        *,
        parent: ActorRef | str | None = None,
        venture: str | None = None,
        mailbox_capacity: int | None = None,
        overflow: Overflow = Overflow.WAIT,
        supervision: SupervisorSpec = DEFAULT_SPEC,
        redeliver: bool = False,
    ) -> ActorRef:
        """Start an actor as a child of `parent` (or at the top) and wait for `on_start`.

        Args:
            factory: makes a fresh instance, now and on every restart.
            name: unique among its siblings; the path is the parent's plus `/name`.
            supervision: how this actor will supervise its own children.
            redeliver: after a restart, deliver again the message that crashed it.

        Raises:
            DuplicateActorError: a sibling has this name.
            ActorNotFoundError: no such parent.
        """
        parent_cell = self._cell(parent) if parent is not None else None
        siblings = parent_cell.children if parent_cell else self._top
        path = f"{parent_cell.path if parent_cell else ''}/{name}"
        if name in siblings or "/" in name or not name:
            raise DuplicateActorError(path)
        cell = _Cell(
            self,
            path,
            name,
            factory,
            ActorType(actor_type),
            parent_cell,
            venture,
            Mailbox(mailbox_capacity, overflow),
            supervision,
            redeliver,
        )
        cell.created_at = self._clock.now()
        siblings[name] = cell
        self._cells[path] = cell
        await self._start(cell)
        cell.task = asyncio.create_task(self._run(cell), name=f"actor{path}")
        cell.reroute()
        return cell.ref

    async def _start(self, cell: _Cell) -> None:
        """Recover a persistent actor's state, then run `on_start`; a failure in either
        goes to the supervisor like any other."""
        actor = cell.actor
        actor.context = ActorContext(cell.ref, cell.parent.ref if cell.parent else None, self)
        try:
            if isinstance(actor, PersistentActor):
                if self._journal is None:
                    raise RuntimeError("persistent actors need a journal: spawn them in a Runtime")
                await actor.recover(self._journal)
            await actor.on_start()
        except Exception as exc:
            cell.failures += 1
            await self._supervise(cell, exc, None, starting=True)
            return
        self._set_status(cell, ActorStatus.ACTIVE)

    def _cell(self, target: ActorRef | str) -> _Cell:
        path = target.path if isinstance(target, ActorRef) else target
        cell = self._cells.get(path)
        if cell is None:
            raise ActorNotFoundError(path)
        return cell

    def ref_or_dead_letter(self, path: str, message: Any) -> ActorRef:
        """The ref at `path`; if nobody lives there the message is dead-lettered first.

        Raises:
            ActorNotFoundError: no actor lives there.
        """
        cell = self._cells.get(path)
        if cell is None:
            self._dead_letter(path, message, "unknown recipient")
            raise ActorNotFoundError(path)
        return cell.ref

    def ref(self, path: str) -> ActorRef:
        """The ref of the actor at `path`.

        Raises:
            ActorNotFoundError: no actor lives there.
        """
        return self._cell(path).ref

    # --- delivery ---------------------------------------------------------

    def _deliver(
        self,
        cell: _Cell,
        message: Any,
        priority: Priority,
        reply: asyncio.Future[Any] | None,
        sender: str | None,
    ) -> None:
        """Everything `ActorRef.tell` does not do inline: asks, models, invalid messages,
        stopped, passivated and bounded recipients."""
        if type(message) is not dict and not _is_message(message):
            raise InvalidMessageError(message)
        if (
            cell.stopping
            or cell.status is ActorStatus.FAILED
            or (cell.task is None and not cell.passivated)
        ):
            self._dead_letter(cell.path, message, "recipient stopped")
            if reply is not None and not reply.done():
                reply.set_exception(ActorStoppedError(cell.path))
            return
        self._recent.append((self._now(), sender, cell.path, message, priority))
        self.delivered += 1
        item = message if reply is None else Envelope(message, reply)
        if cell.passivated:
            cell.passivated = False
            cell.mailbox.put(item, priority)
            cell.task = asyncio.create_task(self._reactivate(cell), name=f"actor{cell.path}")
            cell.reroute()
            return
        if cell.mailbox.put_nowait(item, priority):
            return
        if cell.mailbox.overflow is Overflow.REJECT:
            self._dead_letter(cell.path, message, "mailbox full")
            error = MailboxFullError(cell.path, cell.mailbox.capacity or 0)
            if reply is not None and not reply.done():
                reply.set_exception(error)
                return
            raise error
        # Wait for room without blocking the sender: FIFO among the waiters.
        task = asyncio.ensure_future(cell.mailbox.put_waiting(item, priority))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def broadcast(
        self, parent: ActorRef | str, message: Any, priority: Priority = Priority.NORMAL
    ) -> int:
        """Tell every child of `parent`; returns how many were told."""
        children = list(self._cell(parent).children.values())
        for child in children:
            self._deliver(child, message, priority, None, self._cell(parent).path)
        return len(children)

    async def _deliver_waiting(self, cell: _Cell, message: Any, priority: Priority) -> None:
        if not _is_message(message):
            raise InvalidMessageError(message)
        if cell.mailbox.full and cell.mailbox.overflow is Overflow.WAIT:
            await cell.mailbox.put_waiting(message, priority)
            return
        self._deliver(cell, message, priority, None, None)

    async def _ask(self, cell: _Cell, message: Any, timeout: float, priority: Priority) -> Any:
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._deliver(cell, message, priority, reply, None)
        try:
            return await self._clock.wait_for(reply, timeout)
        except TimeoutError:
            reply.cancel()
            name = type(message).__name__
            self._dead_letter(cell.path, message, "ask expired")
            raise AskTimeoutError(cell.path, name, timeout) from None

    # --- passivation ------------------------------------------------------

    async def passivate_idle(self) -> list[str]:
        """Stop the instances of persistent actors idle past their `passivate_after`;
        they stay addressable and come back on their next message. Returns their paths."""
        now = self._clock.now()
        idle: list[_Cell] = []
        for cell in self._cells.values():
            actor = cell.actor
            if (
                isinstance(actor, PersistentActor)
                and actor.passivate_after is not None
                and not cell.children
                and cell.task is not None
                and cell.mailbox.idle
                and not len(cell.mailbox)
                and now - (cell.last_active or cell.created_at) >= actor.passivate_after
            ):
                idle.append(cell)
        for cell in idle:
            cell.passivating = True
            self._interrupt(cell)
            if cell.task is not None:
                await asyncio.gather(cell.task, return_exceptions=True)
        return [c.path for c in idle]

    async def _reactivate(self, cell: _Cell) -> None:
        cell.renew()
        self._publish(cell, "ActorReactivated", {})
        await self._start(cell)
        await self._run(cell)

    # --- the message loop -------------------------------------------------

    async def _run(self, cell: _Cell) -> None:
        mailbox = cell.mailbox
        receive = cell.actor.on_receive
        budget = BATCH
        try:
            while True:
                budget -= 1
                if not budget:
                    budget = BATCH
                    await asyncio.sleep(0)  # let the others run (see BATCH)
                # One read per message while normal mail flows; anything else (an
                # urgent message, a stop, a restart, a new instance) clears it.
                fast = mailbox.fast
                if fast:
                    item = fast.popleft()
                else:
                    if cell.interrupted:
                        cell.interrupted = False
                        if cell.stopping or cell.passivating:
                            break
                        if cell.restart_request is not None:
                            error, cell.restart_request = cell.restart_request, None
                            await self._restart(cell, error)
                            continue
                    receive = cell.actor.on_receive
                    item = mailbox.take()
                    if item is None:
                        await mailbox.wait()
                        budget = BATCH
                        continue
                if type(item) is Envelope:
                    message, reply = item.message, item.reply
                else:
                    message, reply = item, None
                try:
                    result = await receive(message)
                except Exception as exc:
                    cell.failures += 1
                    if reply is not None and not reply.done():
                        name = type(message).__name__
                        reply.set_exception(ActorFailedError(cell.path, name, exc))
                    await self._supervise(cell, exc, item)
                    continue
                cell.processed += 1
                if reply is not None and not reply.done():
                    reply.set_result(result)
        finally:
            await self._finish(cell)

    # --- supervision ------------------------------------------------------

    async def _supervise(
        self,
        cell: _Cell,
        error: BaseException,
        item: Any,
        *,
        starting: bool = False,
    ) -> None:
        parent = cell.parent
        spec = parent.spec if parent else self._guardian
        siblings = list((parent.children if parent else self._top).keys())
        decision = supervise(
            spec, siblings, cell.name, error, cell.restart_history, self._clock.now()
        )
        cell.restart_history = decision.history
        self._publish(
            cell,
            "ActorFailed",
            {
                "error": repr(error),
                "directive": decision.directive.value,
                "reason": decision.reason,
            },
        )
        log.info("%s: %s", cell.path, decision.reason)
        if decision.directive is Directive.RESUME:
            if starting:
                self._set_status(cell, ActorStatus.ACTIVE)
            return
        if decision.directive is Directive.ESCALATE:
            await self._escalate(cell, error, decision)
            return
        family = parent.children if parent else self._top
        for name in decision.targets:
            target = family.get(name)
            if target is None:
                continue
            if decision.directive is Directive.STOP:
                self._halt(target)
            elif target is cell:
                if item is not None and cell.redeliver:
                    cell.mailbox.put_front(item)
                backoff = self.restart_backoff.get(cell.actor_type)
                if backoff is not None:
                    # The actor's own task waits, so its mail waits with it.
                    self._set_status(cell, ActorStatus.RECOVERING)
                    await self._clock.sleep(backoff.delay(len(decision.history)))
                await self._restart(cell, error)
            else:
                target.restart_request = error
                self._interrupt(target)

    async def _escalate(self, cell: _Cell, error: BaseException, decision: Decision) -> None:
        parent = cell.parent
        if parent is None:
            # Past the guardian: the actor is given up on, and people are told.
            self._set_status(cell, ActorStatus.FAILED)
            self._halt(cell)
            incident = {
                "trigger": "SAGA-003",
                "actor": cell.path,
                "actor_type": cell.actor_type.value,
                "reason": decision.reason,
                "error": repr(error),
                "at": self._clock.now(),
            }
            self.incidents.append(incident)
            self._record_incident(incident)
            self._publish(cell, "EscalatedToRoot", incident)
            return
        parent.failures += 1
        await self._supervise(parent, error, None)

    async def _restart(self, cell: _Cell, error: BaseException) -> None:
        """Replace the actor with a fresh instance; its children restart with it."""
        self._set_status(cell, ActorStatus.RECOVERING)
        try:
            await cell.actor.pre_restart(error)
        except Exception as exc:  # a broken hook must not stop the restart
            log.warning("%s: pre_restart raised %r", cell.path, exc)
        cell.restarts += 1
        cell.renew()
        for child in list(cell.children.values()):
            child.restart_request = error
            self._interrupt(child)
        self._publish(cell, "ActorRestarted", {"error": repr(error), "restarts": cell.restarts})
        await self._start(cell)

    # --- stopping ---------------------------------------------------------

    async def stop(self, target: ActorRef | str) -> None:
        """Stop an actor and its children; what is left in its mailbox is dead-lettered.

        Raises:
            ActorNotFoundError: no actor at that path.
        """
        cell = self._cell(target)
        self._halt(cell)
        if cell.task is not None and cell.task is not asyncio.current_task():
            await asyncio.gather(cell.task, return_exceptions=True)

    async def restart(self, target: ActorRef | str, reason: str = "restarted on request") -> None:
        """Restart an actor through its supervisor's machinery (fresh state)."""
        cell = self._cell(target)
        cell.restart_request = RuntimeError(reason)
        self._interrupt(cell)

    def _halt(self, cell: _Cell) -> None:
        """Stop the actor after the message it is on; mail sent from now on is dead-lettered."""
        cell.stopping = True
        cell.reroute()
        self._interrupt(cell)

    def _interrupt(self, cell: _Cell) -> None:
        """Make the actor's loop look at its controls (stop, restart, passivate) before
        its next message, waking it if it waits for mail."""
        cell.interrupted = True
        cell.mailbox.fast = None
        cell.mailbox.wake()

    async def _finish(self, cell: _Cell) -> None:
        if cell.passivating and not cell.stopping:
            try:
                await cell.actor.on_stop()
            except Exception as exc:
                log.warning("%s: on_stop raised %r", cell.path, exc)
            cell.passivating, cell.passivated, cell.task = False, True, None
            cell.reroute()
            self._set_status(cell, ActorStatus.INACTIVE)
            self._publish(cell, "ActorPassivated", {})
            return
        for child in list(cell.children.values()):
            await self.stop(child.ref)
        try:
            await cell.actor.on_stop()
        except Exception as exc:
            log.warning("%s: on_stop raised %r", cell.path, exc)
        for item in cell.mailbox.drain():
            message, reply = unwrap(item)
            self._dead_letter(cell.path, message, "left in mailbox at stop")
            if reply is not None and not reply.done():
                reply.set_exception(ActorStoppedError(cell.path))
        if cell.status is not ActorStatus.FAILED:
            self._set_status(cell, ActorStatus.INACTIVE)
        family = cell.parent.children if cell.parent else self._top
        if family.get(cell.name) is cell:
            del family[cell.name]
        self._cells.pop(cell.path, None)
        self._touch(cell)

    async def shutdown(self) -> None:
        """Stop every actor, children first: the top-level actors stop together, each
        stopping its own children before itself. (One after another, each stop cost
        three turns of the event loop of its own.)"""
        cells = list(self._top.values())
        for cell in cells:
            self._halt(cell)
        current = asyncio.current_task()
        tasks = [c.task for c in cells if c.task is not None and c.task is not current]
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- observing --------------------------------------------------------

    def recent_messages(self) -> list[RecentMessage]:
        """The last messages delivered, oldest first (the live message monitor)."""
        return [
            RecentMessage(at, sender, path, type(message).__name__, priority)
            for at, sender, path, message, priority in self._recent
        ]

    def tree(self) -> list[ActorInfo]:
        """Every live actor, parents before children, siblings in start order."""
        return [self._info(cell) for cell in self._walk(self._top.values())]

    def _walk(self, cells: Any) -> Iterator[_Cell]:
        for cell in cells:
            yield cell
            yield from self._walk(cell.children.values())

    def _info(self, cell: _Cell) -> ActorInfo:
        return ActorInfo(
            path=cell.path,
            name=cell.name,
            actor_type=cell.actor_type,
            status=cell.status,
            parent=cell.parent.path if cell.parent else None,
            venture=cell.venture,
            children=tuple(c.path for c in cell.children.values()),
            messages_processed=cell.processed,
            failures=cell.failures,
            restarts=cell.restarts,
            mailbox_depth=len(cell.mailbox),
            last_heartbeat=cell.last_heartbeat,
            responsive=cell.responsive,
        )

    def info(self, target: ActorRef | str) -> ActorInfo:
        return self._info(self._cell(target))

    def check_heartbeats(self) -> list[str]:
        """Beat for every actor that is idle or has made progress since the last check;
        return the paths of those that have not (busy on one message, mail waiting)."""
        now = self._clock.now()
        missed: list[str] = []
        for cell in self._cells.values():
            idle = cell.mailbox.idle
            if cell.processed != cell.seen_processed:
                cell.last_active = now
            if idle or cell.processed != cell.seen_processed or not len(cell.mailbox):
                cell.last_heartbeat = now
                if not cell.responsive:
                    cell.responsive = True
                    self._publish(cell, "ActorResponsive", {})
            else:
                missed.append(cell.path)
                if cell.responsive:
                    cell.responsive = False
                    self._publish(cell, "ActorUnresponsive", {"mailbox_depth": len(cell.mailbox)})
            cell.seen_processed = cell.processed
            self._touch(cell)
        return missed

    def _touch(self, cell: _Cell) -> None:
        # Only a system with a store keeps changed rows (it flushes them each round).
        if self._writer is not None:
            self._dirty.add(cell)

    def registry_writes(self) -> list[Write]:
        """The actor rows changed since the last call (the PRD's Actor table)."""
        now = self._clock.now()
        writes: list[Write] = []
        for cell in self._dirty:
            writes.append(
                (
                    "actors",
                    {
                        "actor_id": cell.id,
                        "path": cell.path,
                        "venture_id": cell.venture,
                        "actor_type": cell.actor_type.value,
                        "name": cell.name,
                        "status": cell.status.value,
                        "config": orjson.dumps(
                            {
                                "mailbox_capacity": cell.mailbox.capacity,
                                "overflow": cell.mailbox.overflow.value,
                                "strategy": cell.spec.strategy.value,
                            }
                        ).decode(),
                        "supervisor_id": cell.parent.id if cell.parent else None,
                        "messages_processed": cell.processed,
                        "failures_count": cell.failures,
                        "restarts_count": cell.restarts,
                        "mailbox_depth": len(cell.mailbox),
                        "last_heartbeat": cell.last_heartbeat,
                        "created_at": cell.created_at,
                        "updated_at": now,
                        "version": cell.processed + cell.restarts,
                    },
                )
            )
        self._dirty.clear()
        return writes

    async def flush_registry(self) -> int:
        """Write the changed actor rows in one unit; returns how many."""
        writes = self.registry_writes()
        if writes and self._writer is not None:
            await self._writer.submit(writes)
        return len(writes)

    # --- records ----------------------------------------------------------

    def _set_status(self, cell: _Cell, status: ActorStatus) -> None:
        if cell.status is not status:
            cell.status = status
            cell.reroute()
            self._touch(cell)
            self._publish(cell, "ActorStatusChanged", {"status": status.value})

    def _publish(self, cell: _Cell, type_: str, data: dict[str, Any]) -> None:
        if self._bus.active:
            self._bus.publish(
                RuntimeEvent(
                    "actor",
                    type_,
                    cell.path,
                    self._clock.now(),
                    {"actor_type": cell.actor_type.value, **data},
                )
            )

    def _dead_letter(self, path: str, message: Any, reason: str) -> None:
        self.dead_letter_counts[reason] += 1
        payload = message.model_dump(mode="json") if _is_model(message) else message
        now = self._clock.now()
        if self._writer is not None:
            self._writer.submit(
                [
                    (
                        "dead_letters",
                        {
                            "dead_letter_id": uuid.uuid4().hex,
                            "kind": "message",
                            "saga_id": None,
                            "step_name": None,
                            "actor_path": path,
                            "message_type": type(message).__name__,
                            "reason": reason,
                            "payload": orjson.dumps(payload, default=str).decode(),
                            "created_at": now,
                            "resolved_at": None,
                        },
                    )
                ]
            )
        if self._bus.active:
            self._bus.publish(
                RuntimeEvent(
                    "dead_letter",
                    "DeadLetter",
                    path,
                    now,
                    {"reason": reason, "message_type": type(message).__name__},
                )
            )

    def _record_incident(self, incident: dict[str, Any]) -> None:
        if self._writer is None:
            return
        self._writer.submit(
            [
                (
                    "incidents",
                    {
                        "incident_id": uuid.uuid4().hex,
                        "trigger": "SAGA-003",
                        "status": "open",
                        "summary": f"{incident['actor']} escalated past the root: "
                        f"{incident['reason']}",
                        "details": orjson.dumps(incident).decode(),
                        "attempts": 0,
                        "opened_at": incident["at"],
                        "closed_at": None,
                    },
                )
            ]
        )
