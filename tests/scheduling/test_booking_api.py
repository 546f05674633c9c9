"""The booking API end to end: search, book (with a confirmation e-mail and invite), refuse, cancel."""

from __future__ import annotations

import icalendar
import pytest
from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login


@pytest.fixture
def clinic(db):
    c = make_clinic(db)
    db.commit()
    return c


def _invite(message) -> icalendar.Calendar:
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_search_book_email_cancel(mail_client, db, clinic):
    client, inbox = mail_client
    patient, account = patient_with_account(db, clinic)
    db.commit()
    services = client.get("/api/services").json()
    assert {s["code"] for s in services} >= {"new_consultation", "nurse_dressing", "day_case_surgery"}
    soonest = client.get("/api/slots", params={"service": "new_consultation", "limit": 5}).json()
    assert len(soonest["items"]) == 5 and soonest["service"]["duration_minutes"] == 30
    later = client.get("/api/slots", params={"service": "new_consultation", "start_date": future_day().isoformat(),
                                             "days": 1, "location_id": str(clinic.city.id)}).json()
    assert {s["location"] for s in later["items"]} == {"City"} and len(later["items"]) == 8
    slot = later["items"][0]

    login(client, account.email)
    r = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": slot["practitioner_id"],
        "location_id": slot["location_id"], "start": slot["start"], "reason": "posterior ankle pain"})
    assert r.status_code == 201, r.text
    appt = r.json()
    assert appt["status"] == "booked" and appt["patient_id"] == str(patient.id)

    assert len(inbox) == 1
    message = inbox[0]
    assert message["To"] == patient.email and "Appointment confirmed" in message["Subject"]
    cal = _invite(message)
    assert cal["method"] == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["uid"]) == f"{appt['id']}@hindfoot"
    assert event.decoded("dtstart").isoformat().replace("+00:00", "Z") == slot["start"].replace("+00:00", "Z")

    again = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": slot["practitioner_id"],
        "location_id": slot["location_id"], "start": slot["start"]})
    assert again.status_code == 409 and again.json()["error"] == "slot_taken"

    mine = client.get("/api/appointments").json()
    assert [a["id"] for a in mine] == [appt["id"]]
    r = client.post(f"/api/appointments/{appt['id']}/cancel", json={"reason": "better now"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert len(inbox) == 2
    cancel = _invite(inbox[1])
    assert cancel["method"] == "CANCEL" and int(cancel.walk("VEVENT")[0]["sequence"]) == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"start": "2020-01-06T10:00:00Z"}, 422, "start"),  # in the past
        ({"start": "START_08:00"}, 409, "start"),  # before opening
        ({"service": "physiotherapy"}, 422, "service"),  # not what a surgeon provides
        ({"service": "massage"}, 422, "service"),  # not a service at all
        ({"start": "2030-01-06T10:00:00"}, 422, "start"),  # no time zone
        ({"practitioner_id": "not-a-uuid"}, 422, "practitioner_id"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_bookings_name_the_problem(client, db, clinic, change, status, field):
    _, account = patient_with_account(db, clinic)
    db.commit()
    login(client, account.email)
    body = {"service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
            "location_id": str(clinic.marylebone.id), "start": at(future_day(), "10:00").isoformat()}
    for key, value in change.items():
        body[key] = at(future_day(), value[6:]).isoformat() if str(value).startswith("START_") else value
    r = client.post("/api/appointments", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    fields = {payload.get("field")} | {e["field"] for e in payload.get("errors", [])}
    assert field in fields, payload
    assert payload["message"]


def test_booking_needs_sign_in_and_csrf(client, db, clinic):
    body = {"service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
            "location_id": str(clinic.marylebone.id), "start": at(future_day(), "10:00").isoformat()}
    assert client.post("/api/appointments", json=body).status_code in (401, 403)
    _, account = patient_with_account(db, clinic)
    db.commit()
    login(client, account.email)
    del client.headers["X-CSRF-Token"]
    assert client.post("/api/appointments", json=body).status_code == 403


def test_other_patients_appointments_are_hidden(client, db, clinic):
    _, a = patient_with_account(db, clinic)
    _, b = patient_with_account(db, clinic, "Bea")
    db.commit()
    login(client, a.email)
    r = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.marylebone.id), "start": at(future_day(), "10:00").isoformat()})
    appt_id = r.json()["id"]
    client.post("/api/auth/logout")
    login(client, b.email)
    assert client.get(f"/api/appointments/{appt_id}").status_code == 404
    assert client.post(f"/api/appointments/{appt_id}/cancel", json={}).status_code == 404


def test_staff_series_and_no_shows(client, db, clinic):
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    login(client, clinic.admin.email)
    day = future_day()
    body = {"patient_id": str(patient.id), "service": "physiotherapy", "practitioner_id": str(clinic.physio.id),
            "location_id": str(clinic.marylebone.id), "first": f"{day.isoformat()}T09:00:00",
            "weekdays": [day.weekday()], "count": 4}
    check = client.post("/api/appointment-series/check", json=body).json()
    assert [o["ok"] for o in check] == [True] * 4
    r = client.post("/api/appointment-series", json=body)
    assert r.status_code == 201 and len(r.json()) == 4
    r = client.post("/api/appointment-series", json={**body, "first": f"{day.isoformat()}T09:30:00"})
    assert r.status_code == 409 and r.json()["error"] == "slot_taken" and "Occurrence 1" in r.json()["message"]
    stats = client.get("/api/scheduling/no-shows").json()
    assert stats == {"by_patient": [], "by_practitioner": []}
    rule = client.post("/api/availability/rules", json={
        "practitioner_id": str(clinic.nurse.id), "location_id": str(clinic.city.id), "weekday": 1,
        "start": "13:00", "end": "12:00"})
    assert rule.status_code == 422 and rule.json()["field"] == "end"


def test_desk_cannot_book_one_patient_with_two_clinicians_at_once(client, db, clinic):
    """The patient's own clash is a 409 naming the field and the appointment's times, never a 500
    (tests/scheduling/test_patient_race.py: the same when two desks book at the same moment)."""
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    login(client, clinic.admin.email)
    day = future_day()
    first = client.post("/api/appointments", json={
        "patient_id": str(patient.id), "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.marylebone.id), "start": at(day, "10:00").isoformat()})
    assert first.status_code == 201, first.text
    r = client.post("/api/appointments", json={
        "patient_id": str(patient.id), "service": "physiotherapy", "practitioner_id": str(clinic.physio.id),
        "location_id": str(clinic.marylebone.id), "start": at(day, "10:15").isoformat()})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "conflict" and body["field"] == "start"
    assert "the patient already has an appointment" in body["message"] and "10:00 to " in body["message"]
    assert [a["id"] for a in client.get("/api/appointments", params={"patient_id": str(patient.id)}).json()] == [
        first.json()["id"]]
