"""Appointment series: recurrence rules expanded to dates, each occurrence checked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hindfoot.errors import InvalidInput
from hindfoot.scheduling.availability.calendar import ClinicCalendar
from hindfoot.scheduling.availability.problems import SlotProblem, SlotUnavailable
from hindfoot.scheduling.availability.search import _minutes
from hindfoot.scheduling.availability.times import (
    MAX_SERIES_OCCURRENCES,
    Id,
    _require_aware,
    _ts,
    _ts_ceil,
    to_utc,
)
from hindfoot.scheduling.availability.validators import _booking_problems, _fmt, slot_problems
from hindfoot.scheduling.catalogue import Service


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How a series repeats: every N days, or on given weekdays every N weeks.

    Weekly series count weeks from the Monday of the first date, so "Mon and Thu every other
    week" stays on the same fortnightly rhythm whatever day it starts on.
    """

    every_days: int | None = None
    weekdays: frozenset[int] = frozenset()
    every_weeks: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if self.every_days is not None:
            if self.weekdays:
                raise ValueError("choose every_days or weekdays, not both")
            if self.every_days <= 0:
                raise ValueError("every_days must be at least 1")
        else:
            if not self.weekdays:
                raise ValueError("a weekly series needs at least one weekday")
            if not all(0 <= d <= 6 for d in self.weekdays):
                raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
            if self.every_weeks <= 0:
                raise ValueError("every_weeks must be at least 1")

    @classmethod
    def daily(cls, every: int = 1) -> Recurrence:
        return cls(every_days=every)

    @classmethod
    def weekly(cls, weekdays: Iterable[int], every: int = 1) -> Recurrence:
        return cls(weekdays=frozenset(weekdays), every_weeks=every)


def expand_series(
    first: datetime,
    recurrence: Recurrence,
    *,
    count: int | None = None,
    until: date | None = None,
) -> list[datetime]:
    """The series' local wall-clock start times (naive), from ``first`` on.

    Stops after ``count`` occurrences or after the ``until`` date (included), whichever comes
    first. A weekly series starting on a day not in ``weekdays`` begins on the next one that
    is. Wall-clock times repeat unchanged, so a 09:00 series stays at 09:00 across a clock
    change; :func:`plan_series` turns them into instants.
    """
    if first.tzinfo is not None:
        raise ValueError("series start is a wall-clock time: pass a naive local datetime")
    if count is None and until is None:
        raise InvalidInput("give a number of occurrences or an end date", field="count")
    if count is not None and not 0 < count <= MAX_SERIES_OCCURRENCES:
        raise InvalidInput(f"a series has 1 to {MAX_SERIES_OCCURRENCES} occurrences", field="count")
    if until is not None and until < first.date():
        raise InvalidInput("the series ends before it starts", field="until")
    limit = count if count is not None else MAX_SERIES_OCCURRENCES + 1
    at = first.time()
    out: list[datetime] = []

    def dates() -> Iterable[date]:
        if recurrence.every_days is not None:
            step = timedelta(days=recurrence.every_days)
            d = first.date()
            while True:
                yield d
                d += step
        monday = first.date() - timedelta(days=first.weekday())
        week = 0
        days = sorted(recurrence.weekdays)
        while True:
            base = monday + timedelta(weeks=week)
            for wd in days:
                d = base + timedelta(days=wd)
                if d >= first.date():
                    yield d
            week += recurrence.every_weeks

    for d in dates():
        if (until is not None and d > until) or len(out) >= limit:
            break
        out.append(datetime.combine(d, at))
    if len(out) > MAX_SERIES_OCCURRENCES:
        raise InvalidInput(
            f"a series has at most {MAX_SERIES_OCCURRENCES} occurrences: choose an earlier end",
            field="until",
        )
    return out


CLOSED_DAY_CHOICES = ("keep", "next_open", "skip")
CLOSED_DAY_PROBLEMS = frozenset({SlotProblem.location_closed, SlotProblem.outside_availability, SlotProblem.on_leave})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One planned appointment of a series and everything that stops it being booked."""

    index: int
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    problems: tuple[SlotUnavailable, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """A series ready for review: book it only when ``ok``, or let staff drop the clashes."""

    occurrences: tuple[Occurrence, ...]
    clashes: tuple[Occurrence, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clashes", tuple(o for o in self.occurrences if o.problems))

    @property
    def ok(self) -> bool:
        return not self.clashes


def plan_series(
    calendar: ClinicCalendar,
    service: Service,
    *,
    practitioner_id: Id,
    location_id: Id,
    first: datetime,
    recurrence: Recurrence,
    now: datetime,
    count: int | None = None,
    until: date | None = None,
    duration_minutes: int | None = None,
    room: str | None = None,
    min_notice: timedelta = timedelta(0),
    check_availability: bool = True,
    closed_days: str = "keep",
) -> SeriesPlan:
    """Expand a series, convert each occurrence to UTC, and say which ones clash and why.

    Every occurrence is checked against existing bookings and against the other occurrences
    (a series whose appointments overlap each other is a data-entry slip worth catching). With
    ``check_availability`` (the default) each one also goes through :func:`slot_problems`, so
    leave, closures, opening hours and the past are reported per occurrence; turn it off for
    series staff place deliberately outside the published rota.

    ``first`` is the first appointment's wall-clock time at the clinic (an aware value is
    read on the clinic's clocks); every occurrence keeps that wall-clock time.

    ``closed_days`` says what to do with an occurrence on a day the clinician does not work there
    (no opening, leave, the location closed): ``keep`` it as a clash for staff to see, move it to the
    ``next_open`` day at the same time (within a week, never onto or past the next occurrence's day),
    or ``skip`` it (it is left out of the plan).
    """
    if closed_days not in CLOSED_DAY_CHOICES:
        raise InvalidInput(f"closed days: one of {', '.join(CLOSED_DAY_CHOICES)}", field="closed_days")
    _require_aware(now, "now")
    duration = timedelta(
        seconds=_minutes(duration_minutes, service.duration_minutes, "duration_minutes")
    )
    zone = calendar.zone
    if first.tzinfo is not None:
        first = first.astimezone(zone).replace(tzinfo=None)
    planned: list[tuple[datetime, datetime, list[SlotUnavailable]]] = []

    def problems_at(start: datetime, end: datetime) -> list[SlotUnavailable]:
        if check_availability:
            return slot_problems(
                calendar,
                service,
                practitioner_id=practitioner_id,
                location_id=location_id,
                start=start,
                end=end,
                now=now,
                room=room,
                min_notice=min_notice,
            )
        return _booking_problems(
            calendar,
            practitioner_id,
            location_id,
            _ts(start),
            _ts_ceil(end),
            {room} if room else set(),
            (),
        )

    locals_ = expand_series(first, recurrence, count=count, until=until)
    for n, local in enumerate(locals_):
        start = to_utc(local, zone)
        end = start + duration
        problems = problems_at(start, end)
        if problems and closed_days != "keep" and all(p.problem in CLOSED_DAY_PROBLEMS for p in problems):
            if closed_days == "skip":
                continue
            stop = locals_[n + 1].date() if n + 1 < len(locals_) else local.date() + timedelta(days=7)
            for shift in range(1, 7):
                later = local + timedelta(days=shift)
                if later.date() >= stop:
                    break
                moved_start = to_utc(later, zone)
                moved = problems_at(moved_start, moved_start + duration)
                if not moved:
                    start, end, problems = moved_start, moved_start + duration, moved
                    break
        planned.append((start, end, problems))

    # Occurrences are in start order, so each only needs comparing with those that follow it
    # until one starts after it ends.
    for i, (start_i, end_i, problems_i) in enumerate(planned):
        for j in range(i + 1, len(planned)):
            start_j, _, problems_j = planned[j]
            if start_j >= end_i:
                break
            problems_i.append(
                SlotUnavailable(
                    SlotProblem.series_overlap,
                    f"Overlaps occurrence {j + 1} of this series ({_fmt(calendar, _ts(start_j))}).",
                    occurrence=j,
                )
            )
            problems_j.append(
                SlotUnavailable(
                    SlotProblem.series_overlap,
                    f"Overlaps occurrence {i + 1} of this series ({_fmt(calendar, _ts(start_i))}).",
                    occurrence=i,
                )
            )

    return SeriesPlan(
        occurrences=tuple(
            Occurrence(
                index=i,
                start=start,
                end=end,
                local_start=start.astimezone(zone),
                local_end=end.astimezone(zone),
                problems=tuple(problems),
            )
            for i, (start, end, problems) in enumerate(planned)
        )
    )
