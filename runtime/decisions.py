"""The Chairman decision log: every executed command, hash-chained in the journal.

A decision is recorded before its command runs (`DecisionMade`) and its
outcome after (`DecisionSettled`), both on the journal stream `decisions`,
in the same commit as the `chairman_decisions` row they keep current. So
nothing executes without its record, and a changed or removed record breaks
the chain.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.clock import Clock
from runtime.errors import IntegrityError
from runtime.store import schema
from runtime.store.journal import NewEvent, SqlJournal, encode
from runtime.store.writer import GroupCommitWriter

STREAM = "decisions"

DECISION_TYPES = {
    "approve_saga": "CONTINUE",
    "pause_saga": "PAUSE",
    "cancel_saga": "ABORT",
    "force_compensation": "FORCE_COMPENSATION",
}
"""The PRD's ChairmanSagaDecision types, for the intents they fit; others keep their name."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One Chairman decision and what came of it."""

    decision_id: str
    decision_type: str
    saga_id: str | None
    who: str
    at: float
    text: str
    intent: str
    slots: dict[str, Any]
    confirmation: str
    call: str
    reasoning: str
    transcript: str | None = None
    transcript_confidence: float | None = None
    outcome: str = "pending"


class DecisionLog:
    def __init__(
        self, engine: AsyncEngine, writer: GroupCommitWriter, journal: SqlJournal, clock: Clock
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._journal = journal
        self._clock = clock
        # One stream, many writers in this process: take turns at its head.
        self._lock = asyncio.Lock()

    async def _append(self, event: NewEvent, decision: Decision) -> None:
        async with self._lock:
            version, head = await self._journal.head(STREAM)
            writes, new_head = encode(STREAM, version, head, [event], self._clock.now())
            writes.append(_row(decision))
            await self._writer.submit(writes)
            self._journal.remember_head(STREAM, version + 1, new_head)

    async def record(
        self,
        *,
        intent: str,
        slots: dict[str, Any],
        text: str,
        call: str,
        saga_id: str | None = None,
        who: str = "chairman",
        confirmation: str = "not needed",
        reasoning: str = "",
        transcript: str | None = None,
        transcript_confidence: float | None = None,
    ) -> Decision:
        """Record a decision before its command runs; settle it with `settle`."""
        decision = Decision(
            decision_id=uuid.uuid4().hex,
            decision_type=DECISION_TYPES.get(intent, intent.upper()),
            saga_id=saga_id,
            who=who,
            at=self._clock.now(),
            text=text,
            intent=intent,
            slots=slots,
            confirmation=confirmation,
            call=call,
            reasoning=reasoning,
            transcript=transcript,
            transcript_confidence=transcript_confidence,
        )
        await self._append(NewEvent("DecisionMade", asdict(decision)), decision)
        return decision

    async def settle(self, decision: Decision, outcome: str) -> Decision:
        """Record what came of a decision (the runtime's answer, or its error)."""
        settled = Decision(**{**asdict(decision), "outcome": outcome})
        await self._append(
            NewEvent("DecisionSettled", {"decision_id": decision.decision_id, "outcome": outcome}),
            settled,
        )
        return settled

    async def list(
        self, *, saga_id: str | None = None, since: float | None = None, limit: int | None = None
    ) -> list[Decision]:
        """Decisions, newest first."""
        await self._writer.barrier()
        t = schema.chairman_decisions
        query = sa.select(t.c.record).order_by(t.c.created_at.desc())
        if saga_id is not None:
            query = query.where(t.c.saga_id == saga_id)
        if since is not None:
            query = query.where(t.c.created_at >= since)
        if limit:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            return [Decision(**orjson.loads(r)) for r in (await conn.execute(query)).scalars()]

    async def verify(self) -> int:
        """Check the log's hash chain, and that every `chairman_decisions` row (what
        `list` shows) is the decision the chain recorded; the number of events checked.

        Raises:
            IntegrityError: naming the first changed, added or missing event or row.
        """
        async with self._lock:  # no decision of this process lands between the reads
            checked = await self._journal.verify(STREAM)
            rows = {d.decision_id: d for d in await self.list()}
            events = await self._journal.read(STREAM)
        recorded: dict[str, tuple[int, Decision]] = {}
        for event in events:
            if event.type == "DecisionMade":
                recorded[event.data["decision_id"]] = (event.version, Decision(**event.data))
            elif event.type == "DecisionSettled" and event.data["decision_id"] in recorded:
                version, made = recorded[event.data["decision_id"]]
                settled = Decision(**{**asdict(made), "outcome": event.data["outcome"]})
                recorded[event.data["decision_id"]] = (event.version, settled)
        for decision_id, row in rows.items():
            version, decision = recorded.pop(decision_id, (len(events), None))
            if decision != row:
                detail = "does not match the chain" if decision else "is not in the chain"
                raise IntegrityError(STREAM, version, f"decision {decision_id[:8]}'s row {detail}")
        for decision_id, (version, _) in recorded.items():
            raise IntegrityError(STREAM, version, f"decision {decision_id[:8]}'s row is missing")
        return checked


def _row(decision: Decision) -> tuple[str, dict[str, Any]]:
    return (
        "chairman_decisions",
        {
            "decision_id": decision.decision_id,
            "saga_id": decision.saga_id,
            "decision_type": decision.decision_type,
            "reasoning": decision.reasoning,
            "conditions": "[]",
            "timeout": None,
            "created_at": decision.at,
            "who": decision.who,
            "record": orjson.dumps(asdict(decision)).decode(),
        },
    )
