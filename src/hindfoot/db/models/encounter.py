"""Encounter (FHIR Encounter): a consultation, physio session, injection, operation or nurse visit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin
from hindfoot.db.models.organization import Location
from hindfoot.db.models.practitioner import Practitioner

ENCOUNTER_TYPES = {
    "new_consultation": "New consultation",
    "follow_up": "Follow-up",
    "physiotherapy": "Physiotherapy",
    "image_guided_injection": "Image-guided injection",
    "imaging": "Imaging",
    "day_case_surgery": "Day-case surgery",
    "nurse_dressing": "Nurse dressing visit",
    "telephone": "Telephone review",
}


class Encounter(IdMixin, TimestampMixin, Base):
    __tablename__ = "encounter"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="finished")  # planned|in-progress|finished|cancelled
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    practitioner: Mapped[Practitioner | None] = relationship(lazy="raise")
    location: Mapped[Location | None] = relationship(lazy="raise")

    @property
    def type_label(self) -> str:
        return ENCOUNTER_TYPES.get(self.type, self.type)
