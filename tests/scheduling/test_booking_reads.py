"""What a booking reads before it locks (issue 14): its clinic, patient, clinician and place as plain rows of
one query, checked with the same answers as the checks that load each row; and the clinician's calendar
around the one time asked for only, which must still see everything that overlaps it, by a second."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from booking_helpers import actor, at, future_day, make_clinic, patient_with_account
from factories import make_account, make_org, make_patient, make_practitioner
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import Appointment, AvailabilityException, Location, Patient
from hindfoot.errors import HindfootError
from hindfoot.scheduling import booking, guards
from hindfoot.scheduling.availability import SlotUnavailable
from hindfoot.scheduling.clinic import bookable_service, clinic_for


@pytest.fixture
def clinic(db):
    c = make_clinic(db)
    db.commit()
    return c


def _physio(db: Session, clinic, start, patient_id):  # type: ignore[no-untyped-def]
    return booking.book_appointment(db, actor(clinic.admin), service="physiotherapy", practitioner_id=clinic.physio.id,
                                    location_id=clinic.marylebone.id, start=start, patient_id=patient_id)


def test_the_check_sees_what_overlaps_by_a_second_and_lets_what_only_touches(db, clinic):
    """The physio works 08:00-16:00 at Marylebone; physiotherapy lasts 45 minutes."""
    day = future_day(9)
    patients = [make_patient(db, clinic.org, given=g) for g in ("Ada", "Bea", "Cy", "Di", "Ed", "Flo")]
    taken = _physio(db, clinic, at(day, "09:15"), patients[0].id)  # 09:15-10:00
    db.commit()
    with pytest.raises(SlotUnavailable) as err:  # 08:30:01-09:15:01 overlaps it by one second
        _physio(db, clinic, at(day, "08:30") + timedelta(seconds=1), patients[1].id)
    assert err.value.code == "slot_taken" and err.value.booking_id == taken.id
    db.rollback()
    with pytest.raises(SlotUnavailable) as err:  # 09:59:59 starts one second before it ends
        _physio(db, clinic, at(day, "10:00") - timedelta(seconds=1), patients[1].id)
    assert err.value.code == "slot_taken" and "09:15 to " in err.value.message
    db.rollback()
    _physio(db, clinic, at(day, "08:30"), patients[1].id)  # ends as it starts
    _physio(db, clinic, at(day, "10:00"), patients[2].id)  # starts as it ends
    db.commit()

    # The physio's leave from 12:00:01; and a closure of the place over days, around a later time.
    db.add(AvailabilityException(practitioner_id=clinic.physio.id, start=at(day, "12:00") + timedelta(seconds=1),
                                 end=at(day, "13:00"), reason="teaching"))
    db.add(AvailabilityException(location_id=clinic.marylebone.id, start=at(day + timedelta(days=2), "00:00"),
                                 end=at(day + timedelta(days=5), "00:00"), reason="building work"))
    db.commit()
    with pytest.raises(SlotUnavailable) as err:  # 11:16-12:01 against leave from 12:00:01
        _physio(db, clinic, at(day, "11:16"), patients[3].id)
    assert "teaching" in err.value.message
    db.rollback()
    _physio(db, clinic, at(day, "11:15"), patients[3].id)  # 11:15-12:00: before it
    db.commit()
    with pytest.raises(SlotUnavailable) as err:  # a day inside the closure
        _physio(db, clinic, at(day + timedelta(days=3), "10:00"), patients[4].id)
    assert "building work" in err.value.message
    db.rollback()

    # A booking of the physio at another place, overlapping by a second, is in the way too.
    db.add(Appointment(patient_id=patients[5].id, practitioner_id=clinic.physio.id, location_id=clinic.city.id,
                       service_type="physiotherapy", status="booked", start=at(day, "14:44:59"),
                       end=at(day, "15:30")))
    db.commit()
    with pytest.raises(SlotUnavailable) as err:
        _physio(db, clinic, at(day, "14:00"), patients[4].id)
    assert err.value.code == "slot_taken"
    db.rollback()
    assert _physio(db, clinic, at(day, "13:59:59"), patients[4].id).status == "booked"  # ends 14:44:59
    db.commit()


def _outcome(check) -> tuple[str, str, object, object]:  # type: ignore[no-untyped-def]
    try:
        check()
    except HindfootError as exc:
        return type(exc).__name__, str(exc), getattr(exc, "field", None), exc.status_code
    return "passed", "", None, None


def test_the_plain_row_checks_answer_as_the_row_by_row_checks(db, clinic):
    """booking_parties (one query, plain rows) refuses every bad booking exactly as resolve_patient,
    clinic_for, bookable_service, bookable_practitioner and active_location (each row loaded) do."""
    patient, account = patient_with_account(db, clinic)
    other = make_org(db, "Other clinic")
    stranger = make_patient(db, other, given="Zed")
    elsewhere = make_practitioner(db, other, "physiotherapist", family="Abroad")
    far = Location(organization_id=other.id, name="Far")
    shut = Location(organization_id=clinic.org.id, name="Shut", active=False)
    retired = make_practitioner(db, clinic.org, "physiotherapist", family="Retired")
    retired.active = False
    manager = make_practitioner(db, clinic.org, "manager", family="Office")
    db.add_all([far, shut])
    no_record = make_account(db, clinic.org, "patient")  # a patient account without a patient record
    db.commit()
    desk, own = actor(clinic.admin), actor(account)
    physio, here = clinic.physio.id, clinic.marylebone.id
    cases: list[tuple[Actor, uuid.UUID | None, str, uuid.UUID, uuid.UUID]] = [
        (desk, patient.id, "physiotherapy", physio, here),  # all well
        (own, None, "physiotherapy", physio, here),
        (own, patient.id, "physiotherapy", physio, here),
        (desk, None, "physiotherapy", physio, here),
        (desk, stranger.id, "physiotherapy", physio, here),
        (desk, uuid.uuid4(), "physiotherapy", physio, here),
        (own, stranger.id, "physiotherapy", physio, here),
        (actor(no_record), None, "physiotherapy", physio, here),
        (desk, patient.id, "no_such_service", physio, here),
        (desk, patient.id, "physiotherapy", elsewhere.id, here),
        (desk, patient.id, "physiotherapy", retired.id, here),
        (desk, patient.id, "physiotherapy", manager.id, here),
        (desk, patient.id, "physiotherapy", uuid.uuid4(), here),
        (desk, patient.id, "physiotherapy", physio, far.id),
        (desk, patient.id, "physiotherapy", physio, shut.id),
        (desk, patient.id, "physiotherapy", physio, uuid.uuid4()),
        (desk, stranger.id, "no_such_service", elsewhere.id, far.id),  # the first problem is named first
    ]
    answers = []
    for who, pid, service, prac, loc in cases:
        def row_by_row() -> None:
            guards.resolve_patient(db, who, pid)  # noqa: B023
            org = clinic_for(db, who)  # noqa: B023
            bookable_service(db, org, service)  # noqa: B023
            guards.bookable_practitioner(db, org, prac)  # noqa: B023
            guards.active_location(db, org, loc)  # noqa: B023

        def plain() -> None:
            parties = guards.booking_parties(db, who, service=service, patient_id=pid,  # noqa: B023
                                             practitioner_id=prac, location_id=loc)  # noqa: B023
            assert parties.practitioner.display_name == clinic.physio.display_name
            assert (parties.clinic.id, parties.clinic.timezone) == (clinic.org.id, clinic.org.timezone)

        expected = _outcome(row_by_row)
        db.rollback()
        got = _outcome(plain)
        db.rollback()
        assert got == expected, (who.role, pid, service, prac, loc)
        answers.append(expected[0])
    assert answers.count("passed") == 3 and {"AccessDenied", "InvalidInput"} <= set(answers)


def test_a_patient_added_in_the_same_transaction_is_booked_at_once(db, clinic):
    """As the ORM's own query would, the booking's first read writes what the session holds first (a
    patient registering while they book)."""
    new = Patient(id=uuid.uuid4(), organization_id=clinic.org.id, identifier="NEW-1", given_name="Nova", family_name="Early",
                  birth_date=date(1999, 5, 5), sex="female")
    db.add(new)  # not flushed
    appt = _physio(db, clinic, at(future_day(11), "09:00"), new.id)
    db.commit()
    assert db.get(Appointment, appt.id) is not None and appt.patient_id == new.id
