"""A small three-location London clinic for the pure scheduling tests (no database).

A plain module, not a conftest, so tests import its names explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from hindfoot.scheduling.availability import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    ClinicCalendar,
)

LONDON = ZoneInfo("Europe/London")
HARLEY, CANARY, WIMBLEDON = "harley-st", "canary-wharf", "wimbledon"
SURGEON, SPORTS, PHYSIO, NURSE, RADIOLOGIST, ADMIN = (
    "mr-talus",
    "dr-sprain",
    "ms-rehab",
    "sr-dressing",
    "dr-scan",
    "mr-desk",
)
ROLES = {
    SURGEON: "surgeon",
    SPORTS: "sports_physician",
    PHYSIO: "physiotherapist",
    NURSE: "nurse",
    RADIOLOGIST: "radiologist",
    ADMIN: "admin",
}
MONDAY = date(2026, 6, 1)  # an ordinary summer Monday (BST)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def weekdays(
    practitioner: str, location: str, start: int = 9, end: int = 17, **kw: object
) -> list[AvailabilityRule]:
    """Monday-to-Friday rules, start:00 to end:00 local."""
    return [
        AvailabilityRule(practitioner, location, d, time(start), time(end), **kw)  # type: ignore[arg-type]
        for d in range(5)
    ]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_calendar(
    *,
    rules: Iterable[AvailabilityRule] | None = None,
    exceptions: Iterable[AvailabilityException] = (),
    bookings: Iterable[Booking] = (),
    practitioners: dict[str, str] | None = None,
) -> ClinicCalendar:
    """A calendar; by default only the surgeon works, weekdays 09-17 at Harley Street."""
    return ClinicCalendar(
        timezone="Europe/London",
        practitioners=ROLES if practitioners is None else practitioners,
        rules=weekdays(SURGEON, HARLEY) if rules is None else rules,
        exceptions=exceptions,
        bookings=bookings,
    )
