"""The write statements of the group-commit writer, built once per dialect.

Read models are upserted whole (every column each time), so one
executemany serves a batch that mixes inserts and updates. The order is
the order within a transaction: parents before children.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from runtime.store import schema

_UPSERTED = (
    schema.saga_executions,
    schema.saga_step_executions,
    schema.compensations,
    schema.transaction_participants,
    schema.snapshots,
    schema.actors,
    schema.actor_messages,
    schema.chairman_decisions,
    schema.dead_letters,
    schema.incidents,
    schema.settings,
)


def _upsert(table: sa.Table, dialect: str) -> Executable:
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)  # type: ignore[no-any-return]


# A journal event is inserted only if it extends its stream: version 1 on an
# empty stream, or the successor of the very event (version and hash) it was
# chained to. With the primary key on (stream_id, version) the database
# itself keeps every stream one unbroken chain, whoever writes to it.
GUARDED_EVENT_INSERT = sa.text(
    "INSERT INTO events (stream_id, version, type, data, recorded_at, prev_hash, hash) "
    "SELECT :stream_id, :version, :type, :data, :recorded_at, :prev_hash, :hash "
    f"WHERE (:version = 1 AND :prev_hash = '{'0' * 64}') OR EXISTS ("
    "SELECT 1 FROM events WHERE stream_id = :stream_id AND version = :version - 1 "
    "AND hash = :prev_hash)"
).bindparams(
    # Typed, so asyncpg is told each parameter's type (PostgreSQL cannot deduce one
    # parameter used both as a column value and in a comparison).
    sa.bindparam("stream_id", type_=sa.String),
    sa.bindparam("version", type_=sa.Integer),
    sa.bindparam("type", type_=sa.String),
    sa.bindparam("data", type_=sa.Text),
    sa.bindparam("recorded_at", type_=sa.Float),
    sa.bindparam("prev_hash", type_=sa.String),
    sa.bindparam("hash", type_=sa.String),
)

EVERY_ROW = frozenset({"events"})
"""Statements each of whose rows must take effect (see `GroupCommitWriter`)."""


def build_statements(dialect: str) -> dict[str, Executable]:
    """name → statement, in transaction order, for `dialect` (sqlite or postgresql)."""
    statements: dict[str, Executable] = {t.name: _upsert(t, dialect) for t in _UPSERTED[:4]}
    statements["events"] = GUARDED_EVENT_INSERT
    statements.update({t.name: _upsert(t, dialect) for t in _UPSERTED[4:]})
    return statements
