"""drop the two single-column indexes a composite index already starts with:
ix_observation_patient_id (ix_observation_patient_code is (patient_id, code)) and
ix_questionnaire_response_episode_id (ix_questionnaire_response_episode_timepoint is
(episode_id, timepoint, status)); every lookup, join and cascade by those columns reads the
composite instead, and each write and bulk load has one index fewer to keep

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 21:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_patient_id")
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_index("ix_questionnaire_response_episode_id")


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.create_index("ix_questionnaire_response_episode_id", ["episode_id"], unique=False)
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index("ix_observation_patient_id", ["patient_id"], unique=False)
