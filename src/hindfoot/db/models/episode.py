"""EpisodeOfCare (one condition episode on one side) and its append-only pathway events."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.practitioner import Practitioner
from hindfoot.pathway.machine import STAGE_LABELS


class PathwayStage(enum.StrEnum):
    enquiry = "enquiry"
    assessment = "assessment"
    investigation = "investigation"
    conservative_care = "conservative_care"
    surgical_listing = "surgical_listing"
    surgery = "surgery"
    post_op = "post_op"
    rehabilitation = "rehabilitation"
    returned_to_sport = "returned_to_sport"
    discharged = "discharged"


class Laterality(enum.StrEnum):
    left = "left"
    right = "right"
    bilateral = "bilateral"


class EpisodeOfCare(IdMixin, TimestampMixin, Base):
    __tablename__ = "episode_of_care"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    condition_code: Mapped[str | None] = mapped_column(String(80))  # vocabulary condition id in focus
    laterality: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="active")  # FHIR: planned|waitlist|active|onhold|finished|cancelled
    stage: Mapped[str] = mapped_column(String(30), default="enquiry", index=True)
    period_start: Mapped[date]
    period_end: Mapped[date | None]
    care_manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))

    patient: Mapped[Patient] = relationship(lazy="raise")
    care_manager: Mapped[Practitioner | None] = relationship(lazy="raise")

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


class PathwayEvent(IdMixin, Base):
    """Append-only record of every stage change: who moved the episode, when and why."""

    __tablename__ = "pathway_event"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(30))
    to_stage: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
