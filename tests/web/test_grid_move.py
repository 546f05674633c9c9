"""Moving a visit from the day grid ("Move", then "Move here" at a free time; a drag posts the same form):
checked like a booking, the patient is emailed the new time, a clash is refused on the grid."""

from __future__ import annotations

import re

from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login, make_account, make_practitioner
from sqlalchemy import select

from hindfoot.db.models import Appointment, AuditEvent


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_desk_moves_a_visit_to_another_clinicians_free_time_and_the_patient_is_told(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Ada")
    bea, _ = patient_with_account(db, clinic, given="Bea")
    other = make_practitioner(db, clinic.org, "sports_physician", family="Okafor")
    from booking_helpers import _rules

    _rules(db, other, clinic.marylebone, "09:00", "13:00")
    desk = make_account(db, clinic.org, "receptionist", practitioner=make_practitioner(db, clinic.org, "receptionist"))
    db.commit()
    day = future_day(4)
    login(client, desk.email)
    ids = {}
    for p, hhmm in ((ada, "10:00"), (bea, "11:00")):
        r = client.post("/api/appointments", json={
            "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
            "location_id": str(clinic.marylebone.id), "start": at(day, hhmm).isoformat(), "patient_id": str(p.id)})
        ids[p.given_name] = r.json()["id"]
    grid = client.get("/calendar/grid", params={"day": day.isoformat(), "location_id": str(clinic.marylebone.id),
                                                "service": "new_consultation"})
    assert grid.status_code == 200 and f'data-move="{ids["Ada"]}"' in grid.text and "&amp;move=" in grid.text
    moving = client.get("/calendar/grid", params={"day": day.isoformat(), "location_id": str(clinic.marylebone.id),
                                                  "move": ids["Ada"]})
    assert "Moving " in moving.text and f'action="/appointments/{ids["Ada"]}/move"' in moving.text
    assert "Move here" in moving.text
    token = _csrf(moving.text)
    # onto Bea's time: refused on the grid, nothing moved
    clash = client.post(f"/appointments/{ids['Ada']}/move", data={
        "csrf_token": token, "start": at(day, "11:00").isoformat(), "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.marylebone.id), "day": day.isoformat(), "service": "new_consultation"})
    assert clash.status_code == 409 and "Not moved" in clash.text and "Moving " in clash.text
    inbox.clear()
    done = client.post(f"/appointments/{ids['Ada']}/move", data={
        "csrf_token": token, "start": at(day, "12:00").isoformat(), "practitioner_id": str(other.id),
        "location_id": str(clinic.marylebone.id), "day": day.isoformat(), "service": "new_consultation"},
        follow_redirects=False)
    assert done.status_code == 303 and "moved=" in done.headers["location"]
    assert "Moved; the patient is emailed" in client.get(done.headers["location"]).text
    db.expire_all()
    appt = db.get(Appointment, __import__("uuid").UUID(ids["Ada"]))
    assert appt.start == at(day, "12:00") and appt.practitioner_id == other.id
    assert [m["To"] for m in inbox if m["Subject"].startswith("Appointment moved")] == [ada.email]
    assert any("moved from" in d for d in db.scalars(select(AuditEvent.description)))
    bad = client.post(f"/appointments/{ids['Ada']}/move", data={"csrf_token": token, "start": "tomorrow"})
    assert bad.status_code == 422 and "Choose a free time" in bad.text
