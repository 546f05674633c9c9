"""Series booking at the desk: the patient found by typing, closed days moved to the next working day,
one confirmation email listing every date with one calendar file holding them all."""

from __future__ import annotations

import re
from datetime import date, timedelta

from booking_helpers import make_clinic, patient_with_account
from factories import login, make_account, make_practitioner
from icalendar import Calendar
from sqlalchemy import select

from hindfoot.db.models import Appointment, AvailabilityRule, Schedule


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _next(weekday: int) -> date:
    d = date.today() + timedelta(days=7)
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def test_desk_books_a_series_that_skips_sunday_and_the_patient_gets_one_email_and_one_ics(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Adaeze")
    # the nurse works Monday to Saturday only
    sched = db.scalar(select(Schedule).where(Schedule.practitioner_id == clinic.nurse.id))
    for rule in db.scalars(select(AvailabilityRule).where(AvailabilityRule.schedule_id == sched.id,
                                                          AvailabilityRule.weekday == 6)):
        db.delete(rule)
    desk = make_account(db, clinic.org, "receptionist", practitioner=make_practitioner(db, clinic.org, "receptionist"))
    db.commit()
    login(client, desk.email)
    page = client.get("/calendar/series")
    assert page.status_code == 200 and 'hx-get="/patients/pick"' in page.text and 'name="closed_days"' in page.text
    friday = _next(4)
    form = {"csrf_token": _csrf(page.text), "patient_id": str(ada.id), "service": "nurse_dressing",
            "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.fitzrovia.id),
            "first_date": friday.isoformat(), "time": "09:00", "every_days": "2", "count": "3",
            "closed_days": "next_open", "patient_q": "adae"}
    checked = client.post("/calendar/series", data={**form, "action": "check"})
    assert checked.status_code == 200 and "with problems" not in checked.text
    assert f'<option value="{ada.id}" selected' in checked.text  # the choice is kept
    inbox.clear()
    booked = client.post("/calendar/series", data={**form, "action": "book"})
    assert booked.status_code == 200 and "Booked 3 appointments" in booked.text
    db.expire_all()
    days = [a.start.date() for a in db.scalars(select(Appointment).where(Appointment.patient_id == ada.id)
                                                .order_by(Appointment.start))]
    assert [d.weekday() for d in days] == [4, 0, 1]  # Fri, (Sun ->) Mon, Tue
    mails = [m for m in inbox if m["To"] == ada.email]
    assert len(mails) == 1 and mails[0]["Subject"].startswith("3 appointments booked")
    text = mails[0].get_body(("plain",)).get_content()
    assert text.count(" at 09:00") == 3
    ics = [p for p in mails[0].iter_attachments() if p.get_filename() == "appointments.ics"]
    assert len(ics) == 1
    events = Calendar.from_ical(ics[0].get_content()).walk("VEVENT")
    assert len(events) == 3 and len({str(e["UID"]) for e in events}) == 3


def test_a_weekday_that_is_not_a_day_is_named_by_the_field_and_nothing_is_booked(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Adaeze")
    desk = make_account(db, clinic.org, "receptionist", practitioner=make_practitioner(db, clinic.org, "receptionist"))
    db.commit()
    login(client, desk.email)
    page = client.get("/calendar/series")
    form = {"csrf_token": _csrf(page.text), "patient_id": str(ada.id), "service": "nurse_dressing",
            "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.fitzrovia.id),
            "first_date": _next(0).isoformat(), "time": "10:30", "count": "4", "closed_days": "skip",
            "action": "book"}
    for bad in (["2", "tuesday"], ["9"], ["1"] * 8):
        r = client.post("/calendar/series", data={**form, "weekdays": bad})
        assert r.status_code == 422, (bad, r.text[:300])
        assert 'id="s-weekdays-error"' in r.text and 'href="#s-weekdays"' in r.text
        assert "Weekly on: choose days from Monday to Sunday" in r.text
        assert 'name="time" type="time"' in r.text and 'value="10:30"' in r.text  # what was typed is kept
    assert db.scalars(select(Appointment).where(Appointment.patient_id == ada.id)).first() is None
    ok = client.post("/calendar/series", data={**form, "weekdays": ["0", "2"], "action": "check"})
    assert ok.status_code == 200 and "s-weekdays-error" not in ok.text
    assert ok.text.count('name="weekdays" value="0" checked') == 1 and 'value="2" checked' in ok.text
