"""Booking validators: every reason a requested time cannot be booked, in order of importance."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from hindfoot.scheduling.availability.calendar import ClinicCalendar, _lookup
from hindfoot.scheduling.availability.inputs import AvailabilityException
from hindfoot.scheduling.availability.problems import SlotProblem, SlotUnavailable
from hindfoot.scheduling.availability.times import Id, _from_ts, _require_aware, _ts, _ts_ceil
from hindfoot.scheduling.catalogue import Service


def _fmt(calendar: ClinicCalendar, seconds: int) -> str:
    return _from_ts(seconds).astimezone(calendar.zone).strftime("%a %d %b %Y %H:%M")


def _describe(span: timedelta) -> str:
    minutes = int(span / timedelta(minutes=1))
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def _reason(exc: AvailabilityException) -> str:
    return f" ({exc.reason})" if exc.reason else ""


def _booking_problems(
    calendar: ClinicCalendar,
    practitioner_id: Id,
    location_id: Id,
    s: int,
    e: int,
    rooms: Collection[str],
    ignore: Collection[Id],
) -> list[SlotUnavailable]:
    problems = []
    seen: set[int] = set()
    for booking in _lookup(calendar._by_practitioner, practitioner_id).overlapping(s, e):
        if booking.id is not None and booking.id in ignore:
            continue
        seen.add(id(booking))
        problems.append(
            SlotUnavailable(
                SlotProblem.already_taken,
                "The practitioner already has an appointment from "
                f"{_fmt(calendar, _ts(booking.start))} to {_fmt(calendar, _ts(booking.end))}.",
                booking_id=booking.id,
            )
        )
    for room in rooms:
        for booking in _lookup(calendar._by_room, (location_id, room)).overlapping(s, e):
            if id(booking) in seen or (booking.id is not None and booking.id in ignore):
                continue
            problems.append(
                SlotUnavailable(
                    SlotProblem.already_taken,
                    f"Room {room} is already booked from {_fmt(calendar, _ts(booking.start))} "
                    f"to {_fmt(calendar, _ts(booking.end))}.",
                    booking_id=booking.id,
                )
            )
    return problems


def slot_problems(
    calendar: ClinicCalendar,
    service: Service,
    *,
    practitioner_id: Id,
    location_id: Id,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    room: str | None = None,
    min_notice: timedelta = timedelta(0),
    ignore_booking_ids: Collection[Id] = (),
) -> list[SlotUnavailable]:
    """Every reason the time cannot be booked, most fundamental first; empty when it can.

    The booking service calls this inside its transaction, just before writing, because a slot
    shown a minute ago may be gone. ``end`` defaults to start + the service's duration;
    ``ignore_booking_ids`` leaves out the appointment being rescheduled so it cannot clash
    with itself. Off-grid times are accepted: staff may book any time inside availability.
    """
    _require_aware(start, "start")
    _require_aware(now, "now")
    end = end if end is not None else start + timedelta(minutes=service.duration_minutes)
    _require_aware(end, "end")
    s, e = _ts(start), _ts_ceil(end)
    if e <= s:
        return [
            SlotUnavailable(SlotProblem.invalid_time, "The appointment must end after it starts.")
        ]
    role = calendar.role_of(practitioner_id)
    if role is None:
        return [
            SlotUnavailable(SlotProblem.unknown_practitioner, "This practitioner cannot be booked.")
        ]
    problems: list[SlotUnavailable] = []
    if not service.provided_by(role):
        problems.append(
            SlotUnavailable(
                SlotProblem.service_not_provided,
                f"{service.name} is not provided by a {role.replace('_', ' ')}.",
            )
        )
    if start < now:
        problems.append(SlotUnavailable(SlotProblem.in_past, "That time has already passed."))
    elif start < now + min_notice:
        problems.append(
            SlotUnavailable(
                SlotProblem.too_short_notice,
                f"Appointments must be booked at least {_describe(min_notice)} ahead.",
            )
        )
    leave = _lookup(calendar._leave, practitioner_id).overlapping(s, e)
    leave += _lookup(calendar._leave_at, (practitioner_id, location_id)).overlapping(s, e)
    for exc in leave:
        problems.append(
            SlotUnavailable(
                SlotProblem.on_leave, f"The practitioner is not working at that time{_reason(exc)}."
            )
        )
    closed = _lookup(calendar._closed, location_id).overlapping(s, e)
    closed += calendar._clinic_closed.overlapping(s, e)
    for exc in closed:
        problems.append(
            SlotUnavailable(
                SlotProblem.location_closed, f"The clinic is closed at that time{_reason(exc)}."
            )
        )

    day = start.astimezone(calendar.zone).date()
    rooms: set[str] = {room} if room is not None else set()
    covered = False
    run_start = run_end = None
    run_rooms: set[str] = set()
    for ws, we, rule in calendar._windows(practitioner_id, location_id, day, str(service.code)):
        if room is not None and rule.room not in (None, room):
            continue
        if run_end is not None and ws <= run_end:  # contiguous rules form one window
            run_end = max(run_end, we)
        else:
            run_start, run_end, run_rooms = ws, we, set()
        if rule.room is not None:
            run_rooms.add(rule.room)
        if run_start is not None and run_start <= s and e <= run_end:
            covered = True
            if room is None:
                rooms |= run_rooms
    if not covered:
        problems.append(
            SlotUnavailable(
                SlotProblem.outside_availability,
                f"The practitioner does not offer {service.name.lower()} at this location "
                f"at that time.",
            )
        )
    problems += _booking_problems(
        calendar, practitioner_id, location_id, s, e, rooms, ignore_booking_ids
    )
    return problems


def check_slot(
    calendar: ClinicCalendar,
    service: Service,
    *,
    practitioner_id: Id,
    location_id: Id,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    room: str | None = None,
    min_notice: timedelta = timedelta(0),
    ignore_booking_ids: Collection[Id] = (),
) -> SlotUnavailable | None:
    """The main reason the time cannot be booked, or None when it can."""
    problems = slot_problems(
        calendar,
        service,
        practitioner_id=practitioner_id,
        location_id=location_id,
        start=start,
        now=now,
        end=end,
        room=room,
        min_notice=min_notice,
        ignore_booking_ids=ignore_booking_ids,
    )
    return problems[0] if problems else None


def ensure_bookable(
    calendar: ClinicCalendar,
    service: Service,
    *,
    practitioner_id: Id,
    location_id: Id,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    room: str | None = None,
    min_notice: timedelta = timedelta(0),
    ignore_booking_ids: Collection[Id] = (),
) -> None:
    """Raise :class:`SlotUnavailable` with the main reason unless the time can be booked."""
    problem = check_slot(
        calendar,
        service,
        practitioner_id=practitioner_id,
        location_id=location_id,
        start=start,
        now=now,
        end=end,
        room=room,
        min_notice=min_notice,
        ignore_booking_ids=ignore_booking_ids,
    )
    if problem is not None:
        raise problem
