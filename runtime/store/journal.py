"""The journal: append-only event streams with optimistic concurrency and a hash chain.

Each event stores the hash of its predecessor and its own hash over its
stream, version, type, canonical payload and time, so a changed, removed or
reordered event breaks the chain and `verify` finds it.

`Journal` is the interface; `SqlJournal` keeps streams in the database
through the group-commit writer; `MemoryJournal` keeps them in a dict for
tests of code above the store.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.clock import Clock
from runtime.errors import ConcurrencyError, IntegrityError
from runtime.store import schema
from runtime.store._sqlite import SqliteThread
from runtime.store._translate import is_stale_write
from runtime.store.writer import GroupCommitWriter, Write

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its type name and JSON-serialisable payload."""

    type: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the journal holds it."""

    stream_id: str
    version: int
    type: str
    data: dict[str, Any]
    recorded_at: float
    prev_hash: str
    hash: str


def canonical(data: Mapping[str, Any]) -> str:
    """The one JSON text of a payload: sorted keys, no spaces."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def chain_hash(
    prev_hash: str, stream_id: str, version: int, type_: str, data_text: str, recorded_at: float
) -> str:
    """The hash of one event, chained to its predecessor's."""
    text = f"{prev_hash}\n{stream_id}\n{version}\n{type_}\n{recorded_at!r}\n{data_text}"
    return hashlib.sha256(text.encode()).hexdigest()


def encode(
    stream_id: str,
    version: int,
    prev_hash: str,
    events: Sequence[NewEvent],
    now: float,
) -> tuple[list[Write], str]:
    """The rows that append `events` after `version`, and the new head hash.

    Pure, so a caller can put the rows in the same unit as its read-model
    rows (one atomic commit).
    """
    writes: list[Write] = []
    for event in events:
        version += 1
        text = canonical(event.data)
        digest = chain_hash(prev_hash, stream_id, version, event.type, text, now)
        writes.append(
            (
                "events",
                {
                    "stream_id": stream_id,
                    "version": version,
                    "type": event.type,
                    "data": text,
                    "recorded_at": now,
                    "prev_hash": prev_hash,
                    "hash": digest,
                },
            )
        )
        prev_hash = digest
    return writes, prev_hash


def verify_chain(stream_id: str, rows: Sequence[StoredEvent], start_hash: str = GENESIS) -> None:
    """Raise `IntegrityError` at the first event that does not chain.

    `rows` must be the stream from its first event, in version order (or
    from a later event, with `start_hash` its predecessor's hash).
    """
    prev = start_hash
    expected_version = rows[0].version if rows else 1
    for event in rows:
        if event.version != expected_version:
            raise IntegrityError(stream_id, expected_version, "an event is missing")
        if event.prev_hash != prev:
            raise IntegrityError(stream_id, event.version, "it does not follow its predecessor")
        digest = chain_hash(
            prev, stream_id, event.version, event.type, canonical(event.data), event.recorded_at
        )
        if digest != event.hash:
            raise IntegrityError(stream_id, event.version, "its content was changed")
        prev = event.hash
        expected_version += 1


class Journal(Protocol):
    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Append events after `expected_version`.

        Raises:
            ConcurrencyError: the stream is not at `expected_version`.
        """
        ...

    async def read(self, stream_id: str, after: int = 0) -> list[StoredEvent]:
        """The stream's events with versions above `after`, in order."""
        ...

    async def version(self, stream_id: str) -> int:
        """The stream's latest version; 0 for a stream with no events."""
        ...

    async def verify(self, stream_id: str) -> int:
        """Check the hash chain; return the number of events checked.

        Raises:
            IntegrityError: naming the first broken event.
        """
        ...

    async def save_snapshot(
        self, stream_id: str, version: int, state: Mapping[str, Any]
    ) -> None: ...

    async def load_snapshot(self, stream_id: str) -> tuple[int, dict[str, Any]] | None:
        """The latest snapshot as (version, state), or None."""
        ...


_COLUMNS = "stream_id, version, type, data, recorded_at, prev_hash, hash"


def _event(row: Sequence[Any]) -> StoredEvent:
    stream_id, version, type_, data, recorded_at, prev_hash, digest = row
    return StoredEvent(
        stream_id, version, type_, orjson.loads(data), recorded_at, prev_hash, digest
    )


class SqlJournal:
    """The journal in the database, written through the group-commit writer.

    Args:
        reader: on SQLite, a connection thread that serves reads in one hop
            each; without it reads go through the engine.
        snapshot_every: the number of events between snapshots that owners of
            streams are asked to take (see `snapshot_due`).
    """

    _HEADS_KEPT = 50_000

    def __init__(
        self,
        engine: AsyncEngine,
        writer: GroupCommitWriter,
        clock: Clock,
        *,
        reader: SqliteThread | None = None,
        snapshot_every: int = 100,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._clock = clock
        self._reader = reader
        self.snapshot_every = snapshot_every
        # stream → (version, hash) of its last event; saves a read per append.
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def snapshot_due(self, old_version: int, new_version: int) -> bool:
        """Whether an append from `old_version` to `new_version` crossed a snapshot point."""
        return old_version // self.snapshot_every != new_version // self.snapshot_every

    async def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of the stream's last event; (0, GENESIS) when empty."""
        cached = self._heads.get(stream_id)
        if cached is not None:
            return cached
        if self._reader is not None:
            sql = (
                "SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
            )
            found = await self._reader.run(lambda conn: conn.execute(sql, (stream_id,)).fetchone())
            return (found[0], found[1]) if found else (0, GENESIS)
        query = (
            sa.select(schema.events.c.version, schema.events.c.hash)
            .where(schema.events.c.stream_id == stream_id)
            .order_by(schema.events.c.version.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.version, row.hash) if row else (0, GENESIS)

    def remember_head(self, stream_id: str, version: int, digest: str) -> None:
        self._heads[stream_id] = (version, digest)
        self._heads.move_to_end(stream_id)
        if len(self._heads) > self._HEADS_KEPT:
            self._heads.popitem(last=False)

    def forget_head(self, stream_id: str) -> None:
        self._heads.pop(stream_id, None)

    async def failed_commit(self, writes: Sequence[Write], error: Exception) -> Exception:
        """The error to raise for a commit of `writes` (appends built with `encode`)
        that failed with `error`. The cached heads of their streams are forgotten, as
        they may be what failed; a lost race becomes a `ConcurrencyError` naming the
        stream that moved on."""
        expected: dict[str, int] = {}
        for table, row in writes:
            if table == "events":
                expected.setdefault(row["stream_id"], row["version"] - 1)
        for stream_id in expected:
            self.forget_head(stream_id)
        if not is_stale_write(error):
            return error
        for stream_id, version in expected.items():
            actual, _ = await self.head(stream_id)
            if actual != version:
                return ConcurrencyError(stream_id, version, actual)
        return error

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        version, prev = await self.head(stream_id)
        if version != expected_version:
            self.forget_head(stream_id)
            raise ConcurrencyError(stream_id, expected_version, version)
        now = self._clock.now()
        writes, new_head = encode(stream_id, version, prev, events, now)
        self.remember_head(stream_id, version + len(events), new_head)
        try:
            await self._writer.submit(writes)
        except Exception as exc:
            self.forget_head(stream_id)
            if is_stale_write(exc):
                actual, _ = await self.head(stream_id)
                raise ConcurrencyError(stream_id, expected_version, actual) from None
            raise
        return [
            StoredEvent(
                stream_id, p["version"], p["type"], dict(e.data), now, p["prev_hash"], p["hash"]
            )
            for (_, p), e in zip(writes, events, strict=True)
        ]

    async def read(self, stream_id: str, after: int = 0) -> list[StoredEvent]:
        if self._reader is not None:
            sql = (
                f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND version > ? "
                "ORDER BY version"
            )
            return await self._reader.run(
                lambda conn: [_event(r) for r in conn.execute(sql, (stream_id, after))]
            )
        query = (
            sa.select(schema.events)
            .where(schema.events.c.stream_id == stream_id, schema.events.c.version > after)
            .order_by(schema.events.c.version)
        )
        async with self._engine.connect() as conn:
            return [_event(row) for row in await conn.execute(query)]

    async def read_many(self, stream_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        """Whole streams, many at once (recovery reads hundreds together)."""
        found: dict[str, list[StoredEvent]] = {s: [] for s in stream_ids}
        for start in range(0, len(stream_ids), 500):
            chunk = list(stream_ids[start : start + 500])
            for event in await self._read_chunk(chunk):
                found[event.stream_id].append(event)
        return found

    async def _read_chunk(self, chunk: list[str]) -> list[StoredEvent]:
        if self._reader is not None:
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT {_COLUMNS} FROM events WHERE stream_id IN ({marks}) "
                "ORDER BY stream_id, version"
            )
            return await self._reader.run(
                lambda conn: [_event(r) for r in conn.execute(sql, chunk)]
            )
        query = (
            sa.select(schema.events)
            .where(schema.events.c.stream_id.in_(chunk))
            .order_by(schema.events.c.stream_id, schema.events.c.version)
        )
        async with self._engine.connect() as conn:
            return [_event(row) for row in await conn.execute(query)]

    async def version(self, stream_id: str) -> int:
        return (await self.head(stream_id))[0]

    async def verify(self, stream_id: str) -> int:
        events = await self.read(stream_id)
        verify_chain(stream_id, events)
        return len(events)

    async def stream_ids(self, prefix: str = "") -> list[str]:
        query = sa.select(schema.events.c.stream_id).distinct()
        if prefix:
            query = query.where(schema.events.c.stream_id.startswith(prefix))
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    def snapshot_write(self, stream_id: str, version: int, state: Mapping[str, Any]) -> Write:
        return (
            "snapshots",
            {
                "stream_id": stream_id,
                "version": version,
                "state": canonical(state),
                "recorded_at": self._clock.now(),
            },
        )

    async def save_snapshot(self, stream_id: str, version: int, state: Mapping[str, Any]) -> None:
        await self._writer.submit([self.snapshot_write(stream_id, version, state)])

    async def load_snapshot(self, stream_id: str) -> tuple[int, dict[str, Any]] | None:
        query = sa.select(schema.snapshots.c.version, schema.snapshots.c.state).where(
            schema.snapshots.c.stream_id == stream_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.version, orjson.loads(row.state)) if row else None


class MemoryJournal:
    """The journal in a dict, with the same rules; for tests and scratch use."""

    def __init__(self, clock: Clock, *, snapshot_every: int = 100) -> None:
        self._clock = clock
        self._streams: dict[str, list[StoredEvent]] = {}
        self._snapshots: dict[str, tuple[int, dict[str, Any]]] = {}
        self.snapshot_every = snapshot_every

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        stream = self._streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        prev = stream[-1].hash if stream else GENESIS
        now = self._clock.now()
        writes, _ = encode(stream_id, expected_version, prev, events, now)
        stored = [
            StoredEvent(
                stream_id,
                p["version"],
                p["type"],
                orjson.loads(p["data"]),
                now,
                p["prev_hash"],
                p["hash"],
            )
            for _, p in writes
        ]
        stream.extend(stored)
        return stored

    async def read(self, stream_id: str, after: int = 0) -> list[StoredEvent]:
        return [e for e in self._streams.get(stream_id, []) if e.version > after]

    async def version(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, []))

    async def verify(self, stream_id: str) -> int:
        events = self._streams.get(stream_id, [])
        verify_chain(stream_id, events)
        return len(events)

    async def save_snapshot(self, stream_id: str, version: int, state: Mapping[str, Any]) -> None:
        self._snapshots[stream_id] = (version, orjson.loads(canonical(state)))

    async def load_snapshot(self, stream_id: str) -> tuple[int, dict[str, Any]] | None:
        return self._snapshots.get(stream_id)
