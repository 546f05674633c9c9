"""Deactivating any staff member, even one with a weekly rota, booked visits and no-shows, leaves
every page and the slot search working for everyone else (it used to break /calendar with a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_helpers import actor, at, future_day, make_clinic
from factories import login, make_account, make_patient
from fastapi.testclient import TestClient

from hindfoot.scheduling import booking

PAGES = ["/", "/calendar", "/calendar?view=day", "/calendar/rota", "/calendar/no-shows", "/calendar/services",
         "/calendar/locations", "/calendar/series", "/book", "/patients", "/outcomes", "/recovery/behind",
         "/appointments"]
ADMIN_PAGES = ["/admin/staff", "/admin/audit"]


@pytest.mark.parametrize("who", ["surgeon", "physio", "nurse"])
def test_every_page_works_after_a_clinician_is_deactivated(app, db, who):
    clinic = make_clinic(db)
    gone = getattr(clinic, who)
    patient = make_patient(db, clinic.org, given="Booked")
    other = make_account(db, clinic.org, "clinician",
                         practitioner=clinic.physio if who != "physio" else clinic.nurse)
    service = {"surgeon": "new_consultation", "physio": "physiotherapy", "nurse": "nurse_dressing"}[who]
    location = {"surgeon": clinic.marylebone, "physio": clinic.marylebone, "nurse": clinic.fitzrovia}[who]
    day = future_day(2)
    appt = booking.book_appointment(db, actor(clinic.admin), service=service, practitioner_id=gone.id,
                                    location_id=location.id, start=at(day, "09:00"), patient_id=patient.id)
    db.commit()

    with TestClient(app) as admin_client, TestClient(app) as clinician_client:
        login(admin_client, clinic.admin.email)
        r = admin_client.post(f"/api/staff/{gone.id}/active", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        login(clinician_client, other.email)
        week = day - timedelta(days=day.weekday())
        for client in (admin_client, clinician_client):
            admin_only = ADMIN_PAGES if client is admin_client else []
            for path in [*PAGES, *admin_only, f"/calendar?day={week}", f"/calendar?practitioner_id={gone.id}",
                         f"/calendar?view=day&day={day}&location_id={location.id}",
                         f"/book?service={service}&practitioner_id={gone.id}", f"/appointments/{appt.id}"]:
                page = client.get(path)
                assert page.status_code < 400, (path, page.status_code, page.text[:300])
            slots = client.get("/api/slots", params={"service": service, "start_date": day.isoformat()})
            assert slots.status_code == 200
            assert all(s["practitioner_id"] != str(gone.id) for s in slots.json()["items"])
            search = client.get("/api/slots", params={"service": service, "practitioner_id": str(gone.id)})
            assert search.status_code == 422 and search.json()["field"] == "practitioner_id"
        # the visit booked before stays on the diary for the clinic to rearrange
        cal = admin_client.get("/calendar", params={"view": "day", "day": day.isoformat()})
        assert "Booked" in cal.text
