"""Opening databases: migrations, and databases EVA must refuse without harming them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from runtime import DatabaseBusyError, NotADatabaseError, Runtime, StoreError
from runtime.store.engine import sqlite_url
from runtime.store.journal import NewEvent
from runtime.store.migrations import _config, head_revision


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}


async def test_a_new_database_gets_the_whole_schema_at_the_newest_revision(
    db_path: Path,
) -> None:
    async with Runtime(sqlite_url(db_path)):
        pass
    assert {
        "events",
        "snapshots",
        "saga_executions",
        "saga_step_executions",
        "compensations",
        "transaction_participants",
        "actors",
        "actor_messages",
        "chairman_decisions",
        "dead_letters",
        "incidents",
        "settings",
    } <= tables(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == (
            head_revision(),
        )
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)


async def test_an_older_database_is_upgraded_in_place_keeping_its_data(db_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0001")
        conn.execute(sa.text("insert into events values ('saga-7', 1, 'X', '{}', 1.0, 'p', 'h')"))
    engine.dispose()
    assert "settings" not in tables(db_path)
    async with Runtime(sqlite_url(db_path)) as rt:
        assert [e.type for e in await rt.journal.read("saga-7")] == ["X"]
    assert "settings" in tables(db_path)


async def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = b"these are my notes, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(NotADatabaseError, match="not an SQLite database"):
        async with Runtime(sqlite_url(path)):
            pass
    assert path.read_bytes() == content


async def test_a_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table customers (id integer primary key)")
    with pytest.raises(StoreError, match="tables EVA did not create \\(customers\\)"):
        async with Runtime(sqlite_url(path)):
            pass
    assert tables(path) == {"customers"}


async def test_a_database_from_a_newer_eva_is_refused(db_path: Path) -> None:
    async with Runtime(sqlite_url(db_path)):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute("update alembic_version set version_num = '9999'")
    with pytest.raises(StoreError, match="newer than this EVA knows"):
        async with Runtime(sqlite_url(db_path)):
            pass


async def test_a_database_locked_by_another_process_gives_a_busy_error_and_loses_nothing(
    db_path: Path,
) -> None:
    async with Runtime(sqlite_url(db_path), busy_timeout=0.05) as rt:
        await rt.journal.append("s", 0, [NewEvent("Kept", {})])
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("begin exclusive")
        try:
            with pytest.raises(DatabaseBusyError, match="locked by another process"):
                await rt.journal.append("s", 1, [NewEvent("Blocked", {})])
        finally:
            holder.execute("rollback")
            holder.close()
        await rt.journal.append("s", 1, [NewEvent("After", {})])
        assert [e.type for e in await rt.journal.read("s")] == ["Kept", "After"]
        assert await rt.journal.verify("s") == 2
