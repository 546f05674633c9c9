"""AssessmentInterview: the state of one adaptive symptom check, kept server-side.

`state` is the pure interview's JSON (hindfoot.assessment.interview.InterviewState: demographics and
the answers in order). `patient_id` is set when a signed-in patient runs the check; anonymous checks
are reachable only through their unguessable id. `episode_id` is the episode the answers were saved to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class AssessmentInterview(IdMixin, TimestampMixin, Base):
    __tablename__ = "assessment_interview"

    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="SET NULL"))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    laterality: Mapped[str | None] = mapped_column(String(10))  # left | right | bilateral, when given
    saved_at: Mapped[datetime | None]
