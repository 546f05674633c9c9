"""Booking and calendar pages through the app: a new patient books, a taken slot re-renders with
the reason, staff see the calendar, rota, series and no-show pages."""

from __future__ import annotations

import re

from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login
from sqlalchemy import select

from hindfoot.db.models import Appointment, UserAccount


def wait_for_link(inbox, to: str, subject: str) -> str:  # type: ignore[no-untyped-def]
    from browsing import wait_for_mail

    text = wait_for_mail(inbox, to, subject).get_content()
    return re.search(r"http://\S+(/book/verify\?token=\S+)", text).group(1)


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_new_patient_books_through_the_pages(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    db.commit()
    page = client.get("/book", params={"reason": "pain at the back of the ankle", "start_date": future_day().isoformat()})
    assert page.status_code == 200 and "pain at the back of the ankle" in page.text
    links = re.findall(r'href="(/book/confirm\?[^"]+)"', page.text)
    assert links
    confirm = client.get(links[0].replace("&amp;", "&"))
    assert confirm.status_code == 200 and "Create account and book" in confirm.text
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    form = {**hidden, "given_name": "Nia", "family_name": "Brown", "birth_date": "1996-04-02", "sex": "female",
            "email": "nia@example.org", "password": "short"}
    bad = client.post("/book/confirm", data=form)
    # every problem at once, each by its field, with what was typed kept
    assert bad.status_code == 422 and 'value="Nia"' in bad.text
    assert re.search(r'id="f-password-error".*Password: at least 10 characters', bad.text)
    assert re.search(r'id="f-phone-error".*Enter the phone number', bad.text)
    form["phone"] = "07700 900123"
    ok = client.post("/book/confirm", data={**form, "password": "a long password"}, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    sent = client.get(ok.headers["location"])
    assert "Check your email" in sent.text and "nia@example.org" in sent.text
    account = db.scalar(select(UserAccount).where(UserAccount.email == "nia@example.org"))
    assert account is not None and account.role == "patient" and not account.active  # until the email is confirmed
    assert client.get("/api/me").status_code == 401
    link = wait_for_link(inbox, "nia@example.org", "Confirm your email")
    detail = client.get(link)
    assert "Your appointment is booked" in detail.text
    assert client.get(link, follow_redirects=False).status_code == 400  # once
    # Someone else tries the same slot: the form comes back with the reason.
    client.post("/logout", data={"csrf_token": _csrf(detail.text)})
    other = client.post("/book/confirm", data={**form, "email": "zoe@example.org", "password": "a long password",
                                               "csrf_token": _csrf(client.get("/book").text)})
    assert other.status_code == 409 and "already has an appointment" in other.text
    assert db.scalar(select(UserAccount).where(UserAccount.email == "zoe@example.org")) is None
    assert clinic is not None


def test_patient_cancels_on_the_page(client, db):
    clinic = make_clinic(db)
    patient, account = patient_with_account(db, clinic)
    db.commit()
    login(client, account.email)
    r = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.city.id), "start": at(future_day(), "15:00").isoformat()})
    appt_id = r.json()["id"]
    listing = client.get("/appointments")
    assert f"/appointments/{appt_id}" in listing.text
    page = client.get(f"/appointments/{appt_id}")
    assert "Cancel appointment" in page.text and "Change the time" in page.text
    done = client.post(f"/appointments/{appt_id}/cancel", data={"csrf_token": _csrf(page.text), "reason": "x"})
    assert done.status_code == 200 and "This appointment is cancelled" in done.text
    assert db.get(Appointment, __import__("uuid").UUID(appt_id)).status == "cancelled"


def test_staff_pages(client, db):
    clinic = make_clinic(db)
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    login(client, clinic.admin.email)
    day = future_day()
    assert client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id), "patient_id": str(patient.id),
        "location_id": str(clinic.city.id), "start": at(day, "15:00").isoformat()}).status_code == 201
    week = client.get("/calendar", params={"day": day.isoformat(), "location_id": str(clinic.city.id)})
    assert week.status_code == 200 and patient.display_name in week.text
    dayview = client.get("/calendar", params={"day": day.isoformat(), "view": "day",
                                              "practitioner_id": str(clinic.physio.id)})
    assert dayview.status_code == 200 and patient.display_name not in dayview.text
    rota = client.get("/calendar/rota")
    assert rota.status_code == 200 and "Whitlock" in rota.text
    bad = client.post("/calendar/rota/rules", data={
        "csrf_token": _csrf(rota.text), "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.city.id),
        "weekday": "1", "start": "13:00", "end": "12:00"})
    assert bad.status_code == 422 and "must end after it starts" in bad.text
    series = client.get("/calendar/series", params={"patient_id": str(patient.id)})
    assert series.status_code == 200
    form = {"csrf_token": _csrf(series.text), "patient_id": str(patient.id), "service": "nurse_dressing",
            "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.fitzrovia.id),
            "first_date": day.isoformat(), "time": "09:00", "every_days": "2", "count": "3"}
    checked = client.post("/calendar/series", data={**form, "action": "check"})
    assert checked.status_code == 200 and "3 appointments" in checked.text
    booked = client.post("/calendar/series", data={**form, "action": "book"})
    assert "Booked 3 appointments" in booked.text
    again = client.post("/calendar/series", data={**form, "action": "book"})
    assert again.status_code == 409 and "Occurrence 1" in again.text
    assert client.get("/calendar/no-shows").status_code == 200
    assert client.get("/book", params={"patient_id": str(patient.id)}).status_code == 200
