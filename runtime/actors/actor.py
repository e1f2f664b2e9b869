"""The actor: what users subclass, and what it knows of itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.actors.ref import ActorRef
    from runtime.actors.system import ActorSystem


class ActorType(StrEnum):
    """The PRD's actor types."""

    VENTURE_ORCHESTRATOR = "venture_orchestrator"
    VALIDATION_PROCESSOR = "validation_processor"
    COMPLIANCE_CHECKER = "compliance_checker"
    NOTIFICATION_DISPATCHER = "notification_dispatcher"
    BACKUP_MANAGER = "backup_manager"
    METRICS_COLLECTOR = "metrics_collector"
    SAGA_COORDINATOR = "saga_coordinator"


class ActorStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    """Stopped, or passivated (a persistent actor asleep until its next message)."""
    FAILED = "failed"
    RECOVERING = "recovering"
    """Restarting: its state is being rebuilt."""


@dataclass(frozen=True, slots=True)
class ActorContext:
    """What an actor knows of its place: its own ref, its parent, the system."""

    ref: ActorRef
    parent: ActorRef | None
    system: ActorSystem

    @property
    def path(self) -> str:
        return self.ref.path


class Actor:
    """Subclass and override the hooks; `on_receive` handles one message at a time.

    The value `on_receive` returns answers an `ask`. An exception it raises
    goes to the actor's supervisor, which resumes, restarts, stops or
    escalates.
    """

    context: ActorContext

    async def on_start(self) -> None:
        """Called before the first message, and after each restart."""

    async def on_receive(self, message: Any) -> Any:
        """Handle one message; the result answers an ask."""
        return None

    async def on_stop(self) -> None:
        """Called once when the actor stops."""

    async def pre_restart(self, error: BaseException) -> None:
        """Called on the failed instance before a fresh one replaces it."""
