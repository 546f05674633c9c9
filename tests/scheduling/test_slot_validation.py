"""Booking validators: each refusal carries a code, a message and the right HTTP status."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sched_helpers import CANARY, HARLEY, MONDAY, PHYSIO, SURGEON, local, make_calendar, weekdays

from hindfoot.errors import HindfootError
from hindfoot.scheduling.availability import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    ClinicCalendar,
    SlotProblem,
    SlotUnavailable,
    check_slot,
    ensure_bookable,
    slot_problems,
)
from hindfoot.scheduling.catalogue import CATALOGUE, Service, ServiceCode

CONSULT = CATALOGUE[ServiceCode.new_consultation]
NOW = local(MONDAY, 8)


def problems(
    calendar: ClinicCalendar,
    start: datetime,
    *,
    service: Service = CONSULT,
    practitioner_id: str = SURGEON,
    location_id: str = HARLEY,
    now: datetime = NOW,
    end: datetime | None = None,
    min_notice: timedelta = timedelta(0),
    ignore_booking_ids: frozenset[str] = frozenset(),
) -> list[str]:
    found = slot_problems(
        calendar,
        service,
        practitioner_id=practitioner_id,
        location_id=location_id,
        start=start,
        now=now,
        end=end,
        min_notice=min_notice,
        ignore_booking_ids=ignore_booking_ids,
    )
    return [p.code for p in found]


def test_a_free_slot_passes() -> None:
    calendar = make_calendar()
    assert problems(calendar, local(MONDAY, 9)) == []
    assert (
        check_slot(
            calendar,
            CONSULT,
            practitioner_id=SURGEON,
            location_id=HARLEY,
            start=local(MONDAY, 9),
            now=NOW,
        )
        is None
    )
    ensure_bookable(
        calendar,
        CONSULT,
        practitioner_id=SURGEON,
        location_id=HARLEY,
        start=local(MONDAY, 9),
        now=NOW,
    )


def test_off_grid_times_inside_availability_are_allowed() -> None:
    assert problems(make_calendar(), local(MONDAY, 9, 10)) == []


def test_in_the_past_and_short_notice() -> None:
    calendar = make_calendar()
    assert problems(calendar, local(MONDAY, 9), now=local(MONDAY, 9, 1)) == ["slot_in_past"]
    assert problems(calendar, local(MONDAY, 9), min_notice=timedelta(hours=2)) == [
        "too_short_notice"
    ]
    found = check_slot(
        calendar,
        CONSULT,
        practitioner_id=SURGEON,
        location_id=HARLEY,
        start=local(MONDAY, 9),
        now=NOW,
        min_notice=timedelta(minutes=90),
    )
    assert found is not None and "90 minutes" in found.message


@pytest.mark.parametrize(
    "start",
    [
        local(MONDAY + timedelta(days=6), 10),  # Sunday
        local(MONDAY, 8, 30),  # before opening
        local(MONDAY, 16, 45),  # would run past 17:00
    ],
)
def test_outside_availability(start: datetime) -> None:
    assert problems(make_calendar(), start) == ["outside_availability"]


def test_wrong_location_is_outside_availability() -> None:
    assert problems(make_calendar(), local(MONDAY, 10), location_id=CANARY) == [
        "outside_availability"
    ]


def test_contiguous_rules_form_one_window() -> None:
    rules = [
        AvailabilityRule(SURGEON, HARLEY, 0, time(9), time(13)),
        AvailabilityRule(SURGEON, HARLEY, 0, time(13), time(17)),
    ]
    assert problems(make_calendar(rules=rules), local(MONDAY, 12, 45)) == []


def test_already_taken_names_the_booking_and_reschedule_can_ignore_it() -> None:
    booking = Booking(
        local(MONDAY, 10), local(MONDAY, 10, 30), practitioner_id=SURGEON, id="appt-1"
    )
    calendar = make_calendar(bookings=[booking])
    found = slot_problems(
        calendar,
        CONSULT,
        practitioner_id=SURGEON,
        location_id=HARLEY,
        start=local(MONDAY, 10, 15),
        now=NOW,
    )
    assert [p.problem for p in found] == [SlotProblem.already_taken]
    assert found[0].booking_id == "appt-1" and found[0].status_code == 409
    assert "10:00" in found[0].message
    assert problems(calendar, local(MONDAY, 10, 15), ignore_booking_ids=frozenset({"appt-1"})) == []
    # Touching is not overlapping.
    assert problems(calendar, local(MONDAY, 10, 30)) == []
    assert problems(calendar, local(MONDAY, 9, 30)) == []


def test_room_clash() -> None:
    rules = [AvailabilityRule(SURGEON, HARLEY, 0, time(8), time(18), room="theatre-1")]
    hold = Booking(
        local(MONDAY, 8), local(MONDAY, 12), location_id=HARLEY, room="theatre-1", id="hold"
    )
    calendar = make_calendar(rules=rules, bookings=[hold])
    surgery = CATALOGUE[ServiceCode.day_case_surgery]
    assert problems(calendar, local(MONDAY, 10), service=surgery) == ["slot_taken"]
    assert problems(calendar, local(MONDAY, 12), service=surgery) == []


def test_service_not_provided_by_the_role() -> None:
    calendar = make_calendar(rules=weekdays(SURGEON, HARLEY) + weekdays(PHYSIO, HARLEY))
    found = check_slot(
        calendar,
        CATALOGUE[ServiceCode.physiotherapy],
        practitioner_id=SURGEON,
        location_id=HARLEY,
        start=local(MONDAY, 10),
        now=NOW,
    )
    assert found is not None and found.code == "service_not_provided" and found.status_code == 422
    assert found.field == "service"
    assert "surgeon" in found.message
    assert problems(calendar, local(MONDAY, 10), practitioner_id=PHYSIO) == ["service_not_provided"]


def test_unknown_practitioner() -> None:
    assert problems(make_calendar(), local(MONDAY, 10), practitioner_id="nobody") == [
        "unknown_practitioner"
    ]


def test_end_before_start() -> None:
    assert problems(make_calendar(), local(MONDAY, 10), end=local(MONDAY, 9)) == ["invalid_time"]


def test_on_leave_and_location_closed_carry_the_reason() -> None:
    leave = AvailabilityException(MONDAY, MONDAY, practitioner_id=SURGEON, reason="conference")
    closure = AvailabilityException(
        datetime.combine(MONDAY, time(14)),
        datetime.combine(MONDAY, time(15)),
        location_id=HARLEY,
        reason="fire drill",
    )
    calendar = make_calendar(exceptions=[leave, closure])
    found = slot_problems(
        calendar,
        CONSULT,
        practitioner_id=SURGEON,
        location_id=HARLEY,
        start=local(MONDAY, 14),
        now=NOW,
    )
    assert [p.code for p in found] == ["practitioner_on_leave", "location_closed"]
    assert "conference" in found[0].message and "fire drill" in found[1].message


def test_ensure_bookable_raises_a_domain_error_with_the_main_reason() -> None:
    booking = Booking(local(MONDAY, 10), local(MONDAY, 11), practitioner_id=SURGEON)
    with pytest.raises(SlotUnavailable) as caught:
        ensure_bookable(
            make_calendar(bookings=[booking]),
            CONSULT,
            practitioner_id=SURGEON,
            location_id=HARLEY,
            start=local(MONDAY, 10),
            now=NOW,
        )
    assert isinstance(caught.value, HindfootError)
    assert caught.value.to_dict() == {
        "error": "slot_taken",
        "message": caught.value.message,
        "field": "start",
    }


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        problems(make_calendar(), datetime(2026, 6, 1, 10))
    with pytest.raises(ValueError):
        Booking(datetime(2026, 6, 1, 10), datetime(2026, 6, 1, 11), practitioner_id=SURGEON)
