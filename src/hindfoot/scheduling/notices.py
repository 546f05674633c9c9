"""What an e-mail about one appointment says (confirmed, moved, cancelled, reminder).

Built from rows here; sent without the database by :mod:`hindfoot.scheduling.notifications`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.db.models import (
    Appointment,
    Location,
    Organization,
    Patient,
    Practitioner,
    UserAccount,
)
from hindfoot.scheduling.clinic import service_named


@dataclass(frozen=True)
class AppointmentNotice:
    """Everything an e-mail about one appointment says; built from rows, sent without the DB."""

    kind: str  # confirmed | rescheduled | cancelled | reminder
    appointment_id: uuid.UUID
    to_email: str | None
    patient_name: str
    service_name: str
    practitioner_name: str
    location_name: str
    location_address: str
    start: datetime
    end: datetime
    timezone: str
    sequence: int
    clinic_name: str
    clinic_email: str | None
    clinic_phone: str | None


def notice_for(db: Session, appt: Appointment, kind: str) -> AppointmentNotice:
    patient = db.get(Patient, appt.patient_id)
    practitioner = db.get(Practitioner, appt.practitioner_id)
    location = db.get(Location, appt.location_id)
    assert patient is not None and practitioner is not None and location is not None
    org = db.get(Organization, patient.organization_id)
    assert org is not None
    email = patient.email or db.scalar(select(UserAccount.email).where(UserAccount.patient_id == patient.id))
    if patient.erased_at is not None:  # an erased patient's account keeps only an undeliverable address
        email = None
    svc = service_named(db, org.id, appt.service_type)
    # A cancellation goes out with the sequence it had before cancelling; build_cancellation bumps it.
    sequence = appt.ical_sequence - 1 if kind == "cancelled" else appt.ical_sequence
    return AppointmentNotice(
        kind=kind, appointment_id=appt.id, to_email=email, patient_name=patient.display_name,
        service_name=svc.name if svc else appt.service_type, practitioner_name=practitioner.display_name,
        location_name=location.name,
        location_address=", ".join(p for p in (location.address_line, location.city, location.postcode) if p),
        start=appt.start, end=appt.end, timezone=org.timezone, sequence=max(sequence, 0),
        clinic_name=org.name, clinic_email=org.email, clinic_phone=org.phone,
    )
