"""iCalendar (RFC 5545/5546) invites and cancellations for appointments, as bytes.

Mail clients match a cancellation to the invite it cancels by UID and accept it only when its
SEQUENCE is higher, so both messages are built from the same :class:`CalendarAppointment` and
the cancellation bumps the sequence itself. Times go out in UTC ("Z"), which every client reads
the same way and which needs no VTIMEZONE block.

Invites travel by ordinary e-mail: keep clinical detail (diagnosis, findings) out of the summary
and description; the service name, place and practical instructions are enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

__all__ = [
    "Attendee",
    "CalendarAppointment",
    "appointment_uid",
    "build_cancellation",
    "build_invite",
]

PRODID = "-//hindfoot//scheduling//EN"


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CalendarAppointment:
    """What an invite says about one appointment. ``sequence`` is the invite's current revision
    (0 when first sent; the service bumps it on each reschedule it sends)."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str
    organizer: Attendee
    attendees: Sequence[Attendee] = field(default_factory=tuple)
    description: str = ""
    sequence: int = 0

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("the appointment must end after it starts")
        if self.sequence < 0:
            raise ValueError("sequence cannot be negative")


def appointment_uid(appointment_id: object, domain: str = "hindfoot") -> str:
    """A stable, globally unique UID: the same appointment always gets the same one."""
    return f"{appointment_id}@{domain}"


def _address(person: Attendee, *, attendee: bool) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = vText(person.name)
    if attendee:
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def _calendar(
    appt: CalendarAppointment, *, method: str, sequence: int, status: str, dtstamp: datetime | None
) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = Event()
    event.add("uid", appt.uid)
    event.add("dtstamp", (dtstamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", appt.start.astimezone(UTC))
    event.add("dtend", appt.end.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("status", status)
    event.add("summary", appt.summary)
    event.add("location", appt.location)
    if appt.description:
        event.add("description", appt.description)
    event.add("organizer", _address(appt.organizer, attendee=False))
    for person in appt.attendees:
        event.add("attendee", _address(person, attendee=True))
    cal.add_component(event)
    return bytes(cal.to_ical())


def build_invite(appt: CalendarAppointment, *, dtstamp: datetime | None = None) -> bytes:
    """METHOD:REQUEST for a new or rescheduled appointment (``dtstamp`` defaults to now)."""
    return _calendar(
        appt, method="REQUEST", sequence=appt.sequence, status="CONFIRMED", dtstamp=dtstamp
    )


def build_series_invite(appts: list[CalendarAppointment], *, dtstamp: datetime | None = None) -> bytes:
    """One METHOD:REQUEST calendar holding every appointment of a series (one VEVENT each, its own UID)."""
    if not appts:
        raise ValueError("a series invite needs at least one appointment")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "REQUEST")
    for appt in appts:
        single = Calendar.from_ical(
            _calendar(appt, method="REQUEST", sequence=appt.sequence, status="CONFIRMED", dtstamp=dtstamp))
        for event in single.walk("VEVENT"):
            cal.add_component(event)
    return bytes(cal.to_ical())


def build_cancellation(appt: CalendarAppointment, *, dtstamp: datetime | None = None) -> bytes:
    """METHOD:CANCEL for the same UID with SEQUENCE one higher, so clients apply it."""
    return _calendar(
        appt, method="CANCEL", sequence=appt.sequence + 1, status="CANCELLED", dtstamp=dtstamp
    )
