"""Slot search: every free slot between two dates, or the next few from now."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from hindfoot.errors import InvalidInput
from hindfoot.scheduling.availability.calendar import ClinicCalendar
from hindfoot.scheduling.availability.inputs import AvailabilityRule, Slot
from hindfoot.scheduling.availability.times import (
    _DAY,
    MAX_SEARCH_DAYS,
    Id,
    _ceil_div,
    _from_ts,
    _require_aware,
    _ts,
    _ts_ceil,
)
from hindfoot.scheduling.catalogue import Service


def _minutes(value: int | None, default: int, name: str) -> int:
    minutes = default if value is None else value
    if minutes <= 0:
        raise InvalidInput(f"{name} must be a positive number of minutes", field=name)
    return minutes * 60


def find_slots(
    calendar: ClinicCalendar,
    service: Service,
    *,
    start_date: date,
    end_date: date,
    now: datetime,
    location_id: Id | None = None,
    practitioner_id: Id | None = None,
    step_minutes: int | None = None,
    duration_minutes: int | None = None,
    min_notice: timedelta = timedelta(0),
) -> list[Slot]:
    """Free slots for ``service`` between two local dates (both included), sorted by start.

    Slots sit on a grid from each rule's start, ``step_minutes`` apart (default: the service's
    duration, so a day fills back to back); a slot must fit entirely inside one rule window and
    clear every booking, leave and closure. Nothing starts before ``now + min_notice``. Only
    practitioners whose role provides the service are offered. Ties at the same start are
    ordered by location then practitioner so pages are stable.
    """
    _require_aware(now, "now")
    if end_date < start_date:
        raise InvalidInput("the search ends before it starts", field="end_date")
    if (end_date - start_date).days >= MAX_SEARCH_DAYS:
        raise InvalidInput(f"search at most {MAX_SEARCH_DAYS} days at once", field="end_date")
    duration = _minutes(duration_minutes, service.duration_minutes, "duration_minutes")
    step = _minutes(step_minutes, service.duration_minutes, "step_minutes")
    earliest = _ts_ceil(now + min_notice)
    code = str(service.code)
    zone = calendar.zone

    found: dict[tuple[int, Id, Id], tuple[str, str, str | None]] = {}
    days = [start_date + timedelta(days=i) for i in range((end_date - start_date).days + 1)]
    for (pid, loc), rules in calendar._rules.items():
        if practitioner_id is not None and pid != practitioner_id:
            continue
        if location_id is not None and loc != location_id:
            continue
        role = calendar.practitioners.get(pid)
        if role is None or not service.provided_by(role):
            continue
        by_weekday: dict[int, list[AvailabilityRule]] = defaultdict(list)
        for rule in rules:
            if rule.allows(code):
                by_weekday[rule.weekday].append(rule)
        if not by_weekday:
            continue
        sort_key = (str(loc), str(pid))
        for day in days:
            for rule in by_weekday.get(day.weekday(), ()):
                if not rule.valid_on(day):
                    continue
                ws = _ts(datetime.combine(day, rule.start, tzinfo=zone))
                we = _ts(datetime.combine(day, rule.end, tzinfo=zone))
                if we <= earliest:
                    continue
                busy = calendar._busy(pid, loc, rule.room)
                t = ws if ws >= earliest else ws + _ceil_div(earliest - ws, step) * step
                while t + duration <= we:
                    blocked_until = busy.blocking_end(t, t + duration)
                    if blocked_until is not None:
                        t = ws + _ceil_div(blocked_until - ws, step) * step
                        continue
                    found.setdefault((t, pid, loc), (sort_key[0], sort_key[1], rule.room))
                    t += step

    ordered = sorted(found.items(), key=lambda kv: (kv[0][0], kv[1][0], kv[1][1]))
    return [
        Slot(_from_ts(t), _from_ts(t + duration), pid, loc, code, room, zone)
        for (t, pid, loc), (_, _, room) in ordered
    ]


def next_available(
    calendar: ClinicCalendar,
    service: Service,
    *,
    now: datetime,
    count: int = 1,
    location_id: Id | None = None,
    practitioner_id: Id | None = None,
    horizon_days: int = 90,
    step_minutes: int | None = None,
    duration_minutes: int | None = None,
    min_notice: timedelta = timedelta(0),
) -> list[Slot]:
    """The first ``count`` free slots from now: anywhere, at one location, or with one person.

    Searches a week at a time and stops as soon as it has enough, so "next available" on a
    busy rota stays as cheap as a one-week search. Returns fewer than ``count`` when the
    horizon runs out.
    """
    _require_aware(now, "now")
    if count <= 0:
        raise InvalidInput("count must be at least 1", field="count")
    if not 0 < horizon_days <= MAX_SEARCH_DAYS:
        raise InvalidInput(f"horizon_days must be 1 to {MAX_SEARCH_DAYS}", field="horizon_days")
    first = (now + min_notice).astimezone(calendar.zone).date()
    last = first + timedelta(days=horizon_days - 1)
    out: list[Slot] = []
    chunk_start = first
    while chunk_start <= last and len(out) < count:
        chunk_end = min(chunk_start + timedelta(days=6), last)
        out.extend(
            find_slots(
                calendar,
                service,
                start_date=chunk_start,
                end_date=chunk_end,
                now=now,
                location_id=location_id,
                practitioner_id=practitioner_id,
                step_minutes=step_minutes,
                duration_minutes=duration_minutes,
                min_notice=min_notice,
            )
        )
        chunk_start = chunk_end + _DAY
    return out[:count]
