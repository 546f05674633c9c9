"""A small stored clinic for the booking tests: three locations, a surgeon, a physio, a nurse.

Every rule runs all week so tests do not depend on today's weekday. A plain module, not a
conftest, so tests import its names explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from factories import make_account, make_org, make_patient, make_practitioner
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import (
    AvailabilityRule,
    Location,
    Organization,
    Patient,
    Practitioner,
    Schedule,
    UserAccount,
)

LONDON = ZoneInfo("Europe/London")


@dataclass
class Clinic:
    org: Organization
    marylebone: Location
    city: Location
    fitzrovia: Location
    surgeon: Practitioner
    physio: Practitioner
    nurse: Practitioner
    admin: UserAccount
    clinician: UserAccount


def _rules(db: Session, prac: Practitioner, loc: Location, start: str, end: str) -> None:
    sched = Schedule(practitioner_id=prac.id, location_id=loc.id)
    db.add(sched)
    db.flush()
    for wd in range(7):
        db.add(AvailabilityRule(schedule_id=sched.id, weekday=wd, start_time=time.fromisoformat(start),
                                end_time=time.fromisoformat(end), services=[]))
    db.flush()


def make_clinic(db: Session) -> Clinic:
    org = make_org(db)
    org.email, org.phone = "clinic@example.org", "020 7946 0000"
    locs = []
    for name in ("Marylebone", "City", "Fitzrovia"):
        loc = Location(organization_id=org.id, name=name, address_line=f"1 {name} Street", city="London",
                       postcode="W1 1AA")
        db.add(loc)
        locs.append(loc)
    db.flush()
    surgeon = make_practitioner(db, org, "surgeon", family="Whitlock")
    physio = make_practitioner(db, org, "physiotherapist", family="Ellis")
    nurse = make_practitioner(db, org, "nurse", family="Nightingale")
    _rules(db, surgeon, locs[0], "09:00", "13:00")
    _rules(db, surgeon, locs[1], "14:00", "18:00")
    _rules(db, physio, locs[0], "08:00", "16:00")
    _rules(db, nurse, locs[2], "08:00", "12:00")
    admin = make_account(db, org, "admin")
    clinician = make_account(db, org, "clinician", practitioner=surgeon)
    return Clinic(org, *locs, surgeon, physio, nurse, admin, clinician)


def patient_with_account(db: Session, clinic: Clinic, given: str = "Ada") -> tuple[Patient, UserAccount]:
    patient = make_patient(db, clinic.org, given=given)
    account = make_account(db, clinic.org, "patient", patient=patient, email=patient.email)
    return patient, account


def actor(account: UserAccount) -> Actor:
    return Actor.from_account(account)


def future_day(offset_days: int = 10) -> date:
    return date.today() + timedelta(days=offset_days)


def at(day: date, hhmm: str) -> datetime:
    """A London wall-clock time on ``day`` as a UTC instant."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=LONDON).astimezone(UTC)
