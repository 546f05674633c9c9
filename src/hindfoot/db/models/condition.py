"""Condition (FHIR Condition) with its clinical codes (SNOMED CT, ICD-10) and laterality."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow

VERIFICATION_STATUSES = ("provisional", "differential", "confirmed", "refuted", "entered-in-error")
CLINICAL_STATUSES = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")


class Condition(IdMixin, TimestampMixin, Base):
    __tablename__ = "condition"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(80))  # vocabulary condition id
    display: Mapped[str] = mapped_column(String(200))
    snomed_code: Mapped[str | None] = mapped_column(String(20))
    icd10_code: Mapped[str | None] = mapped_column(String(20))
    clinical_status: Mapped[str] = mapped_column(String(20), default="active")
    verification_status: Mapped[str] = mapped_column(String(20), default="provisional")
    laterality: Mapped[str | None] = mapped_column(String(10))
    onset_date: Mapped[date | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    note: Mapped[str] = mapped_column(Text, default="")
