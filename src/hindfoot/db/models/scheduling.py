"""Schedule, availability, Slot and Appointment (FHIR Schedule/Slot/Appointment)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin
from hindfoot.db.models.organization import Location
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.practitioner import Practitioner

ACTIVE_APPOINTMENT_STATUSES = ("proposed", "pending", "booked", "arrived", "checked-in", "fulfilled")


class Schedule(IdMixin, TimestampMixin, Base):
    """A practitioner's bookable time at one location."""

    __tablename__ = "schedule"

    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    comment: Mapped[str] = mapped_column(String(300), default="")

    practitioner: Mapped[Practitioner] = relationship(lazy="raise")
    location: Mapped[Location] = relationship(lazy="raise")
    rules: Mapped[list[AvailabilityRule]] = relationship(
        back_populates="schedule", lazy="raise", cascade="all, delete-orphan",
        order_by="(AvailabilityRule.weekday, AvailabilityRule.start_time)",
    )


class AvailabilityRule(IdMixin, Base):
    """Weekly opening: weekday 0 = Monday, times in the clinic's local time zone."""

    __tablename__ = "availability_rule"

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    start_time: Mapped[time]
    end_time: Mapped[time]
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty = every service the role provides
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    schedule: Mapped[Schedule] = relationship(back_populates="rules", lazy="raise")


class AvailabilityException(IdMixin, Base):
    """Leave for a practitioner, or a closure of a location."""

    __tablename__ = "availability_exception"

    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")


class Slot(IdMixin, Base):
    __tablename__ = "slot"

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="free")  # free|busy|busy-unavailable
    service_type: Mapped[str | None] = mapped_column(String(40))


class Appointment(IdMixin, TimestampMixin, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        # The database itself refuses a second live booking of the same clinician at the same time.
        Index(
            "uq_appointment_practitioner_start_active",
            "practitioner_id",
            "start",
            unique=True,
            sqlite_where=text("status NOT IN ('cancelled', 'noshow', 'entered-in-error')"),
            postgresql_where=text("status NOT IN ('cancelled', 'noshow', 'entered-in-error')"),
        ),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioner.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"), index=True)
    episode_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("episode_of_care.id", ondelete="SET NULL"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("slot.id", ondelete="SET NULL"))
    service_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="booked")
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str | None] = mapped_column(String(300))
    series_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Booking (issue 6): the reminder is sent at most once; the invite's SEQUENCE grows per change.
    reminder_sent_at: Mapped[datetime | None]
    ical_sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # the symptom check the patient shared when booking, and the triage it gave (urgent, routine...)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assessment_interview.id", ondelete="SET NULL"))
    triage: Mapped[str | None] = mapped_column(String(20))
    checked_in_at: Mapped[datetime | None]  # arrived at the desk
    seen_at: Mapped[datetime | None]  # seen by the clinician

    patient: Mapped[Patient] = relationship(lazy="raise")
    practitioner: Mapped[Practitioner] = relationship(lazy="raise")
    location: Mapped[Location] = relationship(lazy="raise")


class WaitlistEntry(IdMixin, TimestampMixin, Base):
    """A patient waiting for an earlier (or any) time: a service, optionally one clinician or location and
    a date range. Freed times are offered to the first matching entries (:mod:`hindfoot.scheduling.waitlist`)."""

    __tablename__ = "waitlist_entry"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    service_type: Mapped[str] = mapped_column(String(40))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("location.id"))
    earliest: Mapped[date | None]
    latest: Mapped[date | None]
    note: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting | booked | removed
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    patient: Mapped[Patient] = relationship(lazy="raise")


class WaitlistOffer(IdMixin, TimestampMixin, Base):
    """One freed time offered to one waiting patient by email; the first offer of a time claimed wins."""

    __tablename__ = "waitlist_offer"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("waitlist_entry.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioner.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("location.id"))
    service_type: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    expires_at: Mapped[datetime]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # SHA-256 of the emailed link's token
    sent_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | claimed | taken | withdrawn
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))

    entry: Mapped[WaitlistEntry] = relationship(lazy="raise")
