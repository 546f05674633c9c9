"""CarePlan with its activities (FHIR CarePlan): conservative bundles and dated recovery plans."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class CarePlan(IdMixin, TimestampMixin, Base):
    __tablename__ = "care_plan"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # conservative | recovery
    procedure_code: Mapped[str | None] = mapped_column(String(80))
    sport: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")  # draft|active|completed|revoked
    period_start: Mapped[date]
    period_end: Mapped[date | None]
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    description: Mapped[str] = mapped_column(Text, default="")

    activities: Mapped[list[CarePlanActivity]] = relationship(
        back_populates="care_plan", lazy="raise", order_by="CarePlanActivity.position",
        cascade="all, delete-orphan",
    )


class CarePlanActivity(IdMixin, Base):
    __tablename__ = "care_plan_activity"

    care_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(80))  # milestone or treatment id
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(20), default="not-started")  # not-started|scheduled|in-progress|completed|cancelled
    earliest: Mapped[date | None]
    typical: Mapped[date | None]
    latest: Mapped[date | None]
    completed_on: Mapped[date | None]
    criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    criteria_met: Mapped[list[bool]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(300), default="")

    care_plan: Mapped[CarePlan] = relationship(back_populates="activities", lazy="raise")
