"""Procedure (FHIR Procedure): arthroscopy, open excision, injection, with codes and complications."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin
from hindfoot.db.models.practitioner import Practitioner

PROCEDURES = {
    "posterior_arthroscopic_excision": "Posterior ankle arthroscopy, os trigonum excision (two posterior portals)",
    "posterior_arthroscopic_debridement": "Posterior ankle arthroscopy, debridement",
    "open_excision": "Open os trigonum excision",
    "image_guided_injection": "Image-guided posterior ankle steroid injection",
}


class Procedure(IdMixin, TimestampMixin, Base):
    __tablename__ = "procedure"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(80), index=True)
    display: Mapped[str] = mapped_column(String(200))
    snomed_code: Mapped[str | None] = mapped_column(String(20))
    cpt_code: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="completed")  # preparation|in-progress|completed|not-done
    performed_at: Mapped[datetime | None]
    performer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    laterality: Mapped[str | None] = mapped_column(String(10))
    complication: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")

    performer: Mapped[Practitioner | None] = relationship(lazy="raise")
