"""The group-commit writer: one task commits everyone's writes together.

Concurrent sagas hand their writes (a *unit*: rows that must commit
atomically) to `submit`; one task drains whatever is pending, commits it in
one transaction, and only then resolves each caller's future. Durability
costs one commit per batch instead of one per saga step, and each statement
runs once per batch with all its rows (executemany).

If a batch fails, its units are retried one transaction each, so one bad
unit (a stale journal append) fails alone and the others still commit.

How a batch reaches the database is a backend's job: on SQLite one hop to a
thread that owns a sqlite3 connection (`SqliteBackend`); elsewhere
SQLAlchemy's async engine (`SqlAlchemyBackend`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from runtime.errors import RuntimeClosedError
from runtime.store._sqlite import SqliteThread, compile_sqlite
from runtime.store._translate import StaleWriteError, translate

Write = tuple[str, dict[str, Any]]
"""One row to write: the name of a registered statement and its parameters."""

Batch = list[tuple[str, list[dict[str, Any]]]]
"""Statement name → its rows, in the order the statements must run."""


class Backend(Protocol):
    def register(self, name: str, statement: Executable, *, every_row: bool) -> None:
        """Make a statement available. `every_row`: each row must change one row, or the
        transaction fails with `StaleWriteError` (a guarded insert whose guard failed)."""
        ...

    async def start(self) -> None: ...

    async def commit(self, batch: Batch) -> None:
        """Run the batch in one transaction and commit it, or roll it back and raise."""
        ...

    async def close(self) -> None: ...


class SqliteBackend:
    """Batches go to a thread owning a sqlite3 connection: one hop per transaction.

    SQLite would checkpoint its write-ahead log inside whichever commit
    crosses 1,000 pages, stalling that commit for milliseconds; here a second
    thread checkpoints every `checkpoint_every` commits, beside the writer.
    """

    def __init__(self, path: str, *, busy_timeout: float, checkpoint_every: int = 64) -> None:
        self._thread = SqliteThread(
            path, busy_timeout=busy_timeout, name="eva-writer", autocheckpoint=False
        )
        self._checkpointer = SqliteThread(path, busy_timeout=busy_timeout, name="eva-checkpoint")
        self._checkpoint_every = checkpoint_every
        self._checkpoint: asyncio.Task[object] | None = None
        self._commits = 0
        self._statements: dict[str, Executable] = {}
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self._every_row: set[str] = set()

    def register(self, name: str, statement: Executable, *, every_row: bool) -> None:
        self._statements[name] = statement
        if every_row:
            self._every_row.add(name)

    def _text(self, name: str, row: dict[str, Any]) -> str:
        # Compiled once per statement and set of columns given.
        key = (name, tuple(row))
        sql = self._sql.get(key)
        if sql is None:
            sql = self._sql[key] = compile_sqlite(self._statements[name], row)
        return sql

    async def start(self) -> None:
        await self._thread.start()
        await self._checkpointer.start()

    async def commit(self, batch: Batch) -> None:
        await self._thread.run(lambda conn: self._commit(conn, batch))
        self._commits += 1
        if self._commits % self._checkpoint_every == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._checkpoint = asyncio.create_task(
                self._checkpointer.run(
                    lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                )
            )

    def _commit(self, conn: sqlite3.Connection, batch: Batch) -> None:
        # IMMEDIATE takes the write lock up front, so a busy database waits
        # (busy_timeout) here rather than failing half-way through.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, rows in batch:
                cursor = conn.executemany(self._text(name, rows[0]), rows)
                if name in self._every_row and cursor.rowcount != len(rows):
                    raise StaleWriteError(name)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        await self._thread.close()
        await self._checkpointer.close()


class SqlAlchemyBackend:
    """Batches go through SQLAlchemy's async engine (PostgreSQL, or any dialect)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._statements: dict[str, Executable] = {}
        self._every_row: set[str] = set()
        self._conn: AsyncConnection | None = None

    def register(self, name: str, statement: Executable, *, every_row: bool) -> None:
        self._statements[name] = statement
        if every_row:
            self._every_row.add(name)

    async def start(self) -> None:
        self._conn = await self._engine.connect()

    async def commit(self, batch: Batch) -> None:
        conn = self._conn
        assert conn is not None
        try:
            async with conn.begin():
                for name, rows in batch:
                    statement = self._statements[name]
                    if name not in self._every_row:
                        await conn.execute(statement, rows)
                        continue
                    # Row by row: asyncpg reports no row count for a batch (-1), and
                    # each row here must be seen to take effect.
                    for row in rows:
                        if (await conn.execute(statement, row)).rowcount != 1:
                            raise StaleWriteError(name)
        except BaseException:
            if conn.in_transaction():
                await conn.rollback()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class _Unit:
    __slots__ = ("future", "writes")

    def __init__(self, writes: Sequence[Write], future: asyncio.Future[None]) -> None:
        self.writes = writes
        self.future = future


class GroupCommitWriter:
    """Batches units of writes into single transactions.

    Args:
        backend: how a batch reaches the database.
        statements: name → statement, in the order they must run within a
            transaction (parents before children, for foreign keys).
        every_row: names of statements each of whose rows must take effect.
        url: the database URL as shown in error messages.
        max_batch: most units per transaction.
    """

    def __init__(
        self,
        backend: Backend,
        statements: Mapping[str, Executable],
        *,
        every_row: frozenset[str] = frozenset(),
        url: str,
        max_batch: int = 2000,
    ) -> None:
        self._backend = backend
        self._order: dict[str, int] = {}
        self._url = url
        self._max_batch = max_batch
        self._pending: list[_Unit] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.commits = 0
        for name, statement in statements.items():
            self.register(name, statement, every_row=name in every_row)

    def register(self, name: str, statement: Executable, *, every_row: bool = False) -> None:
        """Add a statement; it runs after every statement registered before it."""
        self._order.setdefault(name, len(self._order))
        self._backend.register(name, statement, every_row=every_row)

    async def start(self) -> None:
        await self._backend.start()
        self._task = asyncio.create_task(self._run(), name="eva-group-commit")

    def submit(self, writes: Sequence[Write]) -> asyncio.Future[None]:
        """Queue rows that commit together, or not at all; the future resolves after the
        commit (or fails with the reason).

        Raises:
            RuntimeClosedError: the writer is closing.
        """
        if self._closing:
            raise RuntimeClosedError()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._pending.append(_Unit(writes, future))
        self._wake.set()
        return future

    async def barrier(self) -> None:
        """Until everything submitted before this call is committed (or has failed)."""
        if self._pending or self._task is not None:
            await asyncio.gather(self.submit([]), return_exceptions=True)

    async def close(self) -> None:
        """Commit what is pending, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._backend.close()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit_units(batch)
            if self._closing and not self._pending:
                return

    async def _commit_units(self, units: list[_Unit]) -> None:
        try:
            await self._commit([w for unit in units for w in unit.writes])
        except Exception as exc:
            if len(units) == 1:
                _fail(units[0], translate(exc, self._url))
                return
            # Find the culprits: each unit alone, in order.
            for unit in units:
                try:
                    await self._commit(unit.writes)
                except Exception as unit_exc:
                    _fail(unit, translate(unit_exc, self._url))
                else:
                    _succeed(unit)
            return
        for unit in units:
            _succeed(unit)

    async def _commit(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        groups: dict[str, list[dict[str, Any]]] = {}
        for name, params in writes:
            groups.setdefault(name, []).append(params)
        batch = [(name, groups[name]) for name in sorted(groups, key=self._order.__getitem__)]
        await self._backend.commit(batch)
        self.commits += 1


def _succeed(unit: _Unit) -> None:
    if not unit.future.done():
        unit.future.set_result(None)


def _fail(unit: _Unit, exc: BaseException) -> None:
    if not unit.future.done():
        unit.future.set_exception(exc)


def _retrieve(future: asyncio.Future[None]) -> None:
    # Callers that do not await a unit learn of its failure from the next one
    # of the same stream (whose guarded insert then fails); mark the exception
    # seen so asyncio does not log it.
    if not future.cancelled():
        future.exception()
