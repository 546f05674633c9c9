"""Appointment series: patterns, local-to-UTC across clock changes, and clash detection."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sched_helpers import HARLEY, PHYSIO, SURGEON, local, make_calendar, utc, weekdays

from hindfoot.errors import InvalidInput
from hindfoot.scheduling.availability import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    Recurrence,
    expand_series,
    plan_series,
    to_utc,
)
from hindfoot.scheduling.catalogue import CATALOGUE, ServiceCode

PHYSIO_SESSION = CATALOGUE[ServiceCode.physiotherapy]
NOW = utc(2026, 1, 1, 0)
EVERY_DAY_PHYSIO = [AvailabilityRule(PHYSIO, HARLEY, d, time(8), time(18)) for d in range(7)]


def test_every_other_day_across_the_spring_change() -> None:
    calendar = make_calendar(rules=EVERY_DAY_PHYSIO)
    plan = plan_series(
        calendar,
        PHYSIO_SESSION,
        practitioner_id=PHYSIO,
        location_id=HARLEY,
        first=datetime(2026, 3, 27, 9),
        recurrence=Recurrence.daily(2),
        count=4,
        now=NOW,
    )
    assert plan.ok
    assert [o.start for o in plan.occurrences] == [
        utc(2026, 3, 27, 9),
        utc(2026, 3, 29, 8),
        utc(2026, 3, 31, 8),
        utc(2026, 4, 2, 8),
    ]
    assert {o.local_start.time() for o in plan.occurrences} == {time(9)}
    assert all(o.end - o.start == timedelta(minutes=45) for o in plan.occurrences)


def test_weekly_on_two_weekdays_across_the_autumn_change_with_a_clash() -> None:
    clash = Booking(
        utc(2026, 10, 29, 9, 30), utc(2026, 10, 29, 10), practitioner_id=PHYSIO, id="existing"
    )
    calendar = make_calendar(rules=EVERY_DAY_PHYSIO, bookings=[clash])
    plan = plan_series(
        calendar,
        PHYSIO_SESSION,
        practitioner_id=PHYSIO,
        location_id=HARLEY,
        first=datetime(2026, 10, 19, 9),
        recurrence=Recurrence.weekly({0, 3}),
        count=4,
        now=NOW,
    )
    assert [o.start for o in plan.occurrences] == [
        utc(2026, 10, 19, 8),
        utc(2026, 10, 22, 8),
        utc(2026, 10, 26, 9),
        utc(2026, 10, 29, 9),
    ]
    assert not plan.ok
    assert [o.index for o in plan.clashes] == [3]
    problem = plan.clashes[0].problems[0]
    assert problem.code == "slot_taken" and problem.booking_id == "existing"


def test_occurrences_that_overlap_each_other() -> None:
    calendar = make_calendar(rules=EVERY_DAY_PHYSIO)
    plan = plan_series(
        calendar,
        PHYSIO_SESSION,
        practitioner_id=PHYSIO,
        location_id=HARLEY,
        first=datetime(2026, 6, 1, 9),
        recurrence=Recurrence.daily(),
        count=3,
        duration_minutes=25 * 60,
        now=NOW,
        check_availability=False,
    )
    codes = [[(p.code, p.occurrence) for p in o.problems] for o in plan.occurrences]
    assert codes == [
        [("series_overlap", 1)],
        [("series_overlap", 0), ("series_overlap", 2)],
        [("series_overlap", 1)],
    ]


def test_availability_problems_are_reported_per_occurrence() -> None:
    leave = AvailabilityException(
        date(2026, 6, 8), date(2026, 6, 8), practitioner_id=SURGEON, reason="leave"
    )
    calendar = make_calendar(exceptions=[leave])
    plan = plan_series(
        calendar,
        CATALOGUE[ServiceCode.follow_up],
        practitioner_id=SURGEON,
        location_id=HARLEY,
        first=datetime(2026, 6, 1, 10),
        recurrence=Recurrence.weekly([0]),
        count=3,
        now=local(date(2026, 6, 1), 12),
    )
    assert [[p.code for p in o.problems] for o in plan.occurrences] == [
        ["slot_in_past"],
        ["practitioner_on_leave"],
        [],
    ]


def test_an_aware_first_time_is_read_on_the_clinic_clocks() -> None:
    calendar = make_calendar(rules=EVERY_DAY_PHYSIO)
    plan = plan_series(
        calendar,
        PHYSIO_SESSION,
        practitioner_id=PHYSIO,
        location_id=HARLEY,
        first=utc(2026, 10, 24, 8),  # 09:00 BST
        recurrence=Recurrence.daily(),
        count=2,
        now=NOW,
    )
    assert [o.start for o in plan.occurrences] == [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9)]


def test_without_availability_checks_only_bookings_count() -> None:
    calendar = make_calendar(rules=weekdays(PHYSIO, HARLEY))
    plan = plan_series(
        calendar,
        PHYSIO_SESSION,
        practitioner_id=PHYSIO,
        location_id=HARLEY,
        first=datetime(2026, 6, 6, 9),
        recurrence=Recurrence.weekly([5]),
        count=2,  # Saturdays
        now=NOW,
        check_availability=False,
    )
    assert plan.ok


class TestExpand:
    def test_until_is_inclusive_and_weekly_starts_on_the_next_listed_day(self) -> None:
        starts = expand_series(
            datetime(2026, 6, 3, 9), Recurrence.weekly([0, 4]), until=date(2026, 6, 15)
        )
        assert starts == [
            datetime(2026, 6, 5, 9),
            datetime(2026, 6, 8, 9),
            datetime(2026, 6, 12, 9),
            datetime(2026, 6, 15, 9),
        ]

    def test_every_other_week(self) -> None:
        starts = expand_series(datetime(2026, 6, 2, 9), Recurrence.weekly([1], every=2), count=3)
        assert [d.date() for d in starts] == [
            date(2026, 6, 2),
            date(2026, 6, 16),
            date(2026, 6, 30),
        ]

    def test_count_and_until_stop_at_the_first_reached(self) -> None:
        starts = expand_series(
            datetime(2026, 6, 1, 9), Recurrence.daily(), count=10, until=date(2026, 6, 3)
        )
        assert len(starts) == 3

    def test_bad_patterns_are_refused(self) -> None:
        with pytest.raises(InvalidInput):
            expand_series(datetime(2026, 6, 1, 9), Recurrence.daily())
        with pytest.raises(InvalidInput):
            expand_series(datetime(2026, 6, 1, 9), Recurrence.daily(), until=date(2030, 1, 1))
        with pytest.raises(InvalidInput):
            expand_series(datetime(2026, 6, 1, 9), Recurrence.daily(), until=date(2026, 5, 1))
        with pytest.raises(ValueError):
            Recurrence(every_days=2, weekdays=frozenset({1}))
        with pytest.raises(ValueError):
            Recurrence.weekly([])
        with pytest.raises(ValueError):
            expand_series(utc(2026, 6, 1, 9), Recurrence.daily(), count=2)


def test_to_utc_for_missing_and_repeated_wall_times() -> None:
    # 01:30 does not exist on 29 March: read with the GMT offset, i.e. 02:30 BST.
    assert to_utc(datetime(2026, 3, 29, 1, 30), "Europe/London") == utc(2026, 3, 29, 1, 30)
    # 01:30 happens twice on 25 October: the first (BST) one.
    assert to_utc(datetime(2026, 10, 25, 1, 30), "Europe/London") == utc(2026, 10, 25, 0, 30)


def test_every_other_day_moves_off_a_closed_sunday_or_skips_it() -> None:
    # Mon-Fri only: Fri 5 Jun, then Sun 7 Jun (closed) -> Mon 8 Jun; Tue 9 Jun stays
    calendar = make_calendar(rules=weekdays(PHYSIO, HARLEY, 8, 18))
    kwargs = dict(practitioner_id=PHYSIO, location_id=HARLEY, first=datetime(2026, 6, 3, 9),
                  recurrence=Recurrence.daily(2), count=4, now=NOW)
    kept = plan_series(calendar, PHYSIO_SESSION, **kwargs)  # type: ignore[arg-type]
    assert [o.local_start.date().isoformat() for o in kept.clashes] == ["2026-06-07"]
    moved = plan_series(calendar, PHYSIO_SESSION, closed_days="next_open", **kwargs)  # type: ignore[arg-type]
    assert moved.ok
    assert [o.local_start.strftime("%a %d") for o in moved.occurrences] == ["Wed 03", "Fri 05", "Mon 08", "Tue 09"]
    assert {o.local_start.time() for o in moved.occurrences} == {time(9)}
    skipped = plan_series(calendar, PHYSIO_SESSION, closed_days="skip", **kwargs)  # type: ignore[arg-type]
    assert skipped.ok and [o.local_start.strftime("%a %d") for o in skipped.occurrences] == ["Wed 03", "Fri 05", "Tue 09"]
    # a taken time is not a closed day: it stays a clash to choose another time for
    taken = Booking(utc(2026, 6, 5, 8), utc(2026, 6, 5, 9), practitioner_id=PHYSIO, id="b")
    busy = plan_series(make_calendar(rules=weekdays(PHYSIO, HARLEY, 8, 18), bookings=[taken]), PHYSIO_SESSION,
                       closed_days="next_open", **kwargs)  # type: ignore[arg-type]
    assert [o.local_start.strftime("%a %d") for o in busy.clashes] == ["Fri 05"]
    with pytest.raises(InvalidInput):
        plan_series(calendar, PHYSIO_SESSION, closed_days="sometimes", **kwargs)  # type: ignore[arg-type]
