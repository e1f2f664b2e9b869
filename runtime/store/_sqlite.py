"""Direct sqlite3 access for the hot paths: one connection, owned by one thread.

The group-commit writer and the journal's readers send whole jobs (begin,
every executemany, commit) to the thread in one hop, instead of one hop per
statement through aiosqlite and SQLAlchemy; statements are compiled from
the SQLAlchemy Core ones once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.sql import Executable

from runtime.store.engine import SQLITE_PRAGMAS

T = TypeVar("T")

_DIALECT = sqlite_dialect.dialect(paramstyle="named")


def compile_sqlite(statement: Executable, columns: Iterable[str] | None = None) -> str:
    """The SQL text of a Core statement for sqlite3, with `:name` parameters.

    Args:
        columns: for INSERTs, the columns given (others take their defaults).
    """
    keys = list(columns) if columns is not None else None
    return str(statement.compile(dialect=_DIALECT, column_keys=keys))  # type: ignore[attr-defined]


class SqliteThread:
    """A sqlite3 connection used only from its own thread.

    Args:
        path: the database file.
        busy_timeout: seconds to wait for another connection's write lock.
        name: the thread's name, for debuggers.
    """

    def __init__(
        self, path: str, *, busy_timeout: float, name: str, autocheckpoint: bool = True
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._autocheckpoint = autocheckpoint
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> None:
        # isolation_level=None: no implicit transactions; jobs say BEGIN and COMMIT.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        if not self._autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn = conn

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job` with the connection, in the connection's thread."""
        conn = self._conn
        assert conn is not None, "start() the thread first"
        return await asyncio.get_running_loop().run_in_executor(self._executor, job, conn)

    async def close(self) -> None:
        conn = self._conn
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._conn = None
        self._executor.shutdown(wait=True)
