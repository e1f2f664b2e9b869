"""journal, sagas, actors, decisions, dead letters, incidents

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:33:25.784684
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actor_messages",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("from_actor_id", sa.String(length=64), nullable=True),
        sa.Column("to_actor_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.Column("processed_at", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_actor_messages")),
    )
    with op.batch_alter_table("actor_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_actor_messages_to_actor_id_sent_at"),
            ["to_actor_id", "sent_at"],
            unique=False,
        )

    op.create_table(
        "actors",
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("venture_id", sa.String(length=100), nullable=True),
        sa.Column("actor_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=True),
        sa.Column("messages_processed", sa.Integer(), nullable=False),
        sa.Column("failures_count", sa.Integer(), nullable=False),
        sa.Column("restarts_count", sa.Integer(), nullable=False),
        sa.Column("mailbox_depth", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("actor_id", name=op.f("pk_actors")),
        sa.UniqueConstraint("path", name=op.f("uq_actors_path")),
    )
    op.create_table(
        "chairman_decisions",
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("saga_id", sa.String(length=64), nullable=True),
        sa.Column("decision_type", sa.String(length=32), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("who", sa.String(length=100), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_chairman_decisions")),
    )
    with op.batch_alter_table("chairman_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chairman_decisions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chairman_decisions_saga_id"), ["saga_id"], unique=False
        )

    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("saga_id", sa.String(length=64), nullable=True),
        sa.Column("step_name", sa.String(length=100), nullable=True),
        sa.Column("actor_path", sa.String(length=300), nullable=True),
        sa.Column("message_type", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("dead_letter_id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dead_letters_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dead_letters_saga_id"), ["saga_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("stream_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", "version", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_recorded_at"), ["recorded_at"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incidents_trigger_opened_at"), ["trigger", "opened_at"], unique=False
        )

    op.create_table(
        "saga_executions",
        sa.Column("saga_id", sa.String(length=64), nullable=False),
        sa.Column("venture_id", sa.String(length=100), nullable=False),
        sa.Column("saga_type", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.Float(), nullable=True),
        sa.Column("timeout_at", sa.Float(), nullable=True),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("chairman_decision", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("saga_id", name=op.f("pk_saga_executions")),
    )
    with op.batch_alter_table("saga_executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saga_executions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_saga_executions_saga_type_created_at"),
            ["saga_type", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_saga_executions_status_updated_at"),
            ["status", "updated_at"],
            unique=False,
        )

    op.create_table(
        "snapshots",
        sa.Column("stream_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_snapshots")),
    )
    op.create_table(
        "compensations",
        sa.Column("compensation_id", sa.String(length=200), nullable=False),
        sa.Column("saga_id", sa.String(length=64), nullable=False),
        sa.Column("step_name", sa.String(length=100), nullable=False),
        sa.Column("participant", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["saga_id"],
            ["saga_executions.saga_id"],
            name=op.f("fk_compensations_saga_id_saga_executions"),
        ),
        sa.PrimaryKeyConstraint("compensation_id", name=op.f("pk_compensations")),
    )
    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compensations_saga_id"), ["saga_id"], unique=False)

    op.create_table(
        "saga_step_executions",
        sa.Column("step_id", sa.String(length=200), nullable=False),
        sa.Column("saga_id", sa.String(length=64), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_name", sa.String(length=100), nullable=False),
        sa.Column("step_kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("participant", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["saga_id"],
            ["saga_executions.saga_id"],
            name=op.f("fk_saga_step_executions_saga_id_saga_executions"),
        ),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_saga_step_executions")),
    )
    with op.batch_alter_table("saga_step_executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saga_step_executions_saga_id"), ["saga_id"], unique=False
        )

    op.create_table(
        "transaction_participants",
        sa.Column("participant_id", sa.String(length=200), nullable=False),
        sa.Column("saga_id", sa.String(length=64), nullable=False),
        sa.Column("service_name", sa.String(length=100), nullable=False),
        sa.Column("endpoint_url", sa.String(length=300), nullable=False),
        sa.Column("supports_prepare", sa.Boolean(), nullable=False),
        sa.Column("supports_rollback", sa.Boolean(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("average_response_time", sa.Float(), nullable=False),
        sa.Column("failure_rate", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["saga_id"],
            ["saga_executions.saga_id"],
            name=op.f("fk_transaction_participants_saga_id_saga_executions"),
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_transaction_participants")),
    )
    with op.batch_alter_table("transaction_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transaction_participants_saga_id"), ["saga_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transaction_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transaction_participants_saga_id"))

    op.drop_table("transaction_participants")
    with op.batch_alter_table("saga_step_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saga_step_executions_saga_id"))

    op.drop_table("saga_step_executions")
    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compensations_saga_id"))

    op.drop_table("compensations")
    op.drop_table("snapshots")
    with op.batch_alter_table("saga_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saga_executions_status_updated_at"))
        batch_op.drop_index(batch_op.f("ix_saga_executions_saga_type_created_at"))
        batch_op.drop_index(batch_op.f("ix_saga_executions_created_at"))

    op.drop_table("saga_executions")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_trigger_opened_at"))

    op.drop_table("incidents")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_recorded_at"))

    op.drop_table("events")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_saga_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_created_at"))

    op.drop_table("dead_letters")
    with op.batch_alter_table("chairman_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chairman_decisions_saga_id"))
        batch_op.drop_index(batch_op.f("ix_chairman_decisions_created_at"))

    op.drop_table("chairman_decisions")
    op.drop_table("actors")
    with op.batch_alter_table("actor_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actor_messages_to_actor_id_sent_at"))

    op.drop_table("actor_messages")
