"""The demo's participants: services for venture operations that keep their own ledgers.

Each participant stands for a separate service. It owns a table (its
ledger) in which it records every effect it applies and every undo, with
the idempotency key the saga engine sent. Before applying, it looks the key
up: an action already applied returns its first result, so retries and
recovery after a crash never apply an effect twice. The ledger records each
application separately, so `duplicate_effects` counts any step whose
effect was applied more than once, whatever key it came with.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.clock import Clock
from runtime.errors import StepError
from runtime.sagas.participants import StepCall
from runtime.store.writer import GroupCommitWriter

ledger_metadata = sa.MetaData()

SERVICES = ("inventory", "payment", "order", "compliance", "notification", "provisioning")


def _ledger_table(service: str) -> sa.Table:
    return sa.Table(
        f"demo_{service}_ledger",
        ledger_metadata,
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, index=True),
        sa.Column("saga_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("applied_at", sa.Float, nullable=False),
    )


LEDGERS = {service: _ledger_table(service) for service in SERVICES}

_TRANSIENT = {
    "inventory": "the warehouse system did not answer",
    "payment": "the payment gateway is busy",
    "order": "the order database is failing over",
    "compliance": "the sanctions list is being refreshed",
    "notification": "the mail relay refused the connection",
    "provisioning": "the cloud API rate-limited the request",
}
_REJECTED = {
    "inventory": "out of stock",
    "payment": "card declined",
    "order": "order record locked",
    "compliance": "the venture failed a sanctions check",
    "notification": "mailbox does not exist",
    "provisioning": "quota exceeded",
}


@dataclass(frozen=True, slots=True)
class Faults:
    """How a demo service misbehaves.

    Attributes:
        failure_rate: chance an action fails; two thirds of failures are
            transient (retried), one third are rejections (the saga compensates).
        timeout_rate: chance an action hangs past its step's timeout.
        compensation_failure_rate: chance an undo fails (transiently; a run of
            them sends the compensation to the dead-letter queue).
        latency: mean seconds an action takes.
    """

    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    compensation_failure_rate: float = 0.0
    latency: float = 0.0


class DemoParticipant:
    """One demo service with its own ledger."""

    def __init__(
        self,
        name: str,
        writer: GroupCommitWriter,
        clock: Clock,
        faults: Faults,
        rng: random.Random,
        desk: Callable[[StepCall], Awaitable[None]] | None = None,
    ) -> None:
        self._name = name
        self._desk = desk
        self._table = LEDGERS[name]
        self._writer = writer
        self._clock = clock
        self.faults = faults
        self._rng = rng
        self._applied: dict[str, dict[str, Any]] = {}
        self._open: dict[str, tuple[str, str, str]] = {}
        """Effects applied and not undone: effect key → (saga id, step, action)."""
        writer.register(self._table.name, sa.insert(self._table))

    @property
    def name(self) -> str:
        return self._name

    async def load(self, engine: AsyncEngine) -> None:
        """Read the ledger back: what this service has already done."""
        t = self._table
        query = sa.select(
            t.c.idempotency_key, t.c.result, t.c.saga_id, t.c.step, t.c.kind, t.c.action
        ).order_by(t.c.entry_id)
        async with engine.connect() as conn:
            for key, result, saga_id, step, kind, action in await conn.execute(query):
                self._applied[key] = orjson.loads(result)
                self._hold(key, kind, saga_id, step, action)

    def _hold(self, key: str, kind: str, saga_id: str, step: str, action: str) -> None:
        if kind == "effect":
            self._open[key] = (saga_id, step, action)
        else:
            self._open.pop(key.removesuffix("/undo"), None)

    async def held(self) -> list[tuple[str, str, str]]:
        """What this service holds for sagas: every effect applied and not undone, as
        (saga id, step, what) (the consistency validator's `Holder`)."""
        return [
            (saga_id, step, f"{action} at {self._name}")
            for saga_id, step, action in self._open.values()
        ]

    async def _apply(self, call: StepCall, kind: str, result: dict[str, Any]) -> None:
        row = {
            "idempotency_key": call.idempotency_key,
            "saga_id": call.saga_id,
            "step": call.step,
            "kind": kind,
            "action": call.action,
            "result": orjson.dumps(result).decode(),
            "applied_at": self._clock.now(),
        }
        # Durable before the engine hears of it: a crash after this line is
        # answered from the ledger on the next attempt.
        await self._writer.submit([(self._table.name, row)])
        self._applied[call.idempotency_key] = result
        self._hold(call.idempotency_key, kind, call.saga_id, call.step, call.action)

    async def _work(self, what: str) -> None:
        faults = self.faults
        if faults.latency:
            await self._clock.sleep(faults.latency * self._rng.uniform(0.5, 1.5))
        if faults.timeout_rate and self._rng.random() < faults.timeout_rate:
            await self._clock.sleep(3600)
        if faults.failure_rate and self._rng.random() < faults.failure_rate:
            if self._rng.random() < 2 / 3:
                raise StepError(
                    f"{self._name}: {_TRANSIENT[self._name]}", kind="transient", retryable=True
                )
            raise StepError(
                f"{self._name} rejected {what}: {_REJECTED[self._name]}", kind="rejected"
            )

    async def perform(self, call: StepCall) -> dict[str, Any]:
        done = self._applied.get(call.idempotency_key)
        if done is not None:
            return done
        await self._work(call.action)
        if self._desk is not None:
            await self._desk(call)
        result = {"service": self._name, "action": call.action, "ref": call.idempotency_key}
        if self._applied.get(call.idempotency_key) is None:
            await self._apply(call, "effect", result)
        return result

    async def compensate(self, call: StepCall) -> None:
        if call.idempotency_key in self._applied:
            return
        effect_key = call.idempotency_key.removesuffix("/undo")
        if effect_key not in self._applied:
            return  # the action never took effect here: nothing to undo
        faults = self.faults
        if (
            faults.compensation_failure_rate
            and self._rng.random() < faults.compensation_failure_rate
        ):
            raise StepError(
                f"{self._name}: undo of {call.action} failed ({_TRANSIENT[self._name]})",
                kind="transient",
                retryable=True,
            )
        await self._apply(call, "undo", {"undone": effect_key})


async def create_ledgers(engine: AsyncEngine) -> None:
    """Create the demo services' own tables (not part of EVA's schema)."""
    async with engine.begin() as conn:
        await conn.run_sync(ledger_metadata.create_all)


async def duplicate_effects(engine: AsyncEngine, services: Sequence[str] = SERVICES) -> int:
    """Steps whose effect (or undo) some service applied more than once."""
    total = 0
    async with engine.connect() as conn:
        for service in services:
            t = LEDGERS[service]
            per_step = (
                sa.select(t.c.saga_id, t.c.step, t.c.kind)
                .group_by(t.c.saga_id, t.c.step, t.c.kind)
                .having(sa.func.count() > 1)
                .subquery()
            )
            total += (
                await conn.execute(sa.select(sa.func.count()).select_from(per_step))
            ).scalar() or 0
    return total
