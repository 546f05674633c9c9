"""Patient (FHIR Patient) with the sport and level that drive triage priors and recovery plans."""

from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class SportLevel(enum.StrEnum):
    recreational = "recreational"
    competitive = "competitive"
    professional = "professional"


class Patient(IdMixin, TimestampMixin, Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("organization_id", "identifier"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(40))  # clinic record number, e.g. HF-000123
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    sport: Mapped[str] = mapped_column(String(40), default="none")
    level: Mapped[str] = mapped_column(String(20), default="recreational")
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years
