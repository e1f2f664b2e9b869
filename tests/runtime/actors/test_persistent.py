"""Persistent actors, the actor registry and dead letters, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtime import (
    ActorNotFoundError,
    ActorStatus,
    ActorType,
    ManualClock,
    PersistentActor,
    Runtime,
)
from runtime.store.engine import sqlite_url
from tests.conftest import Recorder, order_definition
from tests.runtime.test_sagas import hold

BACKUP = ActorType.BACKUP_MANAGER


class Ledger(PersistentActor):
    """Keeps a running total; `crash` raises after the total was persisted."""

    snapshot_every = 3
    passivate_after = 10.0

    def initial_state(self) -> dict[str, Any]:
        return {"total": 0, "entries": 0}

    def apply(self, state: Any, event_type: str, data: dict[str, Any]) -> Any:
        return {"total": state["total"] + data["amount"], "entries": state["entries"] + 1}

    async def on_receive(self, message: Any) -> Any:
        if "amount" in message:
            await self.persist("Added", {"amount": message["amount"]})
        if message.get("crash"):
            raise RuntimeError("crash after persisting")
        return self.state


async def test_state_survives_a_restart_and_a_new_process(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "p.db")
    async with Runtime(url) as rt:
        ref = await rt.spawn(Ledger, "ledger", BACKUP)
        await ref.ask({"amount": 5})
        with pytest.raises(Exception, match="crash after persisting"):
            await ref.ask({"amount": 7, "crash": True})
        assert rt.actors.info(ref).restarts == 1
        assert await ref.ask({}) == {"total": 12, "entries": 2}
    async with Runtime(url) as rt:
        ref = await rt.spawn(Ledger, "ledger", BACKUP)
        assert await ref.ask({"amount": 1}) == {"total": 13, "entries": 3}
        assert await rt.journal.verify("actor-/ledger") == 3


async def test_recovery_starts_from_the_latest_snapshot(tmp_path: Path) -> None:
    async with Runtime(sqlite_url(tmp_path / "p.db")) as rt:
        ref = await rt.spawn(Ledger, "ledger", BACKUP)
        for amount in range(1, 8):
            await ref.ask({"amount": amount})
        saved = await rt.journal.load_snapshot("actor-/ledger")
        assert saved == (6, {"total": 21, "entries": 6})
        await rt.restart_actor("/ledger")
        assert await ref.ask({}) == {"total": 28, "entries": 7}


async def test_idle_persistent_actors_passivate_and_come_back_on_the_next_message(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with Runtime(sqlite_url(tmp_path / "p.db"), clock=clock) as rt:
        ref = await rt.spawn(Ledger, "ledger", BACKUP)
        await ref.ask({"amount": 4})
        rt.actors.check_heartbeats()
        clock.advance(5)
        assert await rt.actors.passivate_idle() == []
        clock.advance(6)
        assert await rt.actors.passivate_idle() == ["/ledger"]
        assert rt.actors.info(ref).status is ActorStatus.INACTIVE
        assert await ref.ask({"amount": 1}) == {"total": 5, "entries": 2}
        assert rt.actors.info(ref).status is ActorStatus.ACTIVE


async def test_the_registry_and_dead_letters_are_in_the_store_for_other_processes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.db"
    async with Runtime(sqlite_url(path)) as rt:
        parent = await rt.spawn(Ledger, "ventures", ActorType.VENTURE_ORCHESTRATOR)
        await rt.spawn(Ledger, "checker-1", ActorType.COMPLIANCE_CHECKER, parent=parent)
        assert await rt.actors.flush_registry() == 2
        with sqlite3.connect(path) as conn:
            rows = conn.execute("select path, actor_type, status from actors order by path")
            assert rows.fetchall() == [
                ("/ventures", "venture_orchestrator", "active"),
                ("/ventures/checker-1", "compliance_checker", "active"),
            ]
        await rt.stop_actor("/ventures/checker-1")
        ref = parent  # still alive; its child is gone
        await ref.ask({})
        rt.actors.ref("/ventures")
        stopped = await rt.spawn(Ledger, "gone", BACKUP)
        await rt.stop_actor("/gone")
        stopped.tell({"amount": 1})
        with pytest.raises(ActorNotFoundError, match="no actor at /nobody"):
            rt.tell("/nobody", {"hello": 1})
        letters = await rt.dead_letters(kind="message")
        assert sorted((d.actor_path, d.reason, d.message_type) for d in letters) == [
            ("/gone", "recipient stopped", "dict"),
            ("/nobody", "unknown recipient", "dict"),
        ]
        assert rt.actors.dead_letter_counts == {"recipient stopped": 1, "unknown recipient": 1}
    with sqlite3.connect(path) as conn:
        statuses = dict(conn.execute("select path, status from actors").fetchall())
    assert statuses["/ventures/checker-1"] == "inactive"


async def test_each_running_saga_has_a_coordinator_actor_under_sagas(
    tmp_path: Path, recorder: Recorder
) -> None:
    shop = recorder.participant("shop", ["reserve", "check", "charge", "confirm"])
    entered, gate = hold(recorder, "check")
    async with Runtime(
        sqlite_url(tmp_path / "p.db"),
        definitions=[order_definition()],
        participants=[shop],
        saga_coordinators=True,
    ) as rt:
        saga_id = await rt.start_saga("order", "acme")
        await entered.wait()
        assert rt.coordinators is not None
        await rt.coordinators.settle()
        coordinator = f"/sagas/saga-{saga_id}"
        assert coordinator in {a.path for a in rt.actor_tree()}
        answer = await rt.ask(coordinator, {"status": True})
        assert answer["status"] == "running"
        gate.set()
        await rt.wait_for([saga_id])
        assert rt.coordinators is not None
        await rt.coordinators.settle()
        assert coordinator not in {a.path for a in rt.actor_tree()}
