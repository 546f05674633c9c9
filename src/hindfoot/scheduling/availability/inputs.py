"""What the calendar is built from (rules, exceptions, bookings) and what it offers (slots)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hindfoot.scheduling.availability.times import (
    _DAY,
    Id,
    _local_midnight_ts,
    _require_aware,
    _ts,
    _ts_ceil,
    _zone,
    to_utc,
)


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
