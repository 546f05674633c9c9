"""Questionnaire and QuestionnaireResponse (FHIR): FAOS, FAAM, pain, return to sport."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow


class Questionnaire(IdMixin, TimestampMixin, Base):
    __tablename__ = "questionnaire"
    __table_args__ = (UniqueConstraint("code", "version"),)

    code: Mapped[str] = mapped_column(String(40))  # faos | faam | pain | rts
    version: Mapped[str] = mapped_column(String(20), default="1")
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the FHIR Questionnaire JSON


class QuestionnaireResponse(IdMixin, TimestampMixin, Base):
    __tablename__ = "questionnaire_response"

    questionnaire_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("questionnaire.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    # looked up by ix_questionnaire_response_episode_timepoint (episode_id, timepoint, status), which
    # answers episode_id alone too: no index of its own (migration 0017)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"))
    timepoint: Mapped[str] = mapped_column(String(20))  # baseline | 6w | 3m | 6m | 12m
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default="in-progress")  # in-progress|completed
    authored_at: Mapped[datetime] = mapped_column(default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    questionnaire: Mapped[Questionnaire] = relationship(lazy="raise")
