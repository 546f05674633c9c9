"""Observation (FHIR Observation): a finding present/absent, a measurement or a score."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow
from hindfoot.patients.codes import FINDING_CATEGORIES, WITHDRAWN  # noqa: F401 (their home; kept importable here)

# Categories follow the vocabulary's finding groups, plus questionnaire scores and measurements.
OBSERVATION_CATEGORIES = ("history", "exam", "imaging", "tests", "score", "measurement")


class Observation(IdMixin, TimestampMixin, Base):
    __tablename__ = "observation"
    # (patient_id, code) also answers every lookup by patient_id alone: no index of its own (migration 0017)
    __table_args__ = (Index("ix_observation_patient_code", "patient_id", "code"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounter.id", ondelete="SET NULL"))
    diagnostic_report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("diagnostic_report.id", ondelete="SET NULL"))
    questionnaire_response_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("questionnaire_response.id", ondelete="CASCADE")
    )
    category: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(80))  # vocabulary finding id, or e.g. "faos.pain"
    status: Mapped[str] = mapped_column(String(20), default="final")
    value_boolean: Mapped[bool | None]  # finding present (True) / absent (False)
    value_quantity: Mapped[float | None]
    value_unit: Mapped[str | None] = mapped_column(String(20))
    value_string: Mapped[str | None] = mapped_column(String(300))
    effective_at: Mapped[datetime] = mapped_column(default=utcnow)
    performer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    note: Mapped[str] = mapped_column(Text, default="")
