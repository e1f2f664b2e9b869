"""The demo's supervision tree: the PRD's actor types for a few ventures, with crashes.

    /ventures                          venture orchestrator (one-for-one)
    /ventures/acme                     venture orchestrator (rest-for-one)
    /ventures/acme/validation-processor-1
    /ventures/acme/compliance-checker-1, -2
    /ventures/acme/notification-dispatcher-1
    /ventures/acme/metrics-collector-1
    /ventures/acme/backup-manager-1    persistent: its backups are journaled
    /sagas                             saga coordinator

The demo services do their work through these actors (a compliance check
asks the venture's compliance checker), so an injected crash is felt by the
sagas: the step fails, is retried, and the supervisor restarts the actor.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from runtime.actors.actor import Actor, ActorType
from runtime.actors.persistent import PersistentActor
from runtime.actors.supervision import RestartIntensity, Strategy, SupervisorSpec
from runtime.errors import ActorError, StepError
from runtime.sagas.participants import StepCall

if TYPE_CHECKING:
    from runtime.facade import Runtime

WORKERS = (
    ("validation-processor-1", ActorType.VALIDATION_PROCESSOR),
    ("compliance-checker-1", ActorType.COMPLIANCE_CHECKER),
    ("compliance-checker-2", ActorType.COMPLIANCE_CHECKER),
    ("notification-dispatcher-1", ActorType.NOTIFICATION_DISPATCHER),
    ("metrics-collector-1", ActorType.METRICS_COLLECTOR),
)
DESKS = {
    "inventory": "validation-processor-1",
    "order": "validation-processor-1",
    "payment": "validation-processor-1",
    "compliance": "compliance-checker-1",
    "notification": "notification-dispatcher-1",
    "provisioning": "backup-manager-1",
}
"""Which of its venture's actors does each service's work."""


class Crashes:
    """A shared, seeded source of injected crashes."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._rng = random.Random(f"crashes/{seed}")

    def maybe(self, path: str) -> None:
        if self.rate and self._rng.random() < self.rate:
            raise RuntimeError(f"{path}: injected crash")


class Worker(Actor):
    """Does a unit of work per message; crashes now and then when told to."""

    def __init__(self, crashes: Crashes) -> None:
        self.crashes = crashes
        self.handled = 0

    async def on_receive(self, message: Any) -> Any:
        self.crashes.maybe(self.context.path)
        self.handled += 1
        return {"handled": self.handled}


class BackupManager(PersistentActor):
    """Keeps a journaled count of the backups it took, by venture service."""

    snapshot_every = 50

    def __init__(self, crashes: Crashes) -> None:
        self.crashes = crashes

    def initial_state(self) -> dict[str, Any]:
        return {"backups": 0}

    def apply(self, state: Any, event_type: str, data: dict[str, Any]) -> Any:
        return {"backups": state["backups"] + 1}

    async def on_receive(self, message: Any) -> Any:
        self.crashes.maybe(self.context.path)
        await self.persist("BackupTaken", {"ref": message.get("ref", "")})
        return self.state


async def build_actor_tree(runtime: Runtime, ventures: tuple[str, ...], crashes: Crashes) -> None:
    """Spawn the demo tree (skipping actors that already exist)."""
    system = runtime.actors
    existing = {info.path for info in system.tree()}
    if "/ventures" not in existing:
        await system.spawn(
            lambda: Worker(crashes),
            "ventures",
            ActorType.VENTURE_ORCHESTRATOR,
            supervision=SupervisorSpec(Strategy.ONE_FOR_ONE, intensity=RestartIntensity(20, 60)),
        )
    if "/sagas" not in existing:
        await system.spawn(lambda: Worker(Crashes(0, 0)), "sagas", ActorType.SAGA_COORDINATOR)
    for venture in ventures:
        path = f"/ventures/{venture}"
        if path in existing:
            continue
        await system.spawn(
            lambda: Worker(crashes),
            venture,
            ActorType.VENTURE_ORCHESTRATOR,
            parent="/ventures",
            venture=venture,
            supervision=SupervisorSpec(Strategy.REST_FOR_ONE, intensity=RestartIntensity(10, 60)),
        )
        for name, actor_type in WORKERS:
            await system.spawn(
                lambda: Worker(crashes), name, actor_type, parent=path, venture=venture
            )
        await system.spawn(
            lambda: BackupManager(crashes),
            "backup-manager-1",
            ActorType.BACKUP_MANAGER,
            parent=path,
            venture=venture,
        )


def desk_for(runtime: Runtime, service: str) -> Callable[[StepCall], Awaitable[None]]:
    """How a demo service hands its work to its venture's actor (ask, with a timeout);
    a crashed or missing actor makes the step fail transiently, so it is retried."""
    desk = DESKS[service]

    async def work(call: StepCall) -> None:
        venture = call.venture if call.venture else "acme"
        path = f"/ventures/{venture}/{desk}"
        try:
            await runtime.actors.ref(path).ask(
                {"service": service, "action": call.action, "ref": call.idempotency_key},
                timeout=1.0,
            )
            runtime.actors.ref(f"/ventures/{venture}/metrics-collector-1").tell(
                {"service": service, "action": call.action}
            )
        except ActorError as exc:
            raise StepError(f"{service}: {exc}", kind="transient", retryable=True) from exc

    return work
