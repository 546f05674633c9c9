"""iCalendar invite and cancellation: they parse back and a client can match them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, vCalAddress

from hindfoot.scheduling.ical import (
    Attendee,
    CalendarAppointment,
    appointment_uid,
    build_cancellation,
    build_invite,
)

START = datetime(2026, 3, 30, 9, tzinfo=ZoneInfo("Europe/London"))  # 08:00Z
STAMP = datetime(2026, 3, 1, 12, tzinfo=UTC)


def appointment(**changes: object) -> CalendarAppointment:
    fields: dict[str, object] = {
        "uid": appointment_uid("4f1c", "clinic.example"),
        "start": START,
        "end": START + timedelta(minutes=30),
        "summary": "New patient consultation",
        "location": "Harley Street clinic, London W1G",
        "description": "Bring any scans, and shorts so we can examine your ankle.",
        "organizer": Attendee("bookings@clinic.example", "Foot & Ankle Clinic"),
        "attendees": (
            Attendee("pat@example.org", "Pat Example"),
            Attendee("surgeon@clinic.example"),
        ),
    }
    fields.update(changes)
    return CalendarAppointment(**fields)  # type: ignore[arg-type]


def parse(data: bytes) -> tuple[Calendar, dict[str, object]]:
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def test_invite_round_trip() -> None:
    data = build_invite(appointment(), dtstamp=STAMP)
    assert isinstance(data, bytes)
    assert b"DTSTART:20260330T080000Z" in data and b"DTEND:20260330T083000Z" in data
    cal, event = parse(data)
    assert str(cal["method"]) == "REQUEST"
    assert str(event["uid"]) == "4f1c@clinic.example"
    assert event.decoded("dtstart") == datetime(2026, 3, 30, 8, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.decoded("dtend") == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    assert str(event["summary"]) == "New patient consultation"
    assert str(event["location"]) == "Harley Street clinic, London W1G"
    assert "Bring any scans" in str(event["description"])
    assert str(event["organizer"]) == "mailto:bookings@clinic.example"
    attendees: list[vCalAddress] = event["attendee"]  # type: ignore[assignment]
    assert [str(a) for a in attendees] == [
        "mailto:pat@example.org",
        "mailto:surgeon@clinic.example",
    ]
    assert attendees[0].params["CN"] == "Pat Example"
    assert event["sequence"] == 0
    assert str(event["status"]) == "CONFIRMED"


def test_cancellation_same_uid_higher_sequence() -> None:
    appt = appointment(sequence=2)
    _, invite = parse(build_invite(appt, dtstamp=STAMP))
    cal, cancel = parse(build_cancellation(appt, dtstamp=STAMP))
    assert str(cal["method"]) == "CANCEL"
    assert str(cancel["uid"]) == str(invite["uid"])
    assert cancel["sequence"] == 3 and invite["sequence"] == 2
    assert str(cancel["status"]) == "CANCELLED"


def test_single_attendee_and_no_description() -> None:
    data = build_invite(
        appointment(attendees=(Attendee("pat@example.org"),), description=""), dtstamp=STAMP
    )
    _, event = parse(data)
    assert str(event["attendee"]) == "mailto:pat@example.org"
    assert "description" not in event


def test_dtstamp_defaults_to_now() -> None:
    _, event = parse(build_invite(appointment()))
    assert abs(event.decoded("dtstamp") - datetime.now(UTC)) < timedelta(minutes=1)  # type: ignore[attr-defined]


def test_naive_or_backwards_times_are_refused() -> None:
    with pytest.raises(ValueError):
        appointment(start=datetime(2026, 3, 30, 9))
    with pytest.raises(ValueError):
        appointment(end=START - timedelta(minutes=1))
