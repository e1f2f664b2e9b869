"""Persistent actors: state rebuilt from a journal stream and its latest snapshot.

A persistent actor changes its state only by persisting events: `persist`
appends to the actor's stream (durably) and then applies the event with the
pure `apply`. On start and after every restart the state is rebuilt from the
latest snapshot and the events after it. Idle persistent actors can be
passivated (stopped, still addressable) and come back on their next message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.actors.actor import Actor

if TYPE_CHECKING:  # the actor system imports this module; actors alone do without a store
    from runtime.store.journal import Journal


class PersistentActor(Actor):
    """Subclass, give `initial_state` and `apply`, and change state only through `persist`.

    Attributes:
        passivate_after: seconds idle before the system may passivate it (None: never).
        snapshot_every: events between snapshots of its state.
    """

    passivate_after: float | None = None
    snapshot_every: int = 100
    state: Any = None
    version: int = 0
    _journal: Journal | None = None

    def initial_state(self) -> Any:
        """The state before any event (override)."""
        return {}

    def apply(self, state: Any, event_type: str, data: dict[str, Any]) -> Any:
        """The state after one event; pure (override)."""
        return state

    def snapshot(self, state: Any) -> dict[str, Any]:
        """The state as JSON-ready data (override when the state is not a dict)."""
        return dict(state)

    def restore(self, data: dict[str, Any]) -> Any:
        """The state a `snapshot` saved (override with `snapshot`)."""
        return data

    @property
    def persistence_id(self) -> str:
        """The journal stream of this actor: stable across restarts and processes."""
        return f"actor-{self.context.path}"

    async def recover(self, journal: Journal) -> None:
        """Rebuild the state from the latest snapshot and the events after it."""
        self._journal = journal
        stream = self.persistence_id
        saved = await journal.load_snapshot(stream)
        state, version = self.initial_state(), 0
        if saved is not None:
            version, data = saved
            state = self.restore(data)
        for event in await journal.read(stream, after=version):
            state = self.apply(state, event.type, event.data)
            version = event.version
        self.state, self.version = state, version

    async def persist(self, event_type: str, data: dict[str, Any]) -> None:
        """Append an event to the actor's stream, then apply it to the state.

        Raises:
            ConcurrencyError: another incarnation of this actor wrote first.
        """
        journal = self._journal
        if journal is None:
            raise RuntimeError(f"{self.context.path} has no journal: spawn it in a Runtime")
        from runtime.store.journal import NewEvent  # loaded with the journal, by then

        await journal.append(self.persistence_id, self.version, [NewEvent(event_type, data)])
        self.state = self.apply(self.state, event_type, data)
        old, self.version = self.version, self.version + 1
        if old // self.snapshot_every != self.version // self.snapshot_every:
            await journal.save_snapshot(
                self.persistence_id, self.version, self.snapshot(self.state)
            )
