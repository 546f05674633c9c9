"""outcome reminders and registry indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_reminder",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("timepoint", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("instruments", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode_of_care.id"],
                                name=op.f("fk_outcome_reminder_episode_id_episode_of_care"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_outcome_reminder_patient_id_patient"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_reminder")),
        sa.UniqueConstraint("episode_id", "timepoint", name=op.f("uq_outcome_reminder_episode_id")),
    )
    with op.batch_alter_table("outcome_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_reminder_patient_id"), ["patient_id"], unique=False)
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index("ix_observation_response_code", ["questionnaire_response_id", "code"], unique=False)
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.create_index("ix_questionnaire_response_episode_timepoint",
                              ["episode_id", "timepoint", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaire_response_episode_timepoint")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_response_code")
    with op.batch_alter_table("outcome_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_reminder_patient_id"))
    op.drop_table("outcome_reminder")
