"""ImagingStudy and DiagnosticReport (FHIR): X-ray, MRI, CT, bone scan, ultrasound, diagnostic injection."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin

# DICOM modality codes used by FHIR ImagingStudy.modality
MODALITIES = {"XR": "X-ray", "MR": "MRI", "CT": "CT", "NM": "Bone scan", "US": "Ultrasound"}


class ImagingStudy(IdMixin, TimestampMixin, Base):
    __tablename__ = "imaging_study"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    modality: Mapped[str] = mapped_column(String(4))
    description: Mapped[str] = mapped_column(String(300))
    body_site: Mapped[str] = mapped_column(String(60), default="ankle")
    laterality: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="available")
    started_at: Mapped[datetime]
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))

    @property
    def modality_label(self) -> str:
        return MODALITIES.get(self.modality, self.modality)


class DiagnosticReport(IdMixin, TimestampMixin, Base):
    __tablename__ = "diagnostic_report"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    imaging_study_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("imaging_study.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(20), default="imaging")  # imaging | laboratory | procedure
    code: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="final")
    conclusion: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime]
    performer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
