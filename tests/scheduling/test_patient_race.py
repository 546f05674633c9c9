"""One patient, two front-desk users, two clinicians, overlapping times, at the same moment (PostgreSQL).

Each booking locks its clinician's diary; without a lock on the patient too, two bookings of one
patient with two different clinicians never wait for each other, neither re-check sees the other's
uncommitted appointment, and both are inserted. The tests make the race deterministic: the first
booking is made and held uncommitted, the second runs in another session and thread; once the second
has either finished or is seen waiting for an advisory lock in this database (pg_locks), the first
commits. Exactly one must win; the other gets 409 naming the patient's appointment in the way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from booking_helpers import Clinic, actor, at, future_day, make_clinic, patient_with_account
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.db.models import Appointment, Patient
from hindfoot.errors import Conflict, HindfootError
from hindfoot.scheduling import booking, series

pytestmark = pytest.mark.postgres


@pytest.fixture
def booked(db: Session) -> tuple[Clinic, Patient]:
    clinic = make_clinic(db)
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    return clinic, patient


def _race(engine: Engine, session_factory: sessionmaker[Session],
          first: Callable[[Session], object], second: Callable[[Session], object]) -> HindfootError | None:
    """Run `first` in one session and leave it uncommitted; run `second` in another thread and session,
    commit `first` once `second` is done or waits for a lock, then let `second` commit. What `second`
    was refused with (None: it succeeded)."""
    outcome: dict[str, object] = {}

    def run_second() -> None:
        with session_factory() as s:
            try:
                second(s)
                s.commit()
                outcome["error"] = None
            except HindfootError as exc:
                s.rollback()
                outcome["error"] = exc

    with session_factory() as s1:
        first(s1)
        s1.flush()
        thread = threading.Thread(target=run_second, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while thread.is_alive():
            with engine.connect() as probe:
                waiting = probe.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))
            if waiting:
                break
            assert time.monotonic() < deadline, "the second booking neither finished nor waited"
            time.sleep(0.01)
        s1.commit()
    thread.join(20)
    assert not thread.is_alive()
    error = outcome["error"]
    assert error is None or isinstance(error, HindfootError)
    return error


def _live(db: Session, patient: Patient, day: date) -> list[tuple[object, object]]:
    db.expire_all()
    return [tuple(r) for r in db.execute(
        select(Appointment.practitioner_id, Appointment.start)
        .where(Appointment.patient_id == patient.id, Appointment.status == "booked",
               func.date(Appointment.start) >= day)
        .order_by(Appointment.start)).all()]


def _assert_refused_for_the_patient(error: HindfootError | None, hhmm_from: str, hhmm_to: str) -> None:
    assert isinstance(error, Conflict), f"both bookings of one patient succeeded: {error!r}"
    assert error.status_code == 409 and error.field == "start"
    body = error.to_dict()
    assert body["error"] == "conflict" and body["field"] == "start"
    assert "the patient already has an appointment" in error.message
    assert f"{hhmm_from} to " in error.message and hhmm_to in error.message


def _with_surgeon(clinic: Clinic, patient: Patient, day: date, hhmm: str) -> Callable[[Session], object]:
    """A desk booking `patient` with the surgeon at Marylebone at `hhmm` (a 30-minute new consultation)."""
    desk = actor(clinic.admin)

    def book(s: Session) -> object:
        return booking.book_appointment(s, desk, service="new_consultation", practitioner_id=clinic.surgeon.id,
                                        location_id=clinic.marylebone.id, start=at(day, hhmm), patient_id=patient.id)

    return book


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_one_patient_two_clinicians_same_moment_one_wins(engine, session_factory, db, booked):
    clinic, patient = booked
    day = future_day(11)
    desk = actor(clinic.admin)

    with_surgeon = _with_surgeon(clinic, patient, day, "10:00")  # 10:00-10:30

    def with_physio(s: Session) -> object:  # 10:15-11:00, overlapping
        return booking.book_appointment(s, desk, service="physiotherapy", practitioner_id=clinic.physio.id,
                                        location_id=clinic.marylebone.id, start=at(day, "10:15"),
                                        patient_id=patient.id)

    error = _race(engine, session_factory, with_surgeon, with_physio)
    _assert_refused_for_the_patient(error, "10:00", "10:30")
    assert _live(db, patient, day) == [(clinic.surgeon.id, at(day, "10:00"))]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_move_onto_the_patients_other_clinician_time_waits_and_is_refused(engine, session_factory, db, booked):
    clinic, patient = booked
    day = future_day(11)
    desk = actor(clinic.admin)
    later = booking.book_appointment(db, desk, service="physiotherapy", practitioner_id=clinic.physio.id,
                                     location_id=clinic.marylebone.id, start=at(day, "14:00"), patient_id=patient.id)
    db.commit()

    with_surgeon = _with_surgeon(clinic, patient, day, "11:00")  # 11:00-11:30

    def move_physio(s: Session) -> object:  # 14:00 -> 11:15-12:00, overlapping
        return booking.reschedule_appointment(s, desk, later.id, start=at(day, "11:15"))

    error = _race(engine, session_factory, with_surgeon, move_physio)
    _assert_refused_for_the_patient(error, "11:00", "11:30")
    assert _live(db, patient, day) == [(clinic.surgeon.id, at(day, "11:00")), (clinic.physio.id, at(day, "14:00"))]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_series_and_a_booking_of_one_patient_at_once(engine, session_factory, db, booked):
    clinic, patient = booked
    day = future_day(11)
    desk = actor(clinic.admin)

    with_surgeon = _with_surgeon(clinic, patient, day, "10:00")  # 10:00-10:30

    def dressings(s: Session) -> object:  # with the nurse at Fitzrovia, 10:00 on three days from `day`
        return series.book_series(s, desk, patient_id=patient.id, service="nurse_dressing",
                                  practitioner_id=clinic.nurse.id, location_id=clinic.fitzrovia.id,
                                  first=at(day, "10:00"), every_days=1, count=3)

    error = _race(engine, session_factory, with_surgeon, dressings)
    assert isinstance(error, Conflict) and "the patient already has an appointment" in error.message
    assert _live(db, patient, day) == [(clinic.surgeon.id, at(day, "10:00"))]
