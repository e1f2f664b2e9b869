"""The group-commit writer: one task commits everyone's writes together.

Concurrent sagas hand their writes (a *unit*: rows that must commit
atomically) to `submit`; one task drains whatever is pending, commits it in
one transaction, and only then resolves each caller's future. Durability
costs one commit per batch instead of one per saga step, and each statement
runs once per batch with all its rows (executemany).

If a batch fails, its units are retried one transaction each, so one bad
unit (a stale journal append) fails alone and the others still commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from runtime.errors import RuntimeClosedError
from runtime.store._translate import translate

Write = tuple[str, dict[str, Any]]
"""One row to write: the name of a registered statement and its parameters."""


class _Unit:
    __slots__ = ("future", "key", "writes")

    def __init__(
        self, writes: Sequence[Write], future: asyncio.Future[None], key: str | None
    ) -> None:
        self.writes = writes
        self.future = future
        self.key = key


class GroupCommitWriter:
    """Batches units of writes into single transactions on one connection.

    Args:
        engine: where to write.
        statements: name → statement, in the order they must run within a
            transaction (parents before children, for foreign keys).
        url: the database URL as shown in error messages.
        max_batch: most units per transaction.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        statements: Mapping[str, Executable],
        *,
        url: str,
        max_batch: int = 2000,
    ) -> None:
        self._engine = engine
        self._statements = dict(statements)
        self._order = {name: i for i, name in enumerate(self._statements)}
        self._url = url
        self._max_batch = max_batch
        self._pending: list[_Unit] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._closing = False
        # Keys (journal streams) whose write failed: their later units fail too,
        # so a stream never commits an event after a gap.
        self._poisoned: dict[str, BaseException] = {}
        self.commits = 0

    def register(self, name: str, statement: Executable) -> None:
        """Add a statement; it runs after every statement registered before it."""
        self._order.setdefault(name, len(self._order))
        self._statements[name] = statement

    async def start(self) -> None:
        self._conn = await self._engine.connect()
        self._task = asyncio.create_task(self._run(), name="eva-group-commit")

    def submit(self, writes: Sequence[Write], key: str | None = None) -> asyncio.Future[None]:
        """Queue writes to commit together; the future resolves after the commit.

        Args:
            writes: rows that commit atomically, or not at all.
            key: units with the same key commit in order, and once one fails
                every later one fails with it (until `forgive(key)`).

        Raises:
            RuntimeClosedError: the writer is closing.
        """
        if self._closing:
            raise RuntimeClosedError()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._pending.append(_Unit(writes, future, key))
        self._wake.set()
        return future

    def forgive(self, key: str) -> None:
        """Let units with this key commit again (a new owner took the stream over)."""
        self._poisoned.pop(key, None)

    async def close(self) -> None:
        """Commit what is pending, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._conn is not None:
            await self._conn.close()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit_batch(batch)
            if self._closing and not self._pending:
                return

    async def _commit_batch(self, batch: list[_Unit]) -> None:
        if self._poisoned:
            batch = [u for u in batch if not self._refuse_poisoned(u)]
            if not batch:
                return
        try:
            await self._commit([w for unit in batch for w in unit.writes])
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch[0], translate(exc, self._url))
                return
            for unit in batch:
                if self._refuse_poisoned(unit):
                    continue
                try:
                    await self._commit(unit.writes)
                except Exception as unit_exc:
                    self._fail(unit, translate(unit_exc, self._url))
                else:
                    _succeed(unit)
            return
        for unit in batch:
            _succeed(unit)

    def _refuse_poisoned(self, unit: _Unit) -> bool:
        cause = self._poisoned.get(unit.key) if unit.key is not None else None
        if cause is not None and not unit.future.done():
            unit.future.set_exception(cause)
        return cause is not None

    def _fail(self, unit: _Unit, exc: BaseException) -> None:
        if unit.key is not None:
            self._poisoned[unit.key] = exc
        if not unit.future.done():
            unit.future.set_exception(exc)

    async def _commit(self, writes: Sequence[Write]) -> None:
        groups: dict[str, list[dict[str, Any]]] = {}
        for name, params in writes:
            groups.setdefault(name, []).append(params)
        conn = self._conn
        assert conn is not None
        try:
            async with conn.begin():
                for name in sorted(groups, key=self._order.__getitem__):
                    rows = groups[name]
                    await conn.execute(self._statements[name], rows if len(rows) > 1 else rows[0])
        except BaseException:
            if conn.in_transaction():
                await conn.rollback()
            raise
        self.commits += 1


def _succeed(unit: _Unit) -> None:
    if not unit.future.done():
        unit.future.set_result(None)


def _retrieve(future: asyncio.Future[None]) -> None:
    # Callers that do not await a unit learn of its failure from the next
    # unit with the same key; mark the exception seen so asyncio does not log it.
    if not future.cancelled():
        future.exception()
