"""ClinicService: a service the clinic offers, as data (FHIR HealthcareService).

Seeded from the default catalogue (``scheduling.catalogue``); an organisation without rows uses
the defaults. Services are deactivated, never deleted, so past appointments keep their name.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class ClinicService(IdMixin, TimestampMixin, Base):
    __tablename__ = "clinic_service"
    __table_args__ = (
        UniqueConstraint("organization_id", "code"),
        CheckConstraint("duration_minutes >= 5 AND duration_minutes <= 480", name="duration_range"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # Appointment.service_type holds it
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    duration_minutes: Mapped[int]
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # practitioner role codes that provide it
    active: Mapped[bool] = mapped_column(default=True)
    # False: staff book it (e.g. day-case surgery, injections); the public booking pages never offer it
    bookable_online: Mapped[bool] = mapped_column(default=True, server_default=true())
    position: Mapped[int] = mapped_column(default=0)  # order on the booking pages
