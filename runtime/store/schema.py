"""The database schema: every table EVA keeps, as SQLAlchemy Core `Table`s.

The PRD's data model (actors, actor messages, saga executions, saga step
executions, compensations, transaction participants, Chairman decisions),
the journal (events, snapshots), dead letters, incidents and settings.
Timestamps are epoch seconds (REAL): cheap to write on the hot path and the
same on SQLite and PostgreSQL. JSON columns hold canonical JSON text that
EVA serialises itself, so the journal's hashes cover exactly what is stored.
Migrations in `migrations/` are the history of this module; change both.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- the journal ---------------------------------------------------------

events = sa.Table(
    "events",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    # The primary key on (stream_id, version) is the optimistic-concurrency
    # check: a stale writer collides with the row its rival wrote.
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Float, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "recorded_at"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Float, nullable=False),
)

# --- sagas (read models, written in the same transaction as their events) --

saga_executions = sa.Table(
    "saga_executions",
    metadata,
    sa.Column("saga_id", sa.String(64), primary_key=True),
    sa.Column("venture_id", sa.String(100), nullable=False),
    sa.Column("saga_type", sa.String(100), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("input", sa.Text, nullable=False),
    sa.Column("current_step", sa.Integer, nullable=False),
    sa.Column("total_steps", sa.Integer, nullable=False),
    sa.Column("failure_reason", sa.Text),
    sa.Column("retry_count", sa.Integer, nullable=False),
    sa.Column("max_retries", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("completed_at", sa.Float),
    sa.Column("timeout_at", sa.Float),
    sa.Column("requires_approval", sa.Boolean, nullable=False),
    sa.Column("chairman_decision", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Covers the window queries of listings and metrics: the wide rows (with
    # their definitions) are never read to count or time sagas.
    sa.Index(None, "status", "updated_at", "created_at", "completed_at"),
    sa.Index(None, "saga_type", "created_at"),
    sa.Index(None, "created_at"),
)

saga_step_executions = sa.Table(
    "saga_step_executions",
    metadata,
    sa.Column("step_id", sa.String(200), primary_key=True),
    sa.Column("saga_id", sa.String(64), sa.ForeignKey("saga_executions.saga_id"), nullable=False),
    sa.Column("step_index", sa.Integer, nullable=False),
    sa.Column("step_name", sa.String(100), nullable=False),
    sa.Column("step_kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("participant", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.Float),
    sa.Column("completed_at", sa.Float),
    sa.Column("duration_ms", sa.Float),
    sa.Column("retry_count", sa.Integer, nullable=False),
    sa.Column("max_retries", sa.Integer, nullable=False),
    sa.Index(None, "saga_id"),
)

compensations = sa.Table(
    "compensations",
    metadata,
    sa.Column("compensation_id", sa.String(200), primary_key=True),
    sa.Column("saga_id", sa.String(64), sa.ForeignKey("saga_executions.saga_id"), nullable=False),
    sa.Column("step_name", sa.String(100), nullable=False),
    sa.Column("participant", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.Float),
    sa.Column("completed_at", sa.Float),
    sa.Index(None, "saga_id"),
)

transaction_participants = sa.Table(
    "transaction_participants",
    metadata,
    sa.Column("participant_id", sa.String(200), primary_key=True),
    sa.Column("saga_id", sa.String(64), sa.ForeignKey("saga_executions.saga_id"), nullable=False),
    sa.Column("service_name", sa.String(100), nullable=False),
    sa.Column("endpoint_url", sa.String(300), nullable=False),
    sa.Column("supports_prepare", sa.Boolean, nullable=False),
    sa.Column("supports_rollback", sa.Boolean, nullable=False),
    sa.Column("timeout_seconds", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_response", sa.Text),
    sa.Column("average_response_time", sa.Float, nullable=False),
    sa.Column("failure_rate", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index(None, "saga_id"),
)

# --- actors ---------------------------------------------------------------

actors = sa.Table(
    "actors",
    metadata,
    sa.Column("actor_id", sa.String(64), primary_key=True),
    sa.Column("path", sa.String(300), nullable=False, unique=True),
    sa.Column("venture_id", sa.String(100)),
    sa.Column("actor_type", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("supervisor_id", sa.String(64)),
    sa.Column("messages_processed", sa.Integer, nullable=False),
    sa.Column("failures_count", sa.Integer, nullable=False),
    sa.Column("restarts_count", sa.Integer, nullable=False),
    sa.Column("mailbox_depth", sa.Integer, nullable=False),
    sa.Column("last_heartbeat", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

actor_messages = sa.Table(
    "actor_messages",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("from_actor_id", sa.String(64)),
    sa.Column("to_actor_id", sa.String(64), nullable=False),
    sa.Column("message_type", sa.String(100), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("delivery_attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("sent_at", sa.Float, nullable=False),
    sa.Column("processed_at", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index(None, "to_actor_id", "sent_at"),
)

# --- oversight ------------------------------------------------------------

chairman_decisions = sa.Table(
    "chairman_decisions",
    metadata,
    sa.Column("decision_id", sa.String(64), primary_key=True),
    sa.Column("saga_id", sa.String(64)),
    sa.Column("decision_type", sa.String(32), nullable=False),
    sa.Column("reasoning", sa.Text, nullable=False),
    sa.Column("conditions", sa.Text, nullable=False),
    sa.Column("timeout", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("who", sa.String(100), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Index(None, "saga_id"),
    sa.Index(None, "created_at"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("dead_letter_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("saga_id", sa.String(64)),
    sa.Column("step_name", sa.String(100)),
    sa.Column("actor_path", sa.String(300)),
    sa.Column("message_type", sa.String(100)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float),
    sa.Index(None, "created_at"),
    sa.Index(None, "saga_id"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("incident_id", sa.String(64), primary_key=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("closed_at", sa.Float),
    sa.Index(None, "trigger", "opened_at"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
