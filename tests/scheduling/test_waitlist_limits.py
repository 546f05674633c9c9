"""What frees a time for the waitlist, and the offer limits as settings: a did-not-attend frees nothing (the
time has passed), a cancellation the same day offers the time, and HINDFOOT_WAITLIST_OFFER_COUNT / _HOURS
say how many waiting patients each freed time goes to and how long an offer stands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from booking_helpers import actor, at, future_day, make_clinic
from factories import make_patient
from sqlalchemy import select

from hindfoot.db.models import WaitlistOffer
from hindfoot.scheduling import booking, waitlist
from hindfoot.settings import Settings


@pytest.fixture
def offer_settings() -> Iterator[None]:
    yield
    waitlist.configure(Settings())  # back to the defaults for the next test


def _waiting(db, clinic, n: int) -> list:  # type: ignore[no-untyped-def]
    patients = [make_patient(db, clinic.org, given=f"Waiting{i}") for i in range(n)]
    for p in patients:
        waitlist.join(db, actor(clinic.admin), service="new_consultation", patient_id=p.id)
    return patients


def _booked(db, clinic, day, hhmm: str):  # type: ignore[no-untyped-def]
    holder = make_patient(db, clinic.org, given="Holder")
    return booking.book_appointment(db, actor(clinic.admin), service="new_consultation",
                                    practitioner_id=clinic.surgeon.id, location_id=clinic.city.id,
                                    start=at(day, hhmm), patient_id=holder.id, now=at(day, "07:00") - timedelta(days=3))


def test_a_same_day_cancellation_offers_the_time_a_did_not_attend_frees_nothing(db, offer_settings):
    waitlist.configure(Settings())
    clinic = make_clinic(db)
    day = future_day(5)
    _waiting(db, clinic, 4)
    missed = _booked(db, clinic, day, "14:00")
    cancelled = _booked(db, clinic, day, "16:00")
    db.flush()

    booking.mark_no_show(db, actor(clinic.admin), missed.id, now=at(day, "14:20"))
    assert db.scalars(select(WaitlistOffer)).all() == []  # its time has gone

    booking.cancel_appointment(db, actor(clinic.admin), cancelled.id, reason="called in the morning",
                               now=at(day, "10:00"))
    offers = db.scalars(select(WaitlistOffer)).all()
    assert len(offers) == 3 and {o.start for o in offers} == {at(day, "16:00")}  # the default: three patients
    # 12 hours would outlast the visit: the offer ends an hour before it (the patients' booking notice)
    assert {o.expires_at for o in offers} == {at(day, "15:00")}


def test_an_hour_before_the_visit_a_cancellation_offers_nothing(db, offer_settings):
    waitlist.configure(Settings())
    clinic = make_clinic(db)
    day = future_day(5)
    _waiting(db, clinic, 1)
    late = _booked(db, clinic, day, "15:00")
    booking.cancel_appointment(db, actor(clinic.admin), late.id, now=at(day, "14:10"))
    assert db.scalars(select(WaitlistOffer)).all() == []


def test_the_offer_count_and_hours_are_settings(db, offer_settings, monkeypatch):
    monkeypatch.setenv("HINDFOOT_WAITLIST_OFFER_COUNT", "2")
    monkeypatch.setenv("HINDFOOT_WAITLIST_OFFER_HOURS", "4")
    waitlist.configure(Settings())
    clinic = make_clinic(db)
    day = future_day(5)
    _waiting(db, clinic, 4)
    appt = _booked(db, clinic, day, "15:00")
    now = at(day, "07:00") - timedelta(days=2)
    booking.cancel_appointment(db, actor(clinic.admin), appt.id, now=now)
    offers = db.scalars(select(WaitlistOffer)).all()
    assert len(offers) == 2 and {o.expires_at for o in offers} == {now + timedelta(hours=4)}


@pytest.mark.parametrize(("name", "value"), [("HINDFOOT_WAITLIST_OFFER_COUNT", "0"),
                                             ("HINDFOOT_WAITLIST_OFFER_HOURS", "0"),
                                             ("HINDFOOT_WAITLIST_OFFER_HOURS", "a day")])
def test_an_unusable_offer_limit_is_refused_at_start_up(monkeypatch, name, value):
    from pydantic import ValidationError

    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("HINDFOOT_").lower()):
        Settings()
