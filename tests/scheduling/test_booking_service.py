"""The booking service on a stored clinic: search, book, refuse with reasons, move, cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from booking_helpers import LONDON, actor, at, future_day, make_clinic, patient_with_account
from sqlalchemy import event, func, select

from hindfoot.db.models import (
    Appointment,
    AuditEvent,
    AvailabilityException,
    CarePlan,
    CarePlanActivity,
    UserAccount,
)
from hindfoot.errors import AccessDenied, Conflict, Forbidden, InvalidInput, NotFound
from hindfoot.scheduling import booking, guards, registration, rota, series
from hindfoot.scheduling import calendar as diary
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.availability import SlotUnavailable


@pytest.fixture
def clinic(db):
    c = make_clinic(db)
    db.commit()
    return c


def test_search_spans_all_locations_and_narrows(db, clinic):
    _, slots = slot_search.search_slots(db, None, "new_consultation", limit=200)
    assert {o.location.name for o in slots} == {"Marylebone", "City"}
    assert all(o.practitioner.id == clinic.surgeon.id for o in slots)
    assert slots == sorted(slots, key=lambda o: o.slot.start)
    assert slots[0].slot.start >= datetime.now(UTC) + guards.PATIENT_MIN_NOTICE
    _, city = slot_search.search_slots(db, None, "new_consultation", location_id=clinic.city.id, limit=5)
    assert {o.location.name for o in city} == {"City"}
    for o in city:  # 14:00-18:00 London wall clock, whatever the season
        assert 14 <= o.local_start.hour < 18
        assert o.local_start.tzinfo is not None and o.local_start.utcoffset() == o.local_start.astimezone(LONDON).utcoffset()
    _, physio = slot_search.search_slots(db, None, "physiotherapy", practitioner_id=clinic.physio.id, limit=3)
    assert [o.practitioner.id for o in physio] == [clinic.physio.id] * 3


def test_search_loads_one_query_per_table(db, clinic, engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        slot_search.search_slots(db, None, "physiotherapy", start_date=future_day(), days=31, limit=500)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # organization, the clinic's services, practitioners, locations, then rules + exceptions + appointments
    # for the whole month in one UNION ALL
    assert len(statements) <= 5, statements


def test_booking_reads_its_calendar_in_one_query(db, clinic, engine, monkeypatch):
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    kwargs = dict(service="physiotherapy", practitioner_id=clinic.physio.id, location_id=clinic.marylebone.id,
                  patient_id=patient.id)
    booking.book_appointment(db, actor(clinic.admin), start=at(future_day(), "09:00"), **kwargs)
    db.commit()  # the first audited write of a fresh database also starts the chain's head row
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    driver_execute = psycopg.Connection.execute

    def count_driver(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(str(query))  # what the service sends by the driver itself (PostgreSQL)
        return driver_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", count_driver)
    event.listen(engine, "before_cursor_execute", count)
    try:
        booking.book_appointment(db, actor(clinic.admin), start=at(future_day(), "10:00"), **kwargs)
        db.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # parties, services, calendar, lock, re-check, insert; at commit the audit chain head (lock, move)
    # and the audit event
    assert len([s for s in statements if "pg_advisory_xact_lock" not in s]) <= 9, "\n".join(s[:90] for s in statements)
    assert sum("availability_rule" in s for s in statements) == 1, statements


def test_the_loser_of_a_race_is_told_which_booking_took_the_time(db, clinic):
    """What the re-check under the clinician's lock finds when a booking was committed after this one's
    full check: the clinician's appointment in the way (named, 409 slot_taken), or the patient's own.
    On PostgreSQL the lock and the re-check go in one pipelined round trip."""
    first, _ = patient_with_account(db, clinic)
    second, _ = patient_with_account(db, clinic, "Bea")
    day = future_day()
    kwargs = dict(service="physiotherapy", practitioner_id=clinic.physio.id, location_id=clinic.marylebone.id)
    taken = booking.book_appointment(db, actor(clinic.admin), start=at(day, "10:00"), patient_id=first.id, **kwargs)
    db.commit()
    with pytest.raises(SlotUnavailable) as err:  # 10:30-11:15 against 10:00-10:45, the physio's
        guards.lock_and_recheck(db, clinic.org, [clinic.physio.id], clinic.physio, second.id, at(day, "10:30"),
                                at(day, "11:15"))
    assert err.value.code == "slot_taken" and err.value.status_code == 409
    assert err.value.booking_id == taken.id
    local = taken.start.astimezone(LONDON).strftime("%H:%M")
    assert f"{local} to " in err.value.message
    with pytest.raises(Conflict) as clash:  # the same patient with the surgeon at the same time
        guards.lock_and_recheck(db, clinic.org, [clinic.surgeon.id], clinic.surgeon, first.id, at(day, "10:15"),
                                at(day, "10:45"))
    assert "patient already has an appointment" in clash.value.message
    assert f"from {taken.start.astimezone(LONDON).strftime('%a %d %b %Y %H:%M')} to " in clash.value.message
    # Nothing in the way: no error; a moved appointment does not clash with itself.
    guards.lock_and_recheck(db, clinic.org, [clinic.physio.id], clinic.physio, second.id, at(day, "11:00"),
                            at(day, "11:45"))
    guards.lock_and_recheck(db, clinic.org, [clinic.physio.id, clinic.surgeon.id], clinic.physio, first.id,
                            at(day, "10:15"), at(day, "11:00"), ignore=[taken.id])
    db.rollback()


def test_book_then_taken_and_overlap_refused(db, clinic):
    patient, account = patient_with_account(db, clinic)
    other, other_account = patient_with_account(db, clinic, "Bea")
    day = future_day()
    appt = booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                                    location_id=clinic.marylebone.id, start=at(day, "10:00"))
    db.commit()
    assert appt.status == "booked" and appt.end - appt.start == timedelta(minutes=30)
    assert appt.patient_id == patient.id
    for start in ("10:00", "10:15"):  # same start, and an overlapping different start
        with pytest.raises(SlotUnavailable) as err:
            booking.book_appointment(db, actor(other_account), service="new_consultation",
                                     practitioner_id=clinic.surgeon.id, location_id=clinic.marylebone.id,
                                     start=at(day, start))
        assert err.value.code == "slot_taken" and err.value.status_code == 409
        db.rollback()
    # The surgeon is one person: booked at Marylebone means busy at the City too.
    _, free = slot_search.search_slots(db, None, "new_consultation", start_date=day, days=1, limit=100)
    assert at(day, "10:00") not in {o.slot.start for o in free}
    audits = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "Appointment"))
    assert audits == 1


@pytest.mark.parametrize(
    ("service_code", "start", "code", "status"),
    [
        ("new_consultation", "08:00", "outside_availability", 409),  # before opening
        ("physiotherapy", "10:00", "service_not_provided", 422),  # a surgeon does not do physio
        ("new_consultation", "12:45", "outside_availability", 409),  # runs past closing
    ],
)
def test_bad_times_are_refused_with_the_reason(db, clinic, service_code, start, code, status):
    _, account = patient_with_account(db, clinic)
    with pytest.raises(SlotUnavailable) as err:
        booking.book_appointment(db, actor(account), service=service_code, practitioner_id=clinic.surgeon.id,
                                 location_id=clinic.marylebone.id, start=at(future_day(), start))
    assert err.value.code == code and err.value.status_code == status


def test_past_leave_and_closure(db, clinic):
    _, account = patient_with_account(db, clinic)
    day = future_day()
    kwargs = dict(service="new_consultation", practitioner_id=clinic.surgeon.id, location_id=clinic.marylebone.id)
    with pytest.raises(SlotUnavailable) as err:
        booking.book_appointment(db, actor(account), start=at(day - timedelta(days=20), "10:00"), **kwargs)
    assert err.value.code == "slot_in_past"
    db.add(AvailabilityException(practitioner_id=clinic.surgeon.id, start=at(day, "00:00"),
                                 end=at(day + timedelta(days=1), "00:00"), reason="annual leave"))
    db.add(AvailabilityException(location_id=clinic.marylebone.id, start=at(day + timedelta(days=1), "00:00"),
                                 end=at(day + timedelta(days=2), "00:00"), reason="building works"))
    db.commit()
    with pytest.raises(SlotUnavailable) as err:
        booking.book_appointment(db, actor(account), start=at(day, "10:00"), **kwargs)
    assert err.value.code == "practitioner_on_leave" and "annual leave" in err.value.message
    with pytest.raises(SlotUnavailable) as err:
        booking.book_appointment(db, actor(account), start=at(day + timedelta(days=1), "10:00"), **kwargs)
    assert err.value.code == "location_closed"


def test_patients_book_only_for_themselves(db, clinic):
    _, account = patient_with_account(db, clinic)
    other, _ = patient_with_account(db, clinic, "Bea")
    with pytest.raises(AccessDenied):
        booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                                 location_id=clinic.marylebone.id, start=at(future_day(), "10:00"),
                                 patient_id=other.id)
    with pytest.raises(InvalidInput) as err:
        booking.book_appointment(db, actor(clinic.admin), service="new_consultation",
                                 practitioner_id=clinic.surgeon.id, location_id=clinic.marylebone.id,
                                 start=at(future_day(), "10:00"))
    assert err.value.field == "patient_id"
    staff = booking.book_appointment(db, actor(clinic.admin), service="new_consultation",
                                     practitioner_id=clinic.surgeon.id, location_id=clinic.marylebone.id,
                                     start=at(future_day(), "10:00"), patient_id=other.id)
    assert staff.patient_id == other.id


def test_cancel_and_reschedule_respect_the_cutoff(db, clinic):
    _, account = patient_with_account(db, clinic)
    day = future_day()
    appt = booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                                    location_id=clinic.marylebone.id, start=at(day, "10:00"))
    db.commit()
    late = at(day, "10:00") - timedelta(hours=3)
    with pytest.raises(Conflict) as err:
        booking.cancel_appointment(db, actor(account), appt.id, cutoff=timedelta(hours=24), now=late)
    assert err.value.code == "cutoff_passed" and "24 hours" in err.value.message
    with pytest.raises(Conflict):
        booking.reschedule_appointment(db, actor(account), appt.id, start=at(day, "11:00"),
                                       cutoff=timedelta(hours=24), now=late)
    # Staff may still move it, and it cannot clash with itself (10:15 overlaps the old 10:00).
    moved = booking.reschedule_appointment(db, actor(clinic.admin), appt.id, start=at(day, "10:15"), now=late)
    assert moved.start == at(day, "10:15") and moved.ical_sequence == 1
    db.commit()
    moved = booking.reschedule_appointment(db, actor(account), appt.id, start=at(day, "15:00"),
                                           location_id=clinic.city.id)
    assert moved.location_id == clinic.city.id and moved.ical_sequence == 2
    cancelled = booking.cancel_appointment(db, actor(account), appt.id, reason="feeling better")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    db.commit()
    # A cancelled time is free again.
    _, again = patient_with_account(db, clinic, "Cy")
    booking.book_appointment(db, actor(again), service="new_consultation", practitioner_id=clinic.surgeon.id,
                             location_id=clinic.city.id, start=at(day, "15:00"))
    db.commit()


def test_no_show_tracking(db, clinic):
    patient, account = patient_with_account(db, clinic)
    past = datetime.now(UTC) - timedelta(days=2)
    appt = Appointment(patient_id=patient.id, practitioner_id=clinic.surgeon.id, location_id=clinic.marylebone.id,
                       service_type="follow_up", start=past, end=past + timedelta(minutes=15))
    db.add(appt)
    db.commit()
    with pytest.raises(Forbidden):
        booking.mark_no_show(db, actor(account), appt.id)
    booking.mark_no_show(db, actor(clinic.admin), appt.id)
    with pytest.raises(Conflict):
        booking.mark_no_show(db, actor(clinic.admin), appt.id)
    stats = diary.no_show_stats(db, actor(clinic.admin))
    assert [(p.id, n, c) for p, n, c in stats.by_patient] == [(patient.id, 1, 0)]
    assert [(p.id, n) for p, n, _ in stats.by_practitioner] == [(clinic.surgeon.id, 1)]


def test_series_from_recovery_plan_and_overlap_refused(db, clinic):
    patient, _ = patient_with_account(db, clinic)
    start = future_day(5)
    plan = CarePlan(patient_id=patient.id, title="Recovery after arthroscopy", kind="recovery", period_start=start)
    db.add(plan)
    db.flush()
    db.add(CarePlanActivity(care_plan_id=plan.id, code="dressings_every_other_day", title="Dressings",
                            earliest=start, typical=start + timedelta(days=8), latest=start + timedelta(days=10)))
    db.commit()
    admin = actor(clinic.admin)
    default = series.series_default(db, admin, patient.id)
    assert default is not None and default.service == "nurse_dressing" and default.every_days == 2
    first = datetime.combine(default.first, datetime.min.time().replace(hour=9))
    kwargs = dict(patient_id=patient.id, service="nurse_dressing", practitioner_id=clinic.nurse.id,
                  location_id=clinic.fitzrovia.id)
    appts = series.book_series(db, admin, first=first, every_days=2, until=default.until, **kwargs)
    db.commit()
    assert len(appts) == 6 and len({a.series_id for a in appts}) == 1
    assert [a.start.astimezone(LONDON).hour for a in appts] == [9] * 6
    # A second series over the same mornings clashes, and nothing of it is written.
    with pytest.raises(SlotUnavailable) as err:
        series.book_series(db, admin, first=first + timedelta(minutes=10), every_days=1, count=3, **kwargs)
    assert err.value.code == "slot_taken" and "Occurrence 1" in err.value.message
    db.rollback()
    # A series whose own appointments overlap (every 0 days is refused by the schema; here: weekly
    # with a 20-minute visit outside opening hours) names the problem too.
    with pytest.raises(SlotUnavailable) as err:
        series.book_series(db, admin, first=first.replace(hour=13), weekdays=[0, 2], count=2, **kwargs)
    assert err.value.code == "outside_availability"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Appointment)) == 6


def test_register_patient(db, clinic):
    account = registration.register_patient(db, given_name="Nia", family_name="Brown", birth_date=datetime(1995, 5, 1).date(),
                                       sex="female", email="Nia@Example.org", password="long enough pw")
    db.commit()
    assert account.role == "patient" and account.email == "nia@example.org" and account.patient_id
    with pytest.raises(Conflict) as err:
        registration.register_patient(db, given_name="Nia", family_name="Brown", birth_date=datetime(1995, 5, 1).date(),
                                 sex="female", email="nia@example.org", password="long enough pw")
    assert err.value.field == "email"
    with pytest.raises(InvalidInput) as err:
        registration.register_patient(db, given_name="Nia", family_name="Brown", birth_date=datetime(1995, 5, 1).date(),
                                 sex="female", email="x@example.org", password="short")
    assert err.value.field == "password"
    assert db.scalar(select(func.count()).select_from(UserAccount).where(UserAccount.role == "patient")) == 1


def test_staff_rota_rules_and_exceptions(db, clinic):
    admin = actor(clinic.admin)
    rule = rota.add_rule(db, admin, practitioner_id=clinic.nurse.id, location_id=clinic.city.id, weekday=2,
                            start=datetime.min.time().replace(hour=13), end=datetime.min.time().replace(hour=17))
    with pytest.raises(InvalidInput) as err:
        rota.add_rule(db, admin, practitioner_id=clinic.nurse.id, location_id=clinic.city.id, weekday=2,
                         start=datetime.min.time().replace(hour=13), end=datetime.min.time().replace(hour=17),
                         services=["day_case_surgery"])
    assert err.value.field == "services"
    with pytest.raises(Forbidden):
        rota.add_rule(db, actor(clinic.clinician), practitioner_id=clinic.nurse.id, location_id=clinic.city.id,
                         weekday=2, start=datetime.min.time().replace(hour=13),
                         end=datetime.min.time().replace(hour=17))
    rules, _ = rota.list_rota(db, admin)
    assert rule.id in {r.id for r, _, _ in rules}
    rota.delete_rule(db, admin, rule.id)
    with pytest.raises(NotFound):
        rota.delete_rule(db, admin, uuid.uuid4())
    exc = rota.add_exception(db, admin, practitioner_id=clinic.surgeon.id, start=at(future_day(), "00:00"),
                                end=at(future_day(), "23:00"), reason="conference")
    _, exceptions = rota.list_rota(db, admin)
    assert [e.id for e in exceptions] == [exc.id]
    rota.delete_exception(db, admin, exc.id)
    db.commit()


def test_calendar_view(db, clinic):
    patient, account = patient_with_account(db, clinic)
    day = future_day()
    booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                             location_id=clinic.city.id, start=at(day, "15:00"))
    db.commit()
    view = diary.calendar_view(db, actor(clinic.admin), day, 1, location_id=clinic.city.id)
    assert len(view.days) == 1 and [a.patient_id for a in view.days[0].appointments] == [patient.id]
    assert {w[2].id for w in view.days[0].windows} == {clinic.surgeon.id}
    week = diary.calendar_view(db, actor(clinic.admin), day, 7, practitioner_id=clinic.physio.id)
    assert all(d.appointments == [] for d in week.days) and all(d.windows for d in week.days)
    with pytest.raises(Forbidden):
        diary.calendar_view(db, actor(account), day)
