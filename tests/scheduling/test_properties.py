"""Property tests (hypothesis) for the slot search, the booking validators and the boundary's
date bounds: for any rota, leave, bookings and search window, at any date from 1900 to 2100
(daylight-saving changes included), every slot the search offers passes the validator that
guards booking, sits inside the window and after the notice, clashes with no booking, and is no
longer offered once booked; and the API's date types accept exactly the years 1900 to 2100."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sched_helpers import HARLEY, PHYSIO, ROLES, SURGEON, WIMBLEDON

from hindfoot.bounds import MAX_DATE, MIN_DATE, SaneAwareDatetime, SaneDate
from hindfoot.scheduling.availability import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    ClinicCalendar,
    find_slots,
    slot_problems,
)
from hindfoot.scheduling.catalogue import CATALOGUE, ServiceCode

pytestmark = pytest.mark.fuzz
CONSULT = CATALOGUE[ServiceCode.new_consultation]
PHYSIO_SESSION = CATALOGUE[ServiceCode.physiotherapy]
PEOPLE = (SURGEON, PHYSIO)
PLACES = (HARLEY, WIMBLEDON)
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "UTC")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rules(draw: st.DrawFn) -> list[AvailabilityRule]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        start_h = draw(st.integers(0, 20))
        end_h = draw(st.integers(start_h + 1, 23))
        out.append(AvailabilityRule(draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(PLACES)),
                                    draw(st.integers(0, 6)), time(start_h, draw(st.sampled_from((0, 15, 30)))),
                                    time(end_h, draw(st.sampled_from((0, 30, 59))))))
    return out


@st.composite
def scenario(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    zone = draw(st.sampled_from(ZONES))
    # Any day from 1900 to 2100, often near the spring and autumn clock changes.
    year = draw(st.integers(1900, 2099))
    first = draw(st.one_of(st.dates(date(year, 1, 1), date(year, 12, 15)),
                           st.sampled_from([date(year, 3, 24), date(year, 10, 25), date(year, 11, 1)])))
    days = draw(st.integers(1, 10))
    lo = datetime.combine(first, time(0), tzinfo=UTC)
    bookings, exceptions = [], []
    for _ in range(draw(st.integers(0, 6))):
        start = lo + timedelta(minutes=15 * draw(st.integers(0, days * 96)))
        bookings.append(Booking(start, start + timedelta(minutes=draw(st.sampled_from((15, 30, 45, 90)))),
                                practitioner_id=draw(st.sampled_from(PEOPLE))))
    for _ in range(draw(st.integers(0, 2))):
        start = lo + timedelta(hours=draw(st.integers(0, days * 24)))
        exceptions.append(AvailabilityException(start, start + timedelta(hours=draw(st.integers(1, 30))),
                                                practitioner_id=draw(st.sampled_from((*PEOPLE, None))),
                                                location_id=draw(st.sampled_from((*PLACES, None)))))
    calendar = ClinicCalendar(timezone=zone, practitioners=ROLES, rules=draw(rules()),
                              exceptions=exceptions, bookings=bookings)
    now = lo + timedelta(hours=draw(st.integers(-48, 48)))
    notice = timedelta(hours=draw(st.sampled_from((0, 2, 24))))
    service = draw(st.sampled_from((CONSULT, PHYSIO_SESSION)))
    return calendar, service, first, first + timedelta(days=days - 1), now, notice


@FAST
@given(scenario())
def test_every_offered_slot_passes_the_booking_validator(case) -> None:  # type: ignore[no-untyped-def]
    calendar, service, first, last, now, notice = case
    slots = find_slots(calendar, service, start_date=first, end_date=last, now=now, min_notice=notice)
    assert slots == sorted(slots, key=lambda s: s.start)
    for s in slots:
        assert slot_problems(calendar, service, practitioner_id=s.practitioner_id, location_id=s.location_id,
                             start=s.start, now=now, min_notice=notice) == [], s
        assert s.start >= now + notice
        assert first <= s.start.astimezone(calendar.zone).date() <= last
        assert s.end - s.start == timedelta(minutes=service.duration_minutes)
        for b in calendar.bookings:
            if b.practitioner_id == s.practitioner_id:
                assert s.end <= b.start or b.end <= s.start, (s, b)


@FAST
@given(scenario(), st.data())
def test_a_booked_slot_is_refused_and_no_longer_offered(case, data) -> None:  # type: ignore[no-untyped-def]
    calendar, service, first, last, now, notice = case
    slots = find_slots(calendar, service, start_date=first, end_date=last, now=now, min_notice=notice)
    if not slots:
        return
    taken = data.draw(st.sampled_from(slots))
    after = ClinicCalendar(timezone=calendar.zone, practitioners=ROLES, rules=calendar.rules,
                           exceptions=calendar.exceptions,
                           bookings=[*calendar.bookings, Booking(taken.start, taken.end,
                                                                 practitioner_id=taken.practitioner_id)])
    problems = slot_problems(after, service, practitioner_id=taken.practitioner_id, location_id=taken.location_id,
                             start=taken.start, now=now, min_notice=notice)
    assert problems, "the validator lets the same clinician be booked twice at once"
    again = find_slots(after, service, start_date=first, end_date=last, now=now, min_notice=notice)
    assert all(not (s.practitioner_id == taken.practitioner_id and s.start < taken.end and taken.start < s.end)
               for s in again)
    assert len(again) < len(slots)


@settings(max_examples=300, deadline=None)
@given(st.dates())
def test_boundary_dates_accept_exactly_1900_to_2100(day: date) -> None:
    adapter = TypeAdapter(SaneDate)
    if MIN_DATE <= day <= MAX_DATE:
        assert adapter.validate_python(day.isoformat()) == day
    else:
        with pytest.raises(ValidationError, match="from 1900 to 2100"):
            adapter.validate_python(day.isoformat())


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)))
def test_boundary_times_accept_exactly_1900_to_2100(when: datetime) -> None:
    adapter = TypeAdapter(SaneAwareDatetime)
    if 1900 <= when.year <= 2100:
        assert adapter.validate_python(when.isoformat()) == when
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(when.isoformat())
