"""The front desk: arrived, seen and did-not-attend with their times (API and pages), and the
clinician's "my clinic today" landing page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from booking_helpers import LONDON, future_day, make_clinic, patient_with_account
from factories import login
from sqlalchemy import select

from hindfoot.db.models import Appointment, AuditEvent


def _appt(db, clinic, patient, start: datetime, **extra) -> Appointment:  # type: ignore[no-untyped-def]
    appt = Appointment(patient_id=patient.id, practitioner_id=clinic.surgeon.id, location_id=clinic.city.id,
                       service_type="new_consultation", status="booked", start=start,
                       end=start + timedelta(minutes=30), **extra)
    db.add(appt)
    db.flush()
    return appt


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_desk_checks_in_marks_seen_and_did_not_attend(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic)
    bea, _ = patient_with_account(db, clinic, given="Bea")
    now = datetime.now(UTC).replace(microsecond=0)
    first = _appt(db, clinic, ada, now - timedelta(minutes=10))
    missed = _appt(db, clinic, bea, now - timedelta(minutes=40))
    later = _appt(db, clinic, ada, datetime.combine(future_day(3), datetime.min.time(), tzinfo=UTC) + timedelta(hours=10))
    db.commit()
    login(client, clinic.admin.email)
    r = client.post(f"/api/appointments/{later.id}/check-in")
    assert r.status_code == 409 and "not today" in r.text, r.text
    assert client.post(f"/api/appointments/{later.id}/seen").status_code == 409
    r = client.post(f"/api/appointments/{first.id}/check-in")
    assert r.status_code == 200 and r.json()["status"] == "arrived" and r.json()["checked_in_at"]
    assert client.post(f"/api/appointments/{first.id}/check-in").status_code == 409  # once
    page = client.get("/calendar", params={"view": "day", "day": now.date().isoformat()})
    assert "arrived" in page.text and f"/appointments/{first.id}/desk/seen" in page.text
    assert f"/appointments/{later.id}/desk/" not in page.text
    done = client.post(f"/appointments/{first.id}/desk/seen",
                       data={"csrf_token": _csrf(page.text), "back": "/calendar?view=day"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/calendar?view=day"
    dna = client.post(f"/appointments/{missed.id}/desk/no-show", data={"csrf_token": _csrf(page.text)})
    assert dna.status_code == 200 and "Marked as did not attend" in dna.text and "did not attend" in dna.text
    db.expire_all()
    seen = db.get(Appointment, first.id)
    assert seen.status == "fulfilled" and seen.checked_in_at <= seen.seen_at
    assert db.get(Appointment, missed.id).status == "noshow"
    descriptions = set(db.scalars(select(AuditEvent.description).where(AuditEvent.entity_type == "Appointment")))
    assert {"checked in (arrived)", "seen (fulfilled)", "marked no-show"} <= descriptions


def test_patients_cannot_use_the_desk(client, db):
    clinic = make_clinic(db)
    ada, account = patient_with_account(db, clinic)
    appt = _appt(db, clinic, ada, datetime.now(UTC) - timedelta(minutes=5))
    db.commit()
    login(client, account.email)
    assert client.post(f"/api/appointments/{appt.id}/check-in").status_code == 403


def test_a_clinician_lands_on_their_clinic_today(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic)
    bea, _ = patient_with_account(db, clinic, given="Bea")
    now = datetime.now(UTC)
    _appt(db, clinic, ada, now + timedelta(minutes=30), triage="urgent")
    other = _appt(db, clinic, bea, now + timedelta(minutes=60))
    other.practitioner_id = clinic.physio.id
    db.commit()
    login(client, clinic.clinician.email)
    landing = client.get("/me", follow_redirects=False)
    assert landing.headers["location"] == "/today"
    today = client.get("/today")
    assert today.status_code == 200 and "My clinic today" in today.text
    assert ada.display_name in today.text and "Triaged urgent" in today.text
    assert bea.display_name not in today.text  # another clinician's patient


def test_the_day_grid_has_a_column_per_clinician_and_books_a_free_time(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic)
    day = future_day(2)
    start = datetime.combine(day, datetime.min.time()).replace(hour=10, tzinfo=LONDON).astimezone(UTC)
    _appt(db, clinic, ada, start, triage="urgent")  # surgeon at the City 14:00-18:00: 10:00 is off-rota, still shown
    db.commit()
    login(client, clinic.admin.email)
    bad = client.get("/calendar/grid", params={"day": "not-a-day", "location_id": str(clinic.city.id)})
    assert bad.status_code == 422 and "Date: enter a real date" in bad.text
    page = client.get("/calendar/grid", params={"day": day.isoformat(), "location_id": str(clinic.city.id),
                                                 "service": "new_consultation"})
    assert page.status_code == 200
    header = re.search(r"<thead>(.*?)</thead>", page.text, re.S).group(1)
    assert clinic.surgeon.display_name in header and clinic.physio.display_name not in header  # physio: Marylebone
    assert ada.display_name in page.text and "Triaged urgent" in page.text
    links = [u.replace("&amp;", "&") for u in re.findall(r'class="slot-free" href="([^"]+)"', page.text)]
    assert links and all(str(clinic.city.id) in u for u in links)
    confirm = client.get(links[0])
    assert confirm.status_code == 200 and 'name="patient_choice"' in confirm.text
    assert 'hx-get="/patients/pick"' in confirm.text and ada.display_name not in confirm.text  # found by typing
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    found = client.post("/book/confirm", data={**hidden, "action": "find", "patient_q": ada.family_name})
    assert found.status_code == 200 and f'value="{ada.id}"' in found.text  # without script: "Find"
    missing = client.post("/book/confirm", data={**hidden, "patient_q": "lovel"})
    assert missing.status_code == 422 and 'id="f-patient_choice-error"' in missing.text and 'value="lovel"' in missing.text
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    done = client.post("/book/confirm", data={**hidden, "patient_choice": str(ada.id)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    again = client.get("/calendar/grid", params={"day": day.isoformat(), "location_id": str(clinic.city.id)})
    assert again.text.count(ada.display_name) == 2


def test_a_series_books_what_fits_and_offers_another_time_for_each_clash(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic)
    bea, _ = patient_with_account(db, clinic, given="Bea")
    day = future_day(3)
    nurse_at = lambda d: datetime.combine(d, datetime.min.time()).replace(hour=9, tzinfo=LONDON).astimezone(UTC)  # noqa: E731
    taken = _appt(db, clinic, bea, nurse_at(day + timedelta(days=2)))
    taken.practitioner_id, taken.location_id, taken.service_type = clinic.nurse.id, clinic.fitzrovia.id, "nurse_dressing"
    taken.end = taken.start + timedelta(minutes=20)
    db.commit()
    login(client, clinic.admin.email)
    page = client.get("/calendar/series", params={"patient_id": str(ada.id)})
    form = {"csrf_token": _csrf(page.text), "patient_id": str(ada.id), "service": "nurse_dressing",
            "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.fitzrovia.id),
            "first_date": day.isoformat(), "time": "09:00", "every_days": "2", "count": "3"}
    refused = client.post("/calendar/series", data={**form, "action": "book"})
    assert refused.status_code == 409 and "Occurrence 2" in refused.text
    done = client.post("/calendar/series", data={**form, "action": "book_fitting"})
    assert done.status_code == 200 and "Booked 2 appointments:" in done.text
    booked = re.search(r'<ul class="series-booked">(.*?)</ul>', done.text, re.S).group(1)
    assert day.strftime("%d %b %Y") in booked and (day + timedelta(days=4)).strftime("%d %b %Y") in booked
    clashes = re.search(r'<ul class="series-clashes">(.*?)</ul>', done.text, re.S).group(1)
    assert (day + timedelta(days=2)).strftime("%d %b %Y") in clashes
    offer = re.search(r'href="(/book/confirm\?[^"]+)">Book (.*?) instead', clashes)
    assert offer is not None and f"patient_id={ada.id}" in offer.group(1)
    assert len(db.scalars(select(Appointment).where(Appointment.patient_id == ada.id)).all()) == 2
