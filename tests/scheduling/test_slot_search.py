"""Slot search: rules, leave, closures, bookings, notice, roles, grid and daylight saving."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sched_helpers import (
    ADMIN,
    CANARY,
    HARLEY,
    LONG_AGO,
    MONDAY,
    NURSE,
    PHYSIO,
    RADIOLOGIST,
    ROLES,
    SPORTS,
    SURGEON,
    WIMBLEDON,
    local,
    make_calendar,
    utc,
    weekdays,
)

from hindfoot.errors import InvalidInput
from hindfoot.scheduling.availability import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    ClinicCalendar,
    Slot,
    find_slots,
    next_available,
)
from hindfoot.scheduling.catalogue import CATALOGUE, Service, ServiceCode

CONSULT = CATALOGUE[ServiceCode.new_consultation]
PHYSIO_SESSION = CATALOGUE[ServiceCode.physiotherapy]
SURGERY = CATALOGUE[ServiceCode.day_case_surgery]


def one_day(
    calendar: ClinicCalendar,
    day: date = MONDAY,
    *,
    service: Service = CONSULT,
    now: datetime = LONG_AGO,
    step_minutes: int | None = None,
    duration_minutes: int | None = None,
    location_id: str | None = None,
    practitioner_id: str | None = None,
) -> list[Slot]:
    return find_slots(
        calendar,
        service,
        start_date=day,
        end_date=day,
        now=now,
        step_minutes=step_minutes,
        duration_minutes=duration_minutes,
        location_id=location_id,
        practitioner_id=practitioner_id,
    )


def local_times(slots: list[Slot]) -> list[str]:
    return [s.local_start.strftime("%H:%M") for s in slots]


class TestRules:
    def test_a_day_fills_back_to_back_inside_the_rule(self) -> None:
        slots = one_day(make_calendar())
        assert len(slots) == 16
        assert local_times(slots)[:3] == ["09:00", "09:30", "10:00"]
        assert slots[-1].local_end.time() == time(17)
        assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
        assert all(s.start.utcoffset() == timedelta(0) for s in slots)
        assert {(s.practitioner_id, s.location_id, s.service) for s in slots} == {
            (SURGEON, HARLEY, "new_consultation")
        }

    def test_no_slots_on_days_without_a_rule(self) -> None:
        saturday = MONDAY + timedelta(days=5)
        assert one_day(make_calendar(), saturday) == []

    def test_a_slot_that_would_run_past_closing_is_not_offered(self) -> None:
        rules = [AvailabilityRule(SURGEON, HARLEY, 0, time(9), time(10, 15))]
        assert local_times(one_day(make_calendar(rules=rules))) == ["09:00", "09:30"]

    def test_configurable_step(self) -> None:
        rules = [AvailabilityRule(SURGEON, HARLEY, 0, time(9), time(10))]
        slots = one_day(make_calendar(rules=rules), step_minutes=15)
        assert local_times(slots) == ["09:00", "09:15", "09:30"]

    def test_valid_from_and_to_are_inclusive(self) -> None:
        rules = [
            AvailabilityRule(
                SURGEON, HARLEY, 0, time(9), time(10), valid_from=MONDAY + timedelta(days=7)
            ),
            AvailabilityRule(SURGEON, HARLEY, 0, time(14), time(15), valid_to=MONDAY),
        ]
        calendar = make_calendar(rules=rules)
        assert local_times(one_day(calendar)) == ["14:00", "14:30"]
        assert local_times(one_day(calendar, MONDAY + timedelta(days=7))) == ["09:00", "09:30"]

    def test_overlapping_rules_do_not_duplicate_slots(self) -> None:
        rules = [
            AvailabilityRule(SURGEON, HARLEY, 0, time(9), time(11)),
            AvailabilityRule(SURGEON, HARLEY, 0, time(10), time(12)),
        ]
        assert local_times(one_day(make_calendar(rules=rules))) == [
            "09:00",
            "09:30",
            "10:00",
            "10:30",
            "11:00",
            "11:30",
        ]

    def test_invalid_rule_is_refused(self) -> None:
        with pytest.raises(ValueError):
            AvailabilityRule(SURGEON, HARLEY, 0, time(17), time(9))
        with pytest.raises(ValueError):
            AvailabilityRule(SURGEON, HARLEY, 7, time(9), time(17))


class TestDaylightSaving:
    """Europe/London: 09:00 local is 08:00Z in summer (BST) and 09:00Z in winter (GMT)."""

    def every_day(self) -> ClinicCalendar:
        return make_calendar(
            rules=[AvailabilityRule(SURGEON, HARLEY, d, time(9), time(17)) for d in range(7)]
        )

    @pytest.mark.parametrize(
        ("day", "first_utc"),
        [
            (date(2026, 3, 27), utc(2026, 3, 27, 9)),  # Friday, GMT
            (date(2026, 3, 29), utc(2026, 3, 29, 8)),  # clocks go forward at 01:00Z
            (date(2026, 3, 30), utc(2026, 3, 30, 8)),  # Monday, BST
            (date(2026, 10, 23), utc(2026, 10, 23, 8)),  # Friday, BST
            (date(2026, 10, 25), utc(2026, 10, 25, 9)),  # clocks go back at 01:00Z
            (date(2026, 10, 26), utc(2026, 10, 26, 9)),  # Monday, GMT
        ],
    )
    def test_nine_to_five_stays_nine_to_five_local(self, day: date, first_utc: datetime) -> None:
        slots = one_day(self.every_day(), day)
        assert slots[0].start == first_utc
        assert slots[0].local_start.replace(tzinfo=None) == datetime.combine(day, time(9))
        assert slots[-1].local_end.replace(tzinfo=None) == datetime.combine(day, time(17))
        assert len(slots) == 16
        assert all(s.end - s.start == timedelta(minutes=30) for s in slots)

    def test_a_search_across_the_change_keeps_local_hours(self) -> None:
        slots = find_slots(
            self.every_day(),
            CONSULT,
            start_date=date(2026, 10, 24),
            end_date=date(2026, 10, 26),
            now=LONG_AGO,
        )
        firsts = [s for s in slots if s.local_start.time() == time(9)]
        assert [s.start for s in firsts] == [
            utc(2026, 10, 24, 8),
            utc(2026, 10, 25, 9),
            utc(2026, 10, 26, 9),
        ]
        assert [s.start for s in slots] == sorted(s.start for s in slots)

    def test_a_night_rule_never_offers_the_missing_hour(self) -> None:
        # 00:30-03:00 on 29 March lasts 1.5 hours: 01:00-02:00 does not exist on the clocks.
        rules = [AvailabilityRule(SURGEON, HARLEY, 6, time(0, 30), time(3))]
        slots = one_day(make_calendar(rules=rules), date(2026, 3, 29))
        assert local_times(slots) == ["00:30", "02:00", "02:30"]
        assert [s.start for s in slots] == [
            utc(2026, 3, 29, 0, 30),
            utc(2026, 3, 29, 1),
            utc(2026, 3, 29, 1, 30),
        ]

    def test_a_night_rule_offers_the_repeated_hour_twice(self) -> None:
        rules = [AvailabilityRule(SURGEON, HARLEY, 6, time(0, 30), time(2))]
        slots = one_day(make_calendar(rules=rules), date(2026, 10, 25))
        assert local_times(slots) == ["00:30", "01:00", "01:30", "01:00", "01:30"]
        assert len({s.start for s in slots}) == 5


class TestBusyTime:
    def test_a_booking_removes_the_slots_it_overlaps_and_keeps_the_grid(self) -> None:
        booking = Booking(
            local(MONDAY, 10), local(MONDAY, 10, 45), practitioner_id=SURGEON, id="b1"
        )
        times = local_times(one_day(make_calendar(bookings=[booking])))
        assert "10:00" not in times and "10:30" not in times
        assert "09:30" in times and "11:00" in times and "10:45" not in times

    def test_a_booking_at_another_location_blocks_the_practitioner(self) -> None:
        rules = [
            *weekdays(SURGEON, HARLEY),
            AvailabilityRule(SURGEON, CANARY, 0, time(9), time(17)),
        ]
        booking = Booking(
            local(MONDAY, 9), local(MONDAY, 12), practitioner_id=SURGEON, location_id=CANARY
        )
        slots = one_day(make_calendar(rules=rules, bookings=[booking]))
        assert all(s.local_start.hour >= 12 for s in slots)
        assert {s.location_id for s in slots} == {HARLEY, CANARY}

    def test_other_practitioners_bookings_do_not_matter(self) -> None:
        booking = Booking(local(MONDAY, 9), local(MONDAY, 17), practitioner_id=SPORTS)
        assert len(one_day(make_calendar(bookings=[booking]))) == 16

    def test_full_day_leave_as_dates(self) -> None:
        leave = AvailabilityException(
            MONDAY, MONDAY, practitioner_id=SURGEON, reason="annual leave"
        )
        calendar = make_calendar(exceptions=[leave])
        assert one_day(calendar) == []
        assert len(one_day(calendar, MONDAY + timedelta(days=1))) == 16

    def test_partial_leave_in_local_wall_time(self) -> None:
        leave = AvailabilityException(
            datetime.combine(MONDAY, time(13)),
            datetime.combine(MONDAY, time(17)),
            practitioner_id=SURGEON,
        )
        times = local_times(one_day(make_calendar(exceptions=[leave])))
        assert times[-1] == "12:30" and len(times) == 8

    def test_partial_leave_in_utc(self) -> None:
        # 12:00Z is 13:00 BST
        leave = AvailabilityException(
            utc(2026, 6, 1, 12), utc(2026, 6, 1, 16), practitioner_id=SURGEON
        )
        assert local_times(one_day(make_calendar(exceptions=[leave])))[-1] == "12:30"

    def test_leave_at_one_location_only(self) -> None:
        rules = weekdays(SURGEON, HARLEY) + weekdays(SURGEON, CANARY)
        leave = AvailabilityException(MONDAY, MONDAY, practitioner_id=SURGEON, location_id=CANARY)
        slots = one_day(make_calendar(rules=rules, exceptions=[leave]))
        assert {s.location_id for s in slots} == {HARLEY}

    def test_location_closure_blocks_everyone_there_only(self) -> None:
        rules = (
            weekdays(SURGEON, HARLEY) + weekdays(SPORTS, HARLEY) + weekdays(SPORTS, CANARY, start=8)
        )
        closure = AvailabilityException(MONDAY, MONDAY, location_id=HARLEY, reason="refurbishment")
        slots = one_day(make_calendar(rules=rules, exceptions=[closure]))
        assert {(s.practitioner_id, s.location_id) for s in slots} == {(SPORTS, CANARY)}

    def test_clinic_wide_closure(self) -> None:
        rules = weekdays(SURGEON, HARLEY) + weekdays(SPORTS, CANARY)
        bank_holiday = AvailabilityException(MONDAY, MONDAY, reason="bank holiday")
        assert one_day(make_calendar(rules=rules, exceptions=[bank_holiday])) == []

    def test_room_bookings_block_rules_in_that_room(self) -> None:
        rules = [AvailabilityRule(RADIOLOGIST, WIMBLEDON, 0, time(9), time(11), room="MRI")]
        hold = Booking(local(MONDAY, 9), local(MONDAY, 10), location_id=WIMBLEDON, room="MRI")
        slots = one_day(
            make_calendar(rules=rules, bookings=[hold]), service=CATALOGUE[ServiceCode.imaging]
        )
        assert local_times(slots) == ["10:00", "10:30"]
        assert {s.room for s in slots} == {"MRI"}


class TestNowAndNotice:
    def test_never_offers_the_past(self) -> None:
        now = local(MONDAY, 12, 10)
        assert local_times(one_day(make_calendar(), now=now))[0] == "12:30"

    def test_a_slot_starting_exactly_now_is_offered(self) -> None:
        assert local_times(one_day(make_calendar(), now=local(MONDAY, 12)))[0] == "12:00"

    def test_minimum_notice(self) -> None:
        now = local(MONDAY, 12, 10)
        slots = find_slots(
            make_calendar(),
            CONSULT,
            start_date=MONDAY,
            end_date=MONDAY + timedelta(days=1),
            now=now,
            min_notice=timedelta(hours=24),
        )
        assert slots[0].local_start == local(MONDAY + timedelta(days=1), 12, 30)

    def test_naive_now_is_refused(self) -> None:
        with pytest.raises(ValueError):
            one_day(make_calendar(), now=datetime(2026, 6, 1, 9))


class TestServicesAndRoles:
    def all_staff(self) -> ClinicCalendar:
        rules = [r for pid in ROLES for r in weekdays(pid, HARLEY)]
        return make_calendar(rules=rules)

    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            (ServiceCode.new_consultation, {SURGEON, SPORTS}),
            (ServiceCode.physiotherapy, {PHYSIO}),
            (ServiceCode.nurse_dressing, {NURSE}),
            (ServiceCode.imaging, {RADIOLOGIST}),
            (ServiceCode.image_guided_injection, {RADIOLOGIST, SPORTS}),
            (ServiceCode.day_case_surgery, {SURGEON}),
        ],
    )
    def test_only_roles_that_provide_the_service(
        self, code: ServiceCode, expected: set[str]
    ) -> None:
        slots = one_day(self.all_staff(), service=CATALOGUE[code])
        assert {s.practitioner_id for s in slots} == expected
        assert ADMIN not in {s.practitioner_id for s in slots}

    def test_rule_restricted_to_some_services(self) -> None:
        rules = [
            AvailabilityRule(
                SURGEON, HARLEY, 0, time(8), time(12), services=frozenset({"day_case_surgery"})
            )
        ]
        calendar = make_calendar(rules=rules)
        assert one_day(calendar, service=CONSULT) == []
        assert local_times(one_day(calendar, service=SURGERY)) == ["08:00", "10:00"]

    def test_practitioner_not_in_the_bookable_list_is_skipped(self) -> None:
        assert one_day(make_calendar(practitioners={SPORTS: "sports_physician"})) == []

    def test_duration_override(self) -> None:
        rules = [AvailabilityRule(PHYSIO, HARLEY, 0, time(9), time(11))]
        slots = one_day(make_calendar(rules=rules), service=PHYSIO_SESSION, duration_minutes=60)
        assert local_times(slots) == ["09:00", "09:45"]
        assert all(s.end - s.start == timedelta(hours=1) for s in slots)


class TestFiltersAndOrder:
    def clinic(self) -> ClinicCalendar:
        rules = (
            weekdays(SURGEON, HARLEY)
            + weekdays(SPORTS, CANARY)
            + weekdays(SPORTS, WIMBLEDON, 10, 12)
        )
        return make_calendar(rules=rules)

    def test_sorted_by_start_then_location_then_practitioner(self) -> None:
        slots = one_day(self.clinic())
        keys = [(s.start, str(s.location_id), str(s.practitioner_id)) for s in slots]
        assert keys == sorted(keys)

    def test_location_filter(self) -> None:
        assert {s.location_id for s in one_day(self.clinic(), location_id=CANARY)} == {CANARY}

    def test_practitioner_filter(self) -> None:
        slots = one_day(self.clinic(), practitioner_id=SPORTS)
        assert {s.location_id for s in slots} == {CANARY, WIMBLEDON}

    def test_window_must_be_ordered_and_bounded(self) -> None:
        with pytest.raises(InvalidInput):
            find_slots(
                self.clinic(),
                CONSULT,
                start_date=MONDAY,
                end_date=MONDAY - timedelta(days=1),
                now=LONG_AGO,
            )
        with pytest.raises(InvalidInput):
            find_slots(
                self.clinic(),
                CONSULT,
                start_date=MONDAY,
                end_date=MONDAY + timedelta(days=400),
                now=LONG_AGO,
            )
        with pytest.raises(InvalidInput):
            one_day(self.clinic(), step_minutes=0)


class TestNextAvailable:
    def clinic(self) -> ClinicCalendar:
        rules = weekdays(SURGEON, HARLEY) + weekdays(SPORTS, CANARY, 13, 17)
        return make_calendar(rules=rules)

    def test_first_slots_anywhere(self) -> None:
        now = local(MONDAY, 8)
        slots = next_available(self.clinic(), CONSULT, now=now, count=3)
        assert [(s.practitioner_id, local_times([s])[0]) for s in slots] == [
            (SURGEON, "09:00"),
            (SURGEON, "09:30"),
            (SURGEON, "10:00"),
        ]

    def test_at_one_location_or_with_one_practitioner(self) -> None:
        now = local(MONDAY, 8)
        at_canary = next_available(self.clinic(), CONSULT, now=now, location_id=CANARY)
        assert at_canary[0].local_start == local(MONDAY, 13)
        with_sports = next_available(
            self.clinic(), CONSULT, now=now, practitioner_id=SPORTS, count=2
        )
        assert [s.practitioner_id for s in with_sports] == [SPORTS, SPORTS]

    def test_skips_a_fully_booked_week(self) -> None:
        week = Booking(
            local(MONDAY, 0), local(MONDAY + timedelta(days=7), 0), practitioner_id=SURGEON
        )
        calendar = make_calendar(bookings=[week])
        slot = next_available(calendar, CONSULT, now=local(MONDAY, 8))[0]
        assert slot.local_start == local(MONDAY + timedelta(days=7), 9)

    def test_returns_fewer_when_the_horizon_runs_out(self) -> None:
        rules = [AvailabilityRule(SURGEON, HARLEY, 0, time(9), time(10))]
        slots = next_available(
            make_calendar(rules=rules), CONSULT, now=local(MONDAY, 8), count=10, horizon_days=14
        )
        assert len(slots) == 4

    def test_nobody_provides_it(self) -> None:
        assert (
            next_available(self.clinic(), PHYSIO_SESSION, now=local(MONDAY, 8), horizon_days=30)
            == []
        )


def test_busy_clinic_month_matches_a_brute_force_check() -> None:
    """Sanity (not timed): a month, 3 locations x 8 practitioners, a few hundred bookings."""
    locations = [HARLEY, CANARY, WIMBLEDON]
    roles = ["surgeon", "sports_physician", "physiotherapist", "radiologist"]
    practitioners = {f"p{i}": roles[i % 4] for i in range(24)}
    rules = [
        AvailabilityRule(pid, locations[i % 3], d, time(8 + (i % 2)), time(17 + (i % 2)))
        for i, pid in enumerate(practitioners)
        for d in range(5)
    ]
    start = date(2026, 3, 2)
    bookings = [
        Booking(
            local(start + timedelta(days=k % 30), 8 + (k * 7) % 9, (k * 13) % 4 * 15),
            local(start + timedelta(days=k % 30), 8 + (k * 7) % 9, (k * 13) % 4 * 15)
            + timedelta(minutes=20 + k % 50),
            practitioner_id=f"p{k % 24}",
            id=k,
        )
        for k in range(400)
    ]
    leave = [AvailabilityException(date(2026, 3, 16), date(2026, 3, 20), practitioner_id="p0")]
    calendar = ClinicCalendar(
        timezone="Europe/London",
        practitioners=practitioners,
        rules=rules,
        exceptions=leave,
        bookings=bookings,
    )
    now = local(start, 12)
    slots = find_slots(
        calendar, CONSULT, start_date=start, end_date=start + timedelta(days=30), now=now
    )

    assert slots and [s.start for s in slots] == sorted(s.start for s in slots)
    by_practitioner: dict[str, list[Booking]] = {}
    for b in bookings:
        by_practitioner.setdefault(str(b.practitioner_id), []).append(b)
    for s in slots:
        assert s.start >= now
        assert practitioners[str(s.practitioner_id)] in {"surgeon", "sports_physician"}
        assert not any(
            b.start < s.end and s.start < b.end
            for b in by_practitioner.get(str(s.practitioner_id), [])
        )
        assert not (
            s.practitioner_id == "p0"
            and date(2026, 3, 16) <= s.local_start.date() <= date(2026, 3, 20)
        )
        assert time(8) <= s.local_start.time() and s.local_end.time() <= time(18)
    # Around the 29 March change every rule still opens on the hour, local time.
    assert {s.local_start.minute for s in slots} <= {0, 30}
