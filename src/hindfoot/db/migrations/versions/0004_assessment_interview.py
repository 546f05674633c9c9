"""assessment interview: server-side state of the adaptive symptom check

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_interview",
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("episode_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("laterality", sa.String(length=10), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode_of_care.id"],
                                name=op.f("fk_assessment_interview_episode_id_episode_of_care"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"],
                                name=op.f("fk_assessment_interview_patient_id_patient"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_interview")),
    )
    with op.batch_alter_table("assessment_interview", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_interview_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assessment_interview", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_interview_patient_id"))
    op.drop_table("assessment_interview")
