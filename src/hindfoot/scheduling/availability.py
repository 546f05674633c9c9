"""Slot search, booking validators and appointment series, as pure logic.

No database, no web: the booking service loads rules, exceptions and bookings, builds one
:class:`ClinicCalendar`, and asks it questions. Keeping this pure is what lets the same rules
answer the patient's "when can I come?" page, the API and the double-booking check, and lets the
tests pin the awkward cases (daylight saving, leave, closures) without a database.

Time model, because this is where scheduling code usually goes wrong:

* Availability rules are *wall-clock* times in the clinic's zone (a 09:00-17:00 rule means 09:00
  on the clinic's clocks in GMT and in BST alike). Each rule is resolved to UTC per date, so the
  last Sundays of March and October need no special handling.
* Bookings and slots are instants: timezone-aware datetimes, returned in UTC, with the local
  wall-clock time alongside for display.
* Exception ranges (leave, closures) may be aware datetimes (instants), naive datetimes (clinic
  wall time) or dates (whole local days, end date included).
* A wall time that does not exist (01:30 on the day clocks go forward) is read with the offset in
  force before the change, as RFC 5545 does: it lands one hour later on the clock. An ambiguous
  wall time (01:30 on the day clocks go back) means its first occurrence.

Internally instants are whole epoch seconds and busy time is kept as sorted, merged intervals, so
each candidate slot is checked with one bisect and a blocked run of slots is skipped at once.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

from hindfoot.errors import HindfootError, InvalidInput
from hindfoot.scheduling.catalogue import Role, Service

__all__ = [
    "AvailabilityException",
    "AvailabilityRule",
    "Booking",
    "ClinicCalendar",
    "Occurrence",
    "Recurrence",
    "SeriesPlan",
    "Slot",
    "SlotProblem",
    "SlotUnavailable",
    "check_slot",
    "ensure_bookable",
    "expand_series",
    "find_slots",
    "next_available",
    "plan_series",
    "slot_problems",
    "to_utc",
]

Id: TypeAlias = Hashable
"""Practitioner, location and booking ids: UUIDs from the database, anything hashable in tests."""

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

MAX_SEARCH_DAYS = 366
MAX_SERIES_OCCURRENCES = 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)


# --------------------------------------------------------------------------- time helpers


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")


def _ts(value: datetime) -> int:
    """Aware datetime -> epoch seconds, rounded down (exact integer arithmetic, no floats)."""
    return (value - _EPOCH) // _SECOND


def _ts_ceil(value: datetime) -> int:
    return -((_EPOCH - value) // _SECOND)


def _from_ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def to_utc(local: datetime, tz: str | ZoneInfo) -> datetime:
    """A clinic wall-clock time (naive) as a UTC instant; aware values are only converted.

    Non-existent and ambiguous wall times follow the module rules (RFC 5545 behaviour).
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=_zone(tz)).astimezone(UTC)


def _local_midnight_ts(day: date, zone: ZoneInfo) -> int:
    return _ts(datetime.combine(day, time(0), tzinfo=zone))


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class AvailabilityRule:
    """A weekly opening of one practitioner at one location (weekday 0 = Monday, wall-clock times).

    ``services`` empty means every service the practitioner's role provides; otherwise the rule
    offers only those (a surgeon's Thursday list kept for day-case surgery, say). ``valid_from``
    and ``valid_to`` are inclusive local dates, so a rota change is a new rule, not an edit that
    rewrites the past. ``room`` ties the rule's slots to a room that room bookings can block.
    """

    practitioner_id: Id
    location_id: Id
    weekday: int
    start: time
    end: time
    services: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_to: date | None = None
    room: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.start >= self.end:
            raise ValueError("availability must end after it starts, on the same day")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        object.__setattr__(self, "services", frozenset(str(s) for s in self.services))

    def allows(self, service_code: str) -> bool:
        return not self.services or service_code in self.services

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True, slots=True)
class AvailabilityException:
    """Time nobody can book: leave, a location closure, or a whole-clinic closure.

    ``practitioner_id`` only: leave (applies at every location). ``location_id`` only: the
    location is closed for everyone. Both: the practitioner is away from that location only.
    Neither: the whole clinic is closed (a bank holiday). See the module docstring for how
    ``start``/``end`` are read; a date ``end`` is the last day included.
    """

    start: datetime | date
    end: datetime | date
    practitioner_id: Id | None = None
    location_id: Id | None = None
    reason: str = ""

    def bounds(self, tz: str | ZoneInfo) -> tuple[int, int]:
        """Epoch-second half-open range in the clinic's zone."""
        zone = _zone(tz)
        start = (
            _ts(to_utc(self.start, zone))
            if isinstance(self.start, datetime)
            else _local_midnight_ts(self.start, zone)
        )
        end = (
            _ts_ceil(to_utc(self.end, zone))
            if isinstance(self.end, datetime)
            else _local_midnight_ts(self.end + _DAY, zone)
        )
        if end <= start:
            raise ValueError(f"exception ends before it starts: {self.start} to {self.end}")
        return start, end


@dataclass(frozen=True, slots=True)
class Booking:
    """An existing appointment (or room hold) that makes its time busy.

    It blocks its practitioner at every location, and its room at its location when both
    ``location_id`` and ``room`` are set (a theatre or scanner hold needs no practitioner).
    """

    start: datetime
    end: datetime
    practitioner_id: Id | None = None
    location_id: Id | None = None
    room: str | None = None
    id: Id | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "booking start")
        _require_aware(self.end, "booking end")
        if self.end <= self.start:
            raise ValueError("booking ends before it starts")
        if self.practitioner_id is None and (self.room is None or self.location_id is None):
            raise ValueError("a booking blocks a practitioner, or a room at a location")


@dataclass(frozen=True, slots=True)
class Slot:
    """A free, bookable time: UTC instants for storage, local wall-clock times for display.

    The local times are computed on access: a month's search can return thousands of slots
    of which a page shows a few dozen.
    """

    start: datetime
    end: datetime
    practitioner_id: Id
    location_id: Id
    service: str
    room: str | None = None
    zone: ZoneInfo = field(default=ZoneInfo("UTC"), repr=False, compare=False)

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(self.zone)


# --------------------------------------------------------------------------- errors


class SlotProblem(enum.StrEnum):
    """Why a time cannot be booked; the value is the error ``code`` the API returns."""

    invalid_time = "invalid_time"
    unknown_practitioner = "unknown_practitioner"
    service_not_provided = "service_not_provided"
    in_past = "slot_in_past"
    too_short_notice = "too_short_notice"
    on_leave = "practitioner_on_leave"
    location_closed = "location_closed"
    outside_availability = "outside_availability"
    already_taken = "slot_taken"
    series_overlap = "series_overlap"


_STATUS = {
    SlotProblem.invalid_time: 422,
    SlotProblem.unknown_practitioner: 422,
    SlotProblem.service_not_provided: 422,
    SlotProblem.in_past: 422,
    SlotProblem.too_short_notice: 422,
}
_FIELD = {
    SlotProblem.unknown_practitioner: "practitioner_id",
    SlotProblem.service_not_provided: "service",
    SlotProblem.location_closed: "location_id",
}


class SlotUnavailable(HindfootError):
    """A time that cannot be booked, with the reason as ``code`` and a sentence as ``message``.

    A :class:`~hindfoot.errors.HindfootError`, so the one error handler maps it: 409 when the
    time is genuinely unavailable (taken, leave, closed, outside hours), 422 when the request
    itself is wrong (in the past, wrong role). ``booking_id`` names the clashing booking and
    ``occurrence`` the clashing series occurrence, when there is one.
    """

    def __init__(
        self,
        problem: SlotProblem,
        message: str,
        *,
        booking_id: Id | None = None,
        occurrence: int | None = None,
    ) -> None:
        super().__init__(message, field=_FIELD.get(problem, "start"))
        self.problem = problem
        self.code = problem.value
        self.status_code = _STATUS.get(problem, 409)
        self.booking_id = booking_id
        self.occurrence = occurrence

    def __repr__(self) -> str:
        return f"SlotUnavailable({self.code!r}, {self.message!r})"


# --------------------------------------------------------------------------- indexes


class _Busy:
    """Sorted, merged, disjoint half-open intervals: an overlap test is one bisect."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[tuple[int, int]]) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for s, e in sorted(intervals):
            if ends and s <= ends[-1]:
                if e > ends[-1]:
                    ends[-1] = e
            else:
                starts.append(s)
                ends.append(e)
        self.starts = starts
        self.ends = ends

    def blocking_end(self, s: int, e: int) -> int | None:
        """End of the busy interval overlapping [s, e), or None when [s, e) is free."""
        i = bisect_right(self.ends, s)
        if i < len(self.starts) and self.starts[i] < e:
            return self.ends[i]
        return None


class _Index(Generic[T]):
    """Possibly overlapping intervals with payloads, queried by overlap in O(log n + hits).

    Items are sorted by start; an item overlapping [s, e) starts before ``e`` and, being at most
    ``max_len`` long, after ``s - max_len``: two bisects bound the scan.
    """

    __slots__ = ("items", "max_len", "starts")

    def __init__(self) -> None:
        self.items: list[tuple[int, int, T]] = []
        self.starts: list[int] = []
        self.max_len = 0

    def add(self, s: int, e: int, payload: T) -> None:
        self.items.append((s, e, payload))
        self.max_len = max(self.max_len, e - s)

    def freeze(self) -> None:
        self.items.sort(key=lambda item: (item[0], item[1]))
        self.starts = [item[0] for item in self.items]

    def overlapping(self, s: int, e: int) -> list[T]:
        lo = bisect_right(self.starts, s - self.max_len)
        hi = bisect_left(self.starts, e)
        return [p for (a, b, p) in self.items[lo:hi] if b > s and a < e]

    def spans(self) -> Iterable[tuple[int, int]]:
        return ((s, e) for (s, e, _) in self.items)


def _lookup(indexes: Mapping[K, _Index[T]], key: K) -> _Index[T]:
    """Read without inserting: indexing a defaultdict would grow it on every query."""
    found = indexes.get(key)
    return found if found is not None else _Index()


class ClinicCalendar:
    """Rules, exceptions and bookings indexed once, for many questions.

    The booking service builds one from the rows it loaded (practitioners that can be booked,
    with their role) and hands it to :func:`find_slots`, :func:`slot_problems` or
    :func:`plan_series`. Practitioners missing from ``practitioners`` are treated as not
    bookable, which is how inactive staff drop out of search. (``practitioners`` is typed with
    ``Any`` keys because ``Mapping`` is invariant in its key: ``dict[UUID, str]`` must fit.)
    """

    def __init__(
        self,
        *,
        timezone: str | ZoneInfo,
        practitioners: Mapping[Any, Role | str],
        rules: Iterable[AvailabilityRule] = (),
        exceptions: Iterable[AvailabilityException] = (),
        bookings: Iterable[Booking] = (),
    ) -> None:
        self.zone = _zone(timezone)
        self.practitioners: dict[Id, str] = {k: str(v) for k, v in practitioners.items()}
        self.rules = tuple(rules)
        self.exceptions = tuple(exceptions)
        self.bookings = tuple(bookings)

        self._rules: dict[tuple[Id, Id], list[AvailabilityRule]] = defaultdict(list)
        for rule in self.rules:
            self._rules[(rule.practitioner_id, rule.location_id)].append(rule)

        self._leave: dict[Id, _Index[AvailabilityException]] = defaultdict(_Index)
        self._leave_at: dict[tuple[Id, Id], _Index[AvailabilityException]] = defaultdict(_Index)
        self._closed: dict[Id, _Index[AvailabilityException]] = defaultdict(_Index)
        self._clinic_closed: _Index[AvailabilityException] = _Index()
        for exc in self.exceptions:
            s, e = exc.bounds(self.zone)
            if exc.practitioner_id is not None and exc.location_id is not None:
                self._leave_at[(exc.practitioner_id, exc.location_id)].add(s, e, exc)
            elif exc.practitioner_id is not None:
                self._leave[exc.practitioner_id].add(s, e, exc)
            elif exc.location_id is not None:
                self._closed[exc.location_id].add(s, e, exc)
            else:
                self._clinic_closed.add(s, e, exc)

        self._by_practitioner: dict[Id, _Index[Booking]] = defaultdict(_Index)
        self._by_room: dict[tuple[Id, str], _Index[Booking]] = defaultdict(_Index)
        for booking in self.bookings:
            s, e = _ts(booking.start), _ts_ceil(booking.end)
            if booking.practitioner_id is not None:
                self._by_practitioner[booking.practitioner_id].add(s, e, booking)
            if booking.location_id is not None and booking.room is not None:
                self._by_room[(booking.location_id, booking.room)].add(s, e, booking)

        for exc_index in (
            *self._leave.values(),
            *self._leave_at.values(),
            *self._closed.values(),
            self._clinic_closed,
        ):
            exc_index.freeze()
        for booking_index in (*self._by_practitioner.values(), *self._by_room.values()):
            booking_index.freeze()
        self._busy_cache: dict[tuple[Id, Id, str | None], _Busy] = {}

    def local(self, value: datetime) -> datetime:
        """An instant on the clinic's clocks."""
        return value.astimezone(self.zone)

    def role_of(self, practitioner_id: Id) -> str | None:
        return self.practitioners.get(practitioner_id)

    def _busy(self, practitioner_id: Id, location_id: Id, room: str | None) -> _Busy:
        """Everything that blocks this practitioner at this location (and room), merged."""
        key = (practitioner_id, location_id, room)
        busy = self._busy_cache.get(key)
        if busy is None:
            spans = [
                *_lookup(self._by_practitioner, practitioner_id).spans(),
                *_lookup(self._leave, practitioner_id).spans(),
                *_lookup(self._leave_at, (practitioner_id, location_id)).spans(),
                *_lookup(self._closed, location_id).spans(),
                *self._clinic_closed.spans(),
            ]
            if room is not None:
                spans += _lookup(self._by_room, (location_id, room)).spans()
            busy = _Busy(spans)
            self._busy_cache[key] = busy
        return busy

    def _windows(
        self, practitioner_id: Id, location_id: Id, day: date, service_code: str
    ) -> list[tuple[int, int, AvailabilityRule]]:
        """The day's open windows for a service, in epoch seconds, sorted."""
        out = []
        for rule in self._rules.get((practitioner_id, location_id), ()):
            if rule.weekday == day.weekday() and rule.valid_on(day) and rule.allows(service_code):
                ws = _ts(datetime.combine(day, rule.start, tzinfo=self.zone))
                we = _ts(datetime.combine(day, rule.end, tzinfo=self.zone))
                out.append((ws, we, rule))
        out.sort(key=lambda w: (w[0], w[1]))
        return out


# --------------------------------------------------------------------------- slot search


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


# --------------------------------------------------------------------------- validators


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


# --------------------------------------------------------------------------- series


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
) -> SeriesPlan:
    """Expand a series, convert each occurrence to UTC, and say which ones clash and why.

    Every occurrence is checked against existing bookings and against the other occurrences
    (a series whose appointments overlap each other is a data-entry slip worth catching). With
    ``check_availability`` (the default) each one also goes through :func:`slot_problems`, so
    leave, closures, opening hours and the past are reported per occurrence; turn it off for
    series staff place deliberately outside the published rota.

    ``first`` is the first appointment's wall-clock time at the clinic (an aware value is
    read on the clinic's clocks); every occurrence keeps that wall-clock time.
    """
    _require_aware(now, "now")
    duration = timedelta(
        seconds=_minutes(duration_minutes, service.duration_minutes, "duration_minutes")
    )
    zone = calendar.zone
    if first.tzinfo is not None:
        first = first.astimezone(zone).replace(tzinfo=None)
    planned: list[tuple[datetime, datetime, list[SlotUnavailable]]] = []
    for local in expand_series(first, recurrence, count=count, until=until):
        start = to_utc(local, zone)
        end = start + duration
        if check_availability:
            problems = slot_problems(
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
        else:
            problems = _booking_problems(
                calendar,
                practitioner_id,
                location_id,
                _ts(start),
                _ts_ceil(end),
                {room} if room else set(),
                (),
            )
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
