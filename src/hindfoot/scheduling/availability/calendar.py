"""The indexed calendar: rules, exceptions and bookings resolved to busy intervals per person,
place and room.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from hindfoot.scheduling.availability.inputs import AvailabilityException, AvailabilityRule, Booking
from hindfoot.scheduling.availability.times import Id, _ts, _ts_ceil, _zone
from hindfoot.scheduling.catalogue import Role

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


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
