"""The front door: /book with any filter combination, errors by the field, services the public may book,
and a symptom check that travels with the booking (history findings + provisional triage)."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login
from sqlalchemy import select

from hindfoot.assessment import service as assessment_service
from hindfoot.db.models import Appointment, Observation, Patient, UserAccount
from hindfoot.patients.codes import finding_texts

URGENT_ANSWERS = {"onset_sudden_injury": "present", "cannot_bear_weight": "present"}  # Ottawa: urgent


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _confirm_links(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/book/confirm\?[^"]+)"', html)]


def test_every_filter_combination_answers_200(client, db):
    clinic = make_clinic(db)
    db.commit()
    loc, prac = str(clinic.city.id), str(clinic.surgeon.id)
    for params in ({"location_id": loc, "practitioner_id": "", "start_date": ""},
                   {"location_id": "", "practitioner_id": prac, "start_date": ""},
                   {"location_id": loc, "practitioner_id": prac, "start_date": ""},
                   {"location_id": "", "practitioner_id": "", "start_date": future_day().isoformat()},
                   {"service": "", "location_id": "", "practitioner_id": "", "start_date": ""}):
        page = client.get("/book", params=params)
        assert page.status_code == 200, (params, page.text[:300])
        assert _confirm_links(page.text), params


def test_a_bad_filter_is_named_by_its_field_and_the_rest_kept(client, db):
    clinic = make_clinic(db)
    db.commit()
    page = client.get("/book", params={"location_id": str(clinic.city.id), "start_date": "31/02/2027"})
    assert page.status_code == 422
    assert re.search(r'id="start_date-error"[^>]*>.*From date: enter a real date', page.text)
    assert 'aria-invalid="true"' in page.text and 'value="31/02/2027"' in page.text
    assert re.search(rf'<option value="{clinic.city.id}"\s+selected', page.text)
    assert _confirm_links(page.text), "the search still runs without the unreadable date"


def test_the_public_is_offered_only_services_bookable_online(client, db):
    clinic = make_clinic(db)
    patient, account = patient_with_account(db, clinic)
    db.commit()
    page = client.get("/book")
    assert "New patient consultation" in page.text and "Day-case surgery" not in page.text
    assert 'value="day_case_surgery"' not in client.get("/book", params={"service": "day_case_surgery"}).text
    login(client, account.email)
    r = client.post("/api/appointments", json={
        "service": "day_case_surgery", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.marylebone.id), "start": at(future_day(), "09:00").isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "service", r.text
    client.post("/api/auth/logout")
    client.headers.pop("X-CSRF-Token", None)
    login(client, clinic.admin.email)
    assert 'value="day_case_surgery"' in client.get("/book").text
    r = client.post("/api/appointments", json={
        "service": "day_case_surgery", "practitioner_id": str(clinic.surgeon.id), "patient_id": str(patient.id),
        "location_id": str(clinic.marylebone.id), "start": at(future_day(), "09:00").isoformat()})
    assert r.status_code == 201, r.text


def test_sex_is_not_preselected_and_long_names_are_named_not_cut(client, db):
    make_clinic(db)
    db.commit()
    confirm = client.get(_confirm_links(client.get("/book").text)[0])
    assert re.search(r'<select id="f-sex"[^>]*>\s*<option value="">Choose', confirm.text)
    assert not re.search(r'<select id="f-sex".*?selected.*?</select>', confirm.text, re.S)
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    long_name = "A" * 400
    bad = client.post("/book/confirm", data={**hidden, "given_name": long_name, "family_name": "", "sex": "",
                                             "birth_date": "", "email": "x", "phone": "call me", "password": ""})
    assert bad.status_code == 422
    for field, words in (("given_name", "at most 100 characters (you typed 400)"), ("family_name", "Enter the"),
                         ("birth_date", "Enter the"), ("sex", "Choose the sex"), ("email", "Email"),
                         ("phone", "enter a phone number"), ("password", "Enter the")):
        assert re.search(rf'id="f-{field}-error"[^>]*>.*{re.escape(words)}', bad.text), field
    assert f'value="{long_name}"' in bad.text and 'value="call me"' in bad.text
    assert db.scalar(select(Patient)) is None


def _finish_check(db, answers: dict[str, str]) -> uuid.UUID:  # type: ignore[no-untyped-def]
    view = assessment_service.start_interview(db, None, age=30, sex="female", sport="ballet", laterality="right")
    while not view.done:
        finding = view.step.question.finding
        view = assessment_service.answer_interview(db, None, view.id, finding, answers.get(finding, "absent"))
    db.commit()
    return view.id


def test_an_urgent_check_travels_with_the_booking(client, db):
    clinic = make_clinic(db)
    db.commit()
    check = _finish_check(db, URGENT_ANSWERS)
    assert assessment_service.check_disposition(db, None, check) == "urgent"
    page = client.get("/book", params={"assessment": str(check)})
    assert page.status_code == 200 and "Urgent: times in the next 48 hours" in page.text
    links = _confirm_links(page.text)
    assert links
    latest = datetime.now(UTC) + timedelta(hours=48)
    for link in links:
        start = datetime.fromisoformat(re.search(r"start=([^&]+)", link).group(1).replace("%3A", ":").replace("%2B", "+"))
        assert start <= latest, link
    confirm = client.get(links[0])
    assert "Share my symptom check answers" in confirm.text
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    ok = client.post("/book/confirm", data={
        **hidden, "given_name": "Uma", "family_name": "Reyes", "birth_date": "1995-05-05", "sex": "female",
        "email": "uma@example.org", "phone": "07700 900456", "password": "a long password", "share_check": "yes"},
        follow_redirects=False)
    assert ok.status_code == 303, ok.text
    appt = db.scalar(select(Appointment))
    assert appt.triage == "urgent" and appt.assessment_id == check
    findings = {o.code: o.value_boolean for o in db.scalars(
        select(Observation).where(Observation.patient_id == appt.patient_id, Observation.category == "history"))}
    assert findings.get("cannot_bear_weight") is True and False in findings.values()
    triage = db.scalar(select(Observation).where(Observation.patient_id == appt.patient_id,
                                                 Observation.category == "triage"))
    assert triage is not None and triage.value_string == "urgent"
    client.post("/logout", data={"csrf_token": _csrf(client.get("/book").text)})
    login(client, clinic.clinician.email)
    day = appt.start.astimezone().date().isoformat()
    calendar = client.get("/calendar", params={"day": day, "view": "day"})
    assert re.search(r"Uma Reyes\s*<strong class=\"badge badge-urgent\">Triaged urgent", calendar.text)
    record = client.get(f"/patients/{appt.patient_id}")
    assert "Provisional triage (symptom check)" in record.text and "Triaged urgent" in record.text
    assert html.escape(finding_texts()["cannot_bear_weight"]) in record.text


def test_without_consent_the_check_stays_anonymous(client, db):
    make_clinic(db)
    db.commit()
    check = _finish_check(db, {})
    confirm = client.get(_confirm_links(client.get("/book", params={"assessment": str(check)}).text)[0])
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    ok = client.post("/book/confirm", data={
        **hidden, "given_name": "Ola", "family_name": "Berg", "birth_date": "1990-01-01", "sex": "male",
        "email": "ola@example.org", "phone": "+44 7700 900789", "password": "a long password"},
        follow_redirects=False)
    assert ok.status_code == 303, ok.text
    appt = db.scalar(select(Appointment))
    assert appt.assessment_id is None and appt.triage is None
    assert db.scalar(select(Observation).where(Observation.patient_id == appt.patient_id)) is None


def test_an_admin_marks_which_services_the_public_may_book(client, db):
    make_clinic(db)
    db.commit()
    login(client, db.scalar(select(UserAccount.email).where(UserAccount.role == "admin")))
    page = client.get("/calendar/services")
    assert "booked by staff" in page.text and "bookable online" in page.text
    form = {"csrf_token": _csrf(page.text), "name": "Follow-up appointment", "duration_minutes": "15",
            "roles": ["surgeon", "sports_physician"], "active": "1", "online_shown": "1"}  # "online" left unticked
    assert client.post("/calendar/services/follow_up", data=form, follow_redirects=False).status_code == 303
    client.post("/api/auth/logout")
    client.headers.pop("X-CSRF-Token", None)
    client.cookies.clear()
    public = client.get("/book")
    assert "Follow-up appointment" not in public.text and "New patient consultation" in public.text
