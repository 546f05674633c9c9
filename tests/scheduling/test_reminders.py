"""Reminders go out once per visit, however often (or concurrently) the job runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import icalendar
import pytest
from booking_helpers import actor, at, future_day, make_clinic, patient_with_account
from smtp_server import free_port, smtp_server
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli
from hindfoot.db.models import Appointment
from hindfoot.scheduling import booking
from hindfoot.scheduling.notifications import send_reminders
from hindfoot.settings import get_settings


@pytest.fixture
def booked(db):
    clinic = make_clinic(db)
    day = future_day(3)
    appts = []
    for i, hhmm in enumerate(("09:00", "10:00", "11:00")):
        _, account = patient_with_account(db, clinic, given=f"P{i}")
        appts.append(booking.book_appointment(
            db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
            location_id=clinic.marylebone.id, start=at(day, hhmm)))
    db.commit()
    return clinic, day, appts


def test_reminders_are_sent_once(settings, session_factory, db, booked):
    clinic, day, appts = booked
    booking.cancel_appointment(db, actor(clinic.admin), appts[2].id)
    db.commit()
    now = at(day, "08:00") - timedelta(hours=20)  # 09:00 and 10:00 are within 24 h; 11:00 is cancelled
    with smtp_server() as (port, inbox):
        mail = settings.model_copy(update={"smtp_port": port})
        first = send_reminders(session_factory, mail, now=now, within=timedelta(hours=24))
        assert (first.due, first.sent, first.failed) == (2, 2, 0)
        again = send_reminders(session_factory, mail, now=now + timedelta(hours=1), within=timedelta(hours=24))
        assert (again.due, again.sent) == (0, 0)
        # Two runs at once still send each reminder only once.
        booking.reschedule_appointment(db, actor(clinic.admin), appts[0].id, start=at(day, "12:00"), now=now)
        db.commit()
        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(lambda _: send_reminders(session_factory, mail, now=now,
                                                          within=timedelta(hours=30)), range(4)))
        assert sum(r.sent for r in runs) == 1
    assert len(inbox) == 3
    assert all("Reminder" in m["Subject"] for m in inbox)
    part = next(inbox[0].iter_attachments())
    assert icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")


def test_failed_send_is_retried_next_run(settings, session_factory, db, booked):
    _, day, appts = booked
    now = at(day, "08:00") - timedelta(hours=20)
    dead = settings.model_copy(update={"smtp_port": free_port()})  # nothing listens there
    run = send_reminders(session_factory, dead, now=now, within=timedelta(hours=24))
    assert (run.sent, run.failed) == (0, 3)
    db.expire_all()
    assert all(db.get(Appointment, a.id).reminder_sent_at is None for a in appts)
    with smtp_server() as (port, inbox):
        run = send_reminders(session_factory, settings.model_copy(update={"smtp_port": port}), now=now,
                             within=timedelta(hours=24))
    assert run.sent == 3 and len(inbox) == 3


def test_cli(database_url, db, booked, monkeypatch):
    _, day, _ = booked
    with smtp_server() as (port, inbox):
        monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
        monkeypatch.setenv("HINDFOOT_SMTP_PORT", str(port))
        get_settings.cache_clear()
        try:
            now = (at(day, "08:00") - timedelta(hours=20)).isoformat()
            result = CliRunner().invoke(cli, ["reminders", "send", "--now", now])
            assert result.exit_code == 0, result.output
            assert "3 due, 3 sent" in result.output
            result = CliRunner().invoke(cli, ["reminders", "send", "--now", now])
            assert "0 due, 0 sent" in result.output
            bad = CliRunner().invoke(cli, ["reminders", "send", "--now", "yesterday"])
            assert bad.exit_code == 2
        finally:
            get_settings.cache_clear()
    assert len(inbox) == 3
