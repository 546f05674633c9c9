"""The staff roles inside one clinic: who may do what (docs/security.md, "Roles").

receptionist = calendar, booking, check-in, contact details, waitlist; no clinical record, registry or staff.
manager = registry, reports, staff, rota; no clinical record, no front desk.
Each cell is a real request through the API or a page; a refused read of a patient is a 404 on the audit trail.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from booking_helpers import at
from factories import PASSWORD, make_account, make_org, make_patient, make_practitioner
from fastapi.testclient import TestClient
from outcome_helpers import episode_of
from sqlalchemy import select

from hindfoot.auth.actor import Actor
from hindfoot.db.models import AuditEvent, AvailabilityRule, Location, Schedule, UserAccount
from hindfoot.scheduling import booking

ROLES = ("patient", "clinician", "admin", "receptionist", "manager")


@pytest.fixture
def clinic(db):
    org = make_org(db, "Role Clinic")
    loc = Location(organization_id=org.id, name="Role Studio", address_line="1 Row", city="London", postcode="W1 1AA")
    db.add(loc)
    db.flush()
    surgeon = make_practitioner(db, org, "surgeon", family="Cutter")
    sched = Schedule(practitioner_id=surgeon.id, location_id=loc.id)
    db.add(sched)
    db.flush()
    for wd in range(7):
        db.add(AvailabilityRule(schedule_id=sched.id, weekday=wd, start_time=time(8), end_time=time(18), services=[]))
    patient = make_patient(db, org, "Rosa", "Record")
    other = make_patient(db, org, "Otto", "Other")
    emails = {
        "patient": make_account(db, org, "patient", patient=other, email="pat@roles.example.org").email,
        "clinician": make_account(db, org, "clinician", practitioner=surgeon, email="doc@roles.example.org").email,
        "admin": make_account(db, org, "admin", email="admin@roles.example.org").email,
        "receptionist": make_account(db, org, "receptionist", practitioner=make_practitioner(
            db, org, "receptionist", family="Desk"), email="desk@roles.example.org").email,
        "manager": make_account(db, org, "manager", practitioner=make_practitioner(
            db, org, "manager", family="Boss"), email="boss@roles.example.org").email,
    }
    episode = episode_of(db, patient)
    clinician = db.scalar(select(UserAccount).where(UserAccount.email == "doc@roles.example.org"))
    appt = booking.book_appointment(
        db, Actor.from_account(clinician), service="new_consultation", practitioner_id=surgeon.id,
        location_id=loc.id, start=at(date.today() + timedelta(days=3), "10:00"), patient_id=patient.id)
    db.commit()
    return {"org": org, "loc": loc, "surgeon": surgeon, "patient": patient, "episode": episode, "appt": appt,
            "emails": emails}


def _client(app, email: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


# (what, method, url template, body, {role: expected status})
MATRIX = [
    ("patient list", "GET", "/api/patients", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 403}),
    ("clinical record", "GET", "/api/patients/{pid}", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 404, "manager": 404}),
    ("contact details", "GET", "/api/patients/{pid}/contact", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 404}),
    ("change contact details", "PATCH", "/api/patients/{pid}/contact", {"phone": "020 7946 0000"},
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 404}),
    ("pathway (clinical)", "GET", "/api/episodes/{eid}/pathway", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 404, "manager": 404}),
    ("record a finding", "POST", "/api/episodes/{eid}/observations",
     {"category": "history", "code": "onset_gradual", "present": True},
     {"patient": 404, "clinician": 201, "admin": 201, "receptionist": 404, "manager": 404}),
    ("patient's appointments", "GET", "/api/appointments?patient_id={pid}", None,
     {"clinician": 200, "admin": 200, "receptionist": 200, "manager": 403}),
    ("one appointment", "GET", "/api/appointments/{aid}", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 404}),
    ("registry dashboard", "GET", "/api/outcomes/dashboard", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 403, "manager": 200}),
    ("behind plan (clinical)", "GET", "/api/recovery/behind", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 403, "manager": 403}),
    ("staff list", "GET", "/api/staff", None,
     {"patient": 403, "clinician": 403, "admin": 200, "receptionist": 403, "manager": 200}),
    ("audit log", "GET", "/api/audit-events", None,
     {"patient": 403, "clinician": 403, "admin": 200, "receptionist": 403, "manager": 403}),
    ("add a rota rule", "POST", "/api/availability/rules",
     {"practitioner_id": "{sid}", "location_id": "{lid}", "weekday": 6, "start": "18:00", "end": "19:00"},
     {"patient": 403, "clinician": 403, "admin": 201, "receptionist": 403, "manager": 201}),
    # pages
    ("day grid", "GET", "/calendar/grid", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 403}),
    ("record page", "GET", "/patients/{pid}", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 303, "manager": 404}),
    ("contact page", "GET", "/patients/{pid}/contact", None,
     {"patient": 404, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 404}),
    ("decision support page", "GET", "/patients/{pid}/assessment", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 403, "manager": 403}),
    ("registry page", "GET", "/outcomes", None,
     {"clinician": 200, "admin": 200, "receptionist": 403, "manager": 200}),
    ("staff page", "GET", "/admin/staff", None,
     {"patient": 403, "clinician": 403, "admin": 200, "receptionist": 403, "manager": 200}),
    ("rota page", "GET", "/calendar/rota", None,
     {"patient": 403, "clinician": 200, "admin": 200, "receptionist": 200, "manager": 200}),
]


def _fill(value, ids):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        for k, v in ids.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def test_role_matrix(app, db, clinic):
    ids = {"pid": str(clinic["patient"].id), "eid": str(clinic["episode"].id), "aid": str(clinic["appt"].id),
           "sid": str(clinic["surgeon"].id), "lid": str(clinic["loc"].id)}
    clients = {role: _client(app, clinic["emails"][role]) for role in ROLES}
    failures = []
    for what, method, url, body, expected in MATRIX:
        for role, status in expected.items():
            r = clients[role].request(method, _fill(url, ids), json=_fill(body, ids), follow_redirects=False)
            if r.status_code != status:
                failures.append(f"{role} {what} {method} {url}: {r.status_code} (expected {status}) {r.text[:120]}")
            if status in (403, 404) and method == "GET" and "{pid}" in url:
                assert "Rosa" not in r.text, (role, what)
    for c in clients.values():
        c.close()
    assert not failures, "\n".join(failures)
    # every refused look at Rosa's record is on the trail, with who tried
    db.expire_all()
    denied = {e.user_email for e in db.scalars(select(AuditEvent).where(
        AuditEvent.outcome == "4", AuditEvent.patient_id == clinic["patient"].id))}
    assert {"desk@roles.example.org", "boss@roles.example.org", "pat@roles.example.org"} <= denied


def test_receptionist_books_and_checks_in_but_sees_no_clinical_note(app, db, clinic):
    desk = _client(app, clinic["emails"]["receptionist"])
    day = date.today() + timedelta(days=4)
    r = desk.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic["surgeon"].id),
        "location_id": str(clinic["loc"].id), "start": at(day, "11:00").isoformat(),
        "patient_id": str(clinic["patient"].id)})
    assert r.status_code == 201, r.text
    # the grid links the patient to their contact details, and the booking page shows no clinical link
    page = desk.get(f"/appointments/{clinic['appt'].id}")
    assert page.status_code == 200 and "answers on the record" not in page.text
    listed = desk.get("/api/patients", params={"q": "Rosa"}).json()["items"]
    assert listed and listed[0]["stage"] is None and listed[0]["episode_title"] is None  # who, not what for
    table = desk.get("/patients", params={"q": "Rosa"}).text
    assert "Right posterior ankle pain" not in table and 'id="stage"' not in table
    assert f'href="/patients/{clinic["patient"].id}/contact"' in table
    nav = desk.get("/calendar/grid").text
    assert 'href="/outcomes"' not in nav and 'href="/admin/staff"' not in nav and 'href="/recovery/behind"' not in nav


def test_manager_manages_staff_but_cannot_make_or_change_an_admin(app, db, clinic):
    boss = _client(app, clinic["emails"]["manager"])
    r = boss.post("/api/staff", json={"given_name": "Nia", "family_name": "New", "role": "receptionist",
                                      "email": "nia@roles.example.org"})
    assert r.status_code == 201, r.text
    assert db.scalar(select(UserAccount.role).where(UserAccount.email == "nia@roles.example.org")) == "receptionist"
    r = boss.post("/api/staff", json={"given_name": "Ada", "family_name": "Admin", "role": "admin",
                                      "email": "ada@roles.example.org"})
    assert r.status_code == 422 and r.json()["field"] == "role"
    nia = r = boss.get("/api/staff").json()
    nia_id = next(s["practitioner_id"] for s in nia if s["email"] == "nia@roles.example.org")
    r = boss.patch(f"/api/staff/{nia_id}", json={"role": "admin"})
    assert r.status_code == 422 and r.json()["field"] == "role"
    page = boss.get("/admin/staff").text
    assert '<option value="admin"' not in page and '<option value="manager"' in page
    assert "/admin/mfa-policy" not in page


def test_admin_adds_a_receptionist_and_a_manager_from_the_staff_page(app, db, clinic):
    admin = _client(app, clinic["emails"]["admin"])
    page = admin.get("/admin/staff").text
    assert '<option value="receptionist"' in page and '<option value="manager"' in page
    for role, email in (("receptionist", "rita@roles.example.org"), ("manager", "max@roles.example.org")):
        r = admin.post("/admin/staff", data={"given_name": "New", "family_name": role.title(), "role": role,
                                             "email": email, "csrf_token": admin.headers["X-CSRF-Token"]})
        assert r.status_code == 200, r.text
        assert db.scalar(select(UserAccount.role).where(UserAccount.email == email)) == role
    # neither holds clinics: they are not offered for booking
    names = {p["name"] for p in admin.get("/api/practitioners").json()}
    assert not any("Receptionist" in n or "Manager" in n for n in names)
