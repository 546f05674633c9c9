"""A booking's calendar (one clinician at one place) is read by the driver itself on PostgreSQL: the same
rows, values and types as SQLAlchemy's reading of the same statement, so the checks decide alike."""

from __future__ import annotations

from datetime import timedelta

from booking_helpers import at, future_day, make_clinic
from factories import make_patient
from sqlalchemy.orm import Session

from hindfoot.db.models import Appointment, AvailabilityException, AvailabilityRule, Schedule
from hindfoot.scheduling import clinic as clinic_module


def test_the_one_clinician_calendar_reads_the_same_rows_either_way(db: Session) -> None:
    c = make_clinic(db)
    day = future_day(12)
    patient = make_patient(db, c.org)
    sched = Schedule(practitioner_id=c.surgeon.id, location_id=c.marylebone.id)
    db.add(sched)
    db.flush()
    db.add(AvailabilityRule(schedule_id=sched.id, weekday=day.weekday(), start_time=at(day, "19:00").time(),
                            end_time=at(day, "20:00").time(), services=["consult", "review"],
                            valid_from=day - timedelta(days=3), valid_to=day + timedelta(days=3)))
    db.add_all([
        AvailabilityException(practitioner_id=c.surgeon.id, start=at(day, "11:00"), end=at(day, "12:00"),
                              reason="teaching"),
        AvailabilityException(location_id=c.marylebone.id, start=at(day, "12:30"), end=at(day, "13:00"),
                              reason="fire drill"),
        AvailabilityException(location_id=c.city.id, start=at(day, "09:00"), end=at(day, "10:00")),  # elsewhere
    ])
    for hhmm, status in (("09:00", "booked"), ("09:30", "cancelled"), ("10:00", "arrived")):
        db.add(Appointment(patient_id=patient.id, practitioner_id=c.surgeon.id, location_id=c.city.id,
                           service_type="consult", status=status, start=at(day, hhmm),
                           end=at(day, hhmm) + timedelta(minutes=30)))
    db.flush()
    lo, hi = clinic_module._utc_bounds(clinic_module.ZoneInfo(c.org.timezone), day, day)
    params = {"first": day, "last": day, "lo": lo, "hi": hi, "pid": c.surgeon.id, "lid": c.marylebone.id}

    direct = clinic_module._calendar_rows(db, clinic_module._CALENDAR_ONE, params)
    via_orm = db.execute(clinic_module._CALENDAR_ONE, params).all()
    # repr: the same values of the same types (a timestamp's zone included)
    assert sorted(repr(tuple(r)) for r in direct) == sorted(repr(tuple(r)) for r in via_orm)
    kinds = sorted(r[0] for r in direct)
    assert (kinds.count(0), kinds.count(1), kinds.count(2)) == (8, 2, 2)  # 7 weekly rules + 1 dated; leave, closure; live


def test_an_appointment_added_but_not_flushed_is_in_the_calendar(db: Session) -> None:
    """As SQLAlchemy's execute would, the driver's read flushes the session first (autoflush)."""
    c = make_clinic(db)
    day = future_day(12)
    patient = make_patient(db, c.org)
    db.flush()
    db.add(Appointment(patient_id=patient.id, practitioner_id=c.physio.id, location_id=c.marylebone.id,
                       service_type="physiotherapy", status="booked", start=at(day, "10:00"),
                       end=at(day, "10:45")))
    calendar = clinic_module.clinician_calendar(db, clinic_module.ZoneInfo(c.org.timezone), day, c.physio.id,
                                                c.physio.role, c.marylebone.id, (at(day, "09:00"), at(day, "11:00")))
    assert [b.start for b in calendar.bookings] == [at(day, "10:00")]
