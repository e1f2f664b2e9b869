"""covering index for saga windows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:11:48.534188
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("saga_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saga_executions_status_updated_at"))
        batch_op.create_index(
            batch_op.f("ix_saga_executions_status_updated_at_created_at_completed_at"),
            ["status", "updated_at", "created_at", "completed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("saga_executions", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_saga_executions_status_updated_at_created_at_completed_at")
        )
        batch_op.create_index(
            batch_op.f("ix_saga_executions_status_updated_at"),
            ["status", "updated_at"],
            unique=False,
        )
