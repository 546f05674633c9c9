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

One job per module: ``times`` (wall clock to instants), ``inputs`` (rules, exceptions, bookings,
slots), ``calendar`` (the indexed :class:`ClinicCalendar`), ``search`` (free slots), ``problems``
and ``validators`` (why a time cannot be booked), ``series`` (recurring appointments). Import
from this package, not from the modules.
"""

from __future__ import annotations

from hindfoot.scheduling.availability.calendar import ClinicCalendar
from hindfoot.scheduling.availability.inputs import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    Slot,
)
from hindfoot.scheduling.availability.problems import SlotProblem, SlotUnavailable
from hindfoot.scheduling.availability.search import find_slots, next_available
from hindfoot.scheduling.availability.series import (
    Occurrence,
    Recurrence,
    SeriesPlan,
    expand_series,
    plan_series,
)
from hindfoot.scheduling.availability.times import (
    MAX_SEARCH_DAYS,
    MAX_SERIES_OCCURRENCES,
    Id,
    to_utc,
)
from hindfoot.scheduling.availability.validators import check_slot, ensure_bookable, slot_problems

__all__ = [
    "MAX_SEARCH_DAYS",
    "MAX_SERIES_OCCURRENCES",
    "AvailabilityException",
    "AvailabilityRule",
    "Booking",
    "ClinicCalendar",
    "Id",
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
