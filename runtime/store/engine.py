"""Opening the database: the engine, its SQLite pragmas, and migrations on open."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from runtime.errors import StoreError
from runtime.store._translate import translate
from runtime.store.migrations import upgrade

DEFAULT_URL = "sqlite+aiosqlite:///data/eva.db"

# Each pragma is set on every new connection, because SQLite keeps them per
# connection (except journal_mode, which sticks to the file).
SQLITE_PRAGMAS = (
    # Readers do not block the writer and the writer does not block readers,
    # and a commit appends to the log instead of rewriting pages.
    "PRAGMA journal_mode=WAL",
    # In WAL mode NORMAL syncs at checkpoints, not every commit: a commit
    # survives a crash of the process (SIGKILL), only a power cut can lose
    # the last transactions. The benchmarks use the same level for peers.
    "PRAGMA synchronous=NORMAL",
    # SQLite ignores declared foreign keys unless asked, per connection.
    "PRAGMA foreign_keys=ON",
    # Keep temporary b-trees for sorts and indexes in memory.
    "PRAGMA temp_store=MEMORY",
)


def database_url() -> str:
    """The configured database URL: `EVA_DATABASE_URL`, or the embedded default."""
    return os.environ.get("EVA_DATABASE_URL", DEFAULT_URL)


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The aiosqlite URL of a database file."""
    return f"sqlite+aiosqlite:///{Path(path)}"


def sqlite_path(url: str) -> str | None:
    """The file of an SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _pragma_setter(busy_timeout: float) -> Any:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        # A second process (the dashboard beside `eva demo`) waits this long
        # for the write lock instead of failing at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    return set_pragmas


async def open_engine(url: str, *, busy_timeout: float = 5.0) -> AsyncEngine:
    """Create the engine, check the file is a usable database, and migrate it.

    Raises:
        NotADatabaseError: the file exists and is not SQLite.
        DatabaseBusyError: another process holds the lock past the busy timeout.
        StoreError: the database was made by a newer EVA, or by something else.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _pragma_setter(busy_timeout))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)
    except StoreError:
        await engine.dispose()
        raise
    except Exception as exc:
        await engine.dispose()
        raise translate(exc, _safe(url)) from exc
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
