"""OutcomeReminder: one row per questionnaire reminder emailed, so none is ever sent twice.

Also declares the indexes the outcomes registry queries lean on (they belong to other tables but
exist for the dashboard; declaring them here keeps the migration and the models in step).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, utcnow
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.questionnaire import QuestionnaireResponse


class OutcomeReminder(IdMixin, Base):
    __tablename__ = "outcome_reminder"
    __table_args__ = (UniqueConstraint("episode_id", "timepoint"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"))
    timepoint: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(200))
    instruments: Mapped[str] = mapped_column(String(100))  # e.g. "faos,faam,pain"
    message_id: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


# Registry analytics: scores joined to their response's time point, and completion per time point.
Index("ix_observation_response_code", Observation.questionnaire_response_id, Observation.code)
Index(
    "ix_questionnaire_response_episode_timepoint",
    QuestionnaireResponse.episode_id, QuestionnaireResponse.timepoint, QuestionnaireResponse.status,
)
