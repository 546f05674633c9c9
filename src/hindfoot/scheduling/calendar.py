"""The staff diary: a day or week of openings and appointments, and no-show counts."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.models import Appointment, Location, Patient, Practitioner
from hindfoot.errors import InvalidInput
from hindfoot.scheduling.clinic import clinic_for, load_calendar


@dataclass
class CalendarDay:
    day: date
    windows: list[tuple[datetime, datetime, Practitioner, Location]] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class CalendarView:
    first: date
    last: date
    zone: ZoneInfo
    days: list[CalendarDay]
    practitioners: dict[uuid.UUID, Practitioner]
    locations: dict[uuid.UUID, Location]
    patients: dict[uuid.UUID, Patient]


def calendar_view(
    db: Session,
    actor: Actor,
    first: date,
    days: int = 7,
    *,
    location_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
) -> CalendarView:
    """A day or week of the diary for one location or one practitioner (or everyone)."""
    require_front_desk(actor)
    if not 1 <= days <= 31:
        raise InvalidInput("show 1 to 31 days", field="days")
    org = clinic_for(db, actor)
    last = first + timedelta(days=days - 1)
    data = load_calendar(db, org, first, last, practitioner_ids=[practitioner_id] if practitioner_id else None)
    zone = data.zone
    lo = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    q = (
        select(Appointment, Patient)
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(Patient.organization_id == org.id, Appointment.start >= lo, Appointment.start < hi)
        .order_by(Appointment.start, Appointment.id)
    )
    if location_id:
        q = q.where(Appointment.location_id == location_id)
    if practitioner_id:
        q = q.where(Appointment.practitioner_id == practitioner_id)
    rows = db.execute(q).all()
    by_day = {first + timedelta(days=i): CalendarDay(first + timedelta(days=i)) for i in range(days)}
    patients: dict[uuid.UUID, Patient] = {}
    for appt, patient in rows:
        patients[patient.id] = patient
        d = appt.start.astimezone(zone).date()
        if d in by_day:
            by_day[d].appointments.append(appt)
    for rule in data.calendar.rules:
        if location_id and rule.location_id != location_id:
            continue
        if practitioner_id and rule.practitioner_id != practitioner_id:
            continue
        for d, cd in by_day.items():
            if rule.weekday == d.weekday() and rule.valid_on(d):
                cd.windows.append((
                    datetime.combine(d, rule.start, tzinfo=zone), datetime.combine(d, rule.end, tzinfo=zone),
                    data.practitioners[rule.practitioner_id], data.locations[rule.location_id],  # type: ignore[index]
                ))
    for cd in by_day.values():
        cd.windows.sort(key=lambda w: (w[0], w[2].family_name))
    audit.record(db, actor, audit.READ, "Appointment",
                 description=f"calendar {first.isoformat()} +{days}d: {len(rows)} appointments")
    return CalendarView(first, last, zone, list(by_day.values()), data.practitioners, data.locations, patients)


@dataclass
class NoShowStats:
    by_patient: list[tuple[Patient, int, int]]  # patient, no-shows, cancellations
    by_practitioner: list[tuple[Practitioner, int, int]]


def no_show_stats(db: Session, actor: Actor, *, limit: int = 50) -> NoShowStats:
    """No-show and cancellation counts per patient and per clinician, most no-shows first."""
    require_front_desk(actor)
    rows = db.execute(
        select(Appointment.patient_id, Appointment.practitioner_id, Appointment.status, func.count())
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(Patient.organization_id == actor.organization_id, Appointment.status.in_(("noshow", "cancelled")))
        .group_by(Appointment.patient_id, Appointment.practitioner_id, Appointment.status)
    ).all()
    pat: Counter[tuple[uuid.UUID, str]] = Counter()
    prac: Counter[tuple[uuid.UUID, str]] = Counter()
    for pid, rid, status, n in rows:
        pat[(pid, status)] += n
        prac[(rid, status)] += n
    patient_ids = {k[0] for k in pat}
    practitioner_ids = {k[0] for k in prac}
    patients = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(patient_ids)))} if patient_ids else {}
    practitioners = (
        {p.id: p for p in db.scalars(select(Practitioner).where(Practitioner.id.in_(practitioner_ids)))}
        if practitioner_ids else {}
    )
    by_patient = sorted(
        ((patients[i], pat[(i, "noshow")], pat[(i, "cancelled")]) for i in patient_ids),
        key=lambda t: (-t[1], -t[2], t[0].family_name),
    )[:limit]
    by_practitioner = sorted(
        ((practitioners[i], prac[(i, "noshow")], prac[(i, "cancelled")]) for i in practitioner_ids),
        key=lambda t: (-t[1], -t[2], t[0].family_name),
    )
    audit.record(db, actor, audit.READ, "Appointment", description="no-show and cancellation counts")
    return NoShowStats(by_patient, by_practitioner)
