"""What a live view reads: the runtime's state, read-only, in the shapes the dashboard shows.

The dashboard imports `eva` only; this is its window on the runtime. Nothing here
changes anything: every change goes through `Assistant.handle`, so it is confirmed
and logged like any other Chairman command.
"""

from __future__ import annotations

from typing import Any

from runtime import (
    ActorInfo,
    DeadLetter,
    Decision,
    Incident,
    RecentMessage,
    Runtime,
    SagaState,
    SagaSummary,
    last_consistency_score,
    recursion_kpis,
)
from runtime.events import Subscription

ENDED = ("completed", "failed", "rolled_back", "cancelled")
"""Statuses a saga finishes in; the success rate is completed over these less cancelled."""


class Monitor:
    """Read-only views of one runtime, for dashboards."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def now(self) -> float:
        """The runtime's clock (a test's manual clock, or the wall)."""
        return self.runtime.clock.now()

    def events(self, maxsize: int = 10_000) -> Subscription:
        """Everything that happens from now on; a slow reader loses the oldest."""
        return self.runtime.events(maxsize)

    async def saga(self, saga_id: str) -> SagaState:
        """One saga with its steps and compensations.

        Raises:
            UnknownSagaError: there is no such saga (or it vanished).
        """
        return await self.runtime.get_saga(saga_id)

    async def waiting(self, limit: int = 200) -> list[SagaSummary]:
        """Sagas waiting for the Chairman's approval, oldest first (the review queue)."""
        sagas = await self.runtime.query_sagas(status="waiting_approval", limit=limit)
        return sorted(sagas, key=lambda s: s.created_at)

    def intake(self) -> str | None:
        """What intake holds back, in one line; None while every type starts at once."""
        rt = self.runtime
        parts: list[str] = []
        if rt.intake_paused:
            why = rt.intake_reason
            parts.append("every new saga waits" + (f" ({why})" if why else ""))
        for saga_type, why in sorted(rt.paused_saga_types.items()):
            parts.append(f"new {saga_type} sagas wait" + (f" ({why})" if why else ""))
        return "Intake paused: " + "; ".join(parts) if parts else None

    def actors(self) -> list[ActorInfo]:
        """The supervision tree, parents before children."""
        return self.runtime.actor_tree()

    def messages(self) -> list[RecentMessage]:
        """The last messages delivered between actors, oldest first."""
        return self.runtime.actors.recent_messages()

    def messages_delivered(self) -> int:
        """How many messages actors have been sent since the runtime opened."""
        return self.runtime.actors.delivered

    async def dead_letters(self, limit: int = 200) -> list[DeadLetter]:
        return await self.runtime.dead_letters(limit=limit)

    async def incidents(self, limit: int = 200) -> list[Incident]:
        return await self.runtime.incidents(limit=limit)

    async def decisions(self, limit: int = 200) -> list[Decision]:
        return await self.runtime.decisions.list(limit=limit)

    async def recursion_kpis(self) -> dict[str, Any]:
        """How well the recursion loop heals (see `runtime.recursion_kpis`)."""
        return await recursion_kpis(self.runtime)

    async def consistency(self) -> tuple[float, float] | None:
        """The last consistency check's score (0..1) and when it ran; None if none has."""
        return await last_consistency_score(self.runtime)

    async def metrics(self, window_seconds: float) -> dict[str, Any]:
        """Success rate, p50/p95/p99 latency (ms), throughput (ended sagas a second) and
        the number of sagas touched over the last `window_seconds`."""
        figures = await self.runtime.saga_metrics(window_seconds)
        counts: dict[str, int] = figures["counts"]
        ended = sum(n for status, n in counts.items() if status in ENDED)
        judged = ended - counts.get("cancelled", 0)  # a cancellation is a decision, not a failure
        return {
            "success_rate": round(counts.get("completed", 0) / judged if judged else 1.0, 4),
            "ended": ended,
            "p50_ms": round(figures["p50_ms"], 1),
            "p95_ms": round(figures["p95_ms"], 1),
            "p99_ms": round(figures["p99_ms"], 1),
            "throughput_per_s": round(ended / window_seconds, 3),
            "sagas": sum(counts.values()),
        }

    async def verify_decisions(self) -> int:
        """Check the decision log (its hash chain, and each row against it); the number
        of decisions.

        Raises:
            IntegrityError: an event or a row was changed, added or removed.
        """
        await self.runtime.decisions.verify()
        return len(await self.runtime.decisions.list())
