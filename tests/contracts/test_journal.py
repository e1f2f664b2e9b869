"""The journal contract, run on every implementation (SQLite file, memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime import ConcurrencyError, IntegrityError, ManualClock, Runtime
from runtime.store import schema
from runtime.store.engine import sqlite_url
from runtime.store.journal import Journal, MemoryJournal, NewEvent, SqlJournal


class Backend:
    """A journal under test, and a way to tamper with what it stored."""

    def __init__(self, journal: Journal, runtime: Runtime | None) -> None:
        self.journal = journal
        self.runtime = runtime

    async def tamper(self, stream_id: str, version: int, data: str) -> None:
        if self.runtime is None:
            assert isinstance(self.journal, MemoryJournal)
            events = self.journal._streams[stream_id]
            old = events[version - 1]
            from dataclasses import replace

            import orjson

            events[version - 1] = replace(old, data=orjson.loads(data))
            return
        async with self.runtime.engine.begin() as conn:
            await conn.execute(
                sa.update(schema.events)
                .where(schema.events.c.stream_id == stream_id, schema.events.c.version == version)
                .values(data=data)
            )

    async def delete(self, stream_id: str, version: int) -> None:
        if self.runtime is None:
            assert isinstance(self.journal, MemoryJournal)
            del self.journal._streams[stream_id][version - 1]
            return
        async with self.runtime.engine.begin() as conn:
            await conn.execute(
                sa.delete(schema.events).where(
                    schema.events.c.stream_id == stream_id, schema.events.c.version == version
                )
            )


@pytest.fixture(params=["sqlite", "memory"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = ManualClock()
    if request.param == "memory":
        yield Backend(MemoryJournal(clock, snapshot_every=3), None)
        return
    async with Runtime(sqlite_url(tmp_path / "j.db"), clock=clock, snapshot_every=3) as rt:
        yield Backend(rt.journal, rt)


def events(*names: str) -> list[NewEvent]:
    return [NewEvent(n, {"name": n, "n": i}) for i, n in enumerate(names)]


async def test_appended_events_read_back_in_order_with_versions(backend: Backend) -> None:
    journal = backend.journal
    stored = await journal.append("s", 0, events("a", "b"))
    assert [(e.version, e.type) for e in stored] == [(1, "a"), (2, "b")]
    await journal.append("s", 2, events("c"))
    assert [e.type for e in await journal.read("s")] == ["a", "b", "c"]
    assert [e.type for e in await journal.read("s", after=2)] == ["c"]
    assert next(e.data for e in await journal.read("s", after=1)) == {"name": "b", "n": 1}
    assert await journal.version("s") == 3
    assert await journal.version("other") == 0
    assert await journal.read("other") == []


async def test_a_stale_writer_gets_a_concurrency_error_naming_the_stream_and_both_versions(
    backend: Backend,
) -> None:
    journal = backend.journal
    await journal.append("orders", 0, events("a", "b"))
    with pytest.raises(ConcurrencyError) as caught:
        await journal.append("orders", 1, events("late"))
    error = caught.value
    assert (error.stream_id, error.expected_version, error.actual_version) == ("orders", 1, 2)
    assert "'orders' is at version 2, not 1" in str(error)
    assert [e.type for e in await journal.read("orders")] == ["a", "b"]


async def test_concurrent_writers_to_one_stream_exactly_one_wins(backend: Backend) -> None:
    journal = backend.journal
    results = await asyncio.gather(
        *(journal.append("race", 0, events(f"w{i}")) for i in range(10)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyError) for r in results if r not in winners)
    assert await journal.version("race") == 1


async def test_the_hash_chain_detects_a_changed_event(backend: Backend) -> None:
    journal = backend.journal
    await journal.append("s", 0, events("a", "b", "c"))
    assert await journal.verify("s") == 3
    await backend.tamper("s", 2, '{"n":99,"name":"b"}')
    with pytest.raises(IntegrityError) as caught:
        await journal.verify("s")
    assert (caught.value.stream_id, caught.value.version) == ("s", 2)
    assert "content was changed" in str(caught.value)


async def test_the_hash_chain_detects_a_removed_event(backend: Backend) -> None:
    journal = backend.journal
    await journal.append("s", 0, events("a", "b", "c"))
    await backend.delete("s", 2)
    with pytest.raises(IntegrityError, match="missing"):
        await journal.verify("s")


async def test_snapshots_save_and_load_the_latest_state(backend: Backend) -> None:
    journal = backend.journal
    assert await journal.load_snapshot("s") is None
    await journal.save_snapshot("s", 3, {"total": 3})
    await journal.save_snapshot("s", 6, {"total": 6})
    assert await journal.load_snapshot("s") == (6, {"total": 6})


async def test_sql_appends_from_many_writers_share_commits(tmp_path: Path) -> None:
    async with Runtime(sqlite_url(tmp_path / "j.db")) as rt:
        journal = rt.journal
        before = rt.writer.commits
        await asyncio.gather(*(journal.append(f"s{i}", 0, events("a")) for i in range(200)))
        commits = rt.writer.commits - before
        assert commits < 200
        assert sum([await journal.version(f"s{i}") for i in range(200)]) == 200
    # Durable: a fresh process-level engine sees every event.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'j.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar() == 200
    engine.dispose()


async def test_sql_journal_snapshot_is_due_every_n_events(tmp_path: Path) -> None:
    async with Runtime(sqlite_url(tmp_path / "j.db"), snapshot_every=3) as rt:
        journal: SqlJournal = rt.journal
        assert not journal.snapshot_due(0, 2)
        assert journal.snapshot_due(2, 3)
        assert journal.snapshot_due(5, 7)


async def test_a_writer_with_a_stale_head_cannot_break_the_chain(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "j.db")
    async with Runtime(url, recover=False) as a, Runtime(url, recover=False) as b:
        await a.journal.append("s", 0, events("a"))
        await b.journal.append("s", 1, events("b"))  # `a` still believes the stream is at 1
        results = await asyncio.gather(
            a.journal.append("s", 1, events("stale")),
            a.journal.append("s", 2, events("built-on-stale")),
            return_exceptions=True,
        )
        assert isinstance(results[0], ConcurrencyError)
        assert isinstance(results[1], ConcurrencyError)
        assert [e.type for e in await a.journal.read("s")] == ["a", "b"]
        assert await a.journal.verify("s") == 2
        await a.journal.append("s", 2, events("c"))
        assert await b.journal.verify("s") == 3
