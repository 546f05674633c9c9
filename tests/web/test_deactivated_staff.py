"""Deactivating any staff member, even one with a weekly rota, booked visits and no-shows, leaves
every page and the slot search working for everyone else (it used to break /calendar with a 500)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from booking_helpers import actor, at, future_day, make_clinic
from crawling import crawl as _crawl
from crawling import kind as _kind
from factories import login, make_account, make_patient, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select

from hindfoot.db.models import Organization
from hindfoot.db.models.practitioner import ROLE_LABELS
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


START = ["/", *PAGES, *ADMIN_PAGES, "/me", "/account/mfa"]
def test_every_staff_page_works_after_a_member_of_every_role_is_deactivated(app, db):
    """The demo clinic (rotas, booked visits, episodes, plans, outcomes for every kind of staff) with one
    member of each staff role deactivated, the administrator included: every page an administrator and a
    clinician reach by following links answers without an error."""
    from demo_copy import demo_clinic

    demo_clinic(db, date.today())
    org = db.scalar(select(Organization).where(Organization.is_demo))
    assert org is not None
    admin = make_account(db, org, "admin", email="second-admin@example.org")
    clinician = make_account(db, org, "clinician", email="locum@example.org",
                             practitioner=make_practitioner(db, org, "physiotherapist", family="Locum"))
    db.commit()
    with TestClient(app) as admin_client, TestClient(app) as clinician_client:
        login(admin_client, admin.email)
        staff = admin_client.get("/api/staff").json()
        members = staff["items"] if isinstance(staff, dict) else staff
        gone: dict[str, str] = {}
        for member in members:
            if member["role"] not in gone and member.get("account_email") not in (admin.email, clinician.email):
                r = admin_client.post(f"/api/staff/{member['practitioner_id']}/active", json={"active": False})
                assert r.status_code == 200, r.text
                gone[member["role"]] = member["practitioner_id"]
        assert set(gone) == set(ROLE_LABELS), gone  # every role, the administrator's too
        login(clinician_client, clinician.email)
        for client in (admin_client, clinician_client):
            start = [u for u in START if client is admin_client or u not in ADMIN_PAGES]  # a clinician gets 403 there
            statuses = _crawl(client, [*start, *(f"/calendar?practitioner_id={p}" for p in gone.values())],
                              limit=400)
            broken = {url: s for url, s in statuses.items() if s >= 400}
            assert len({_kind(u) for u in statuses}) > 40 and not broken, broken
