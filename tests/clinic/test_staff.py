"""A clinic of one's own: `hindfoot clinic init`, then staff added by invitation and (de)activated."""

from __future__ import annotations

import re

import pytest
from factories import PASSWORD, login, make_account, make_org, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli
from hindfoot.db.models import AuditEvent, ClinicService, Organization, Practitioner, UserAccount
from hindfoot.settings import get_settings

ADMIN_PASSWORD = "first-admin-passphrase"
NEW = "a-physio-passphrase"


@pytest.fixture
def cli_env(database_url, monkeypatch):
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _init(*extra: str, password: str | None = ADMIN_PASSWORD, prompt: str | None = None):
    args = ["clinic", "init", "--name", "Heel & Ankle Clinic", "--admin-email", "Boss@Clinic.example",
            "--admin-given-name", "Ada", "--admin-family-name", "Okafor", *extra]
    env = {"HINDFOOT_ADMIN_PASSWORD": password} if password else {}
    return CliRunner().invoke(cli, args, env=env, input=prompt)


def test_clinic_init_sets_up_an_organisation_its_services_and_an_admin_who_signs_in(cli_env, db, client):
    result = _init()
    assert result.exit_code == 0, result.output
    assert "Heel & Ankle Clinic: admin boss@clinic.example can sign in now" in result.output
    org = db.scalars(select(Organization)).one()
    assert org.name == "Heel & Ankle Clinic" and not org.is_demo
    assert db.scalars(select(ClinicService).where(ClinicService.organization_id == org.id)).first() is not None
    admin = db.scalars(select(UserAccount)).one()
    assert admin.role == "admin" and admin.practitioner_id is not None
    r = client.post("/api/auth/login", json={"email": "boss@clinic.example", "password": ADMIN_PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "Organization")).one()
    again = _init()  # the email has an account now
    assert again.exit_code == 2 and "--admin-email" in again.output and "already exists" in again.output
    assert db.scalar(select(Organization.id).where(Organization.name == "Heel & Ankle Clinic")) == org.id


def test_clinic_init_refuses_bad_input_and_asks_for_the_password_twice(cli_env, db):
    short = _init(password="short")
    assert short.exit_code == 2 and "password: the new password needs at least 10 characters" in short.output
    zone = _init("--timezone", "Mars/Olympus")
    assert zone.exit_code == 2 and "--timezone" in zone.output
    bad_email = CliRunner().invoke(cli, ["clinic", "init", "--name", "X", "--admin-email", "not-an-email",
                                         "--admin-given-name", "A", "--admin-family-name", "B"],
                                   env={"HINDFOOT_ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert bad_email.exit_code == 2 and "--admin-email" in bad_email.output
    assert db.scalars(select(Organization)).all() == []  # nothing half-written
    prompted = _init(password=None, prompt=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert db.scalars(select(UserAccount)).one().email == "boss@clinic.example"


@pytest.fixture
def admin_clinic(db):
    org = make_org(db, "Heel & Ankle Clinic")
    me = make_practitioner(db, org)
    make_account(db, org, "admin", email="admin@example.org", practitioner=me)
    make_account(db, org, "clinician", email="doc@example.org", practitioner=make_practitioner(db, org))
    db.commit()
    return org, me


def _link_token(message) -> str:
    return re.search(r"/password/reset\?token=(\S+)", message.get_content()).group(1)


def test_admin_adds_staff_who_choose_their_password_from_the_invitation(mail_client, db, admin_clinic):
    client, inbox = mail_client
    login(client, "admin@example.org")
    r = client.post("/api/staff", json={"given_name": "Priya", "family_name": "Shah", "role": "physiotherapist",
                                        "email": "Priya.Shah@clinic.example", "qualification": "MCSP"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["role_label"] == "Physiotherapist" and body["account_email"] == "priya.shah@clinic.example"
    assert len(inbox) == 1 and inbox[0]["Subject"] == "Your hindfoot account at Heel & Ankle Clinic"
    assert "within 7 days" in inbox[0].get_content()
    account = db.scalar(select(UserAccount).where(UserAccount.email == "priya.shah@clinic.example"))
    assert account.role == "clinician"
    client.post("/api/auth/logout")
    assert client.post("/api/auth/login", json={"email": "priya.shah@clinic.example", "password": NEW}).status_code == 401
    confirm = client.post("/api/auth/password-reset/confirm", json={"token": _link_token(inbox[0]), "password": NEW})
    assert confirm.status_code == 204
    assert client.post("/api/auth/login", json={"email": "priya.shah@clinic.example", "password": NEW}).status_code == 200
    assert client.get("/api/patients").status_code == 200  # a clinician of this clinic
    assert client.get("/api/staff").status_code == 403  # but not an admin
    for bad, field in (({"role": "wizard"}, "role"), ({"email": "doc@example.org"}, "email"),
                       ({"email": "nope"}, "email"), ({"given_name": "  "}, "given_name")):
        login(client, "admin@example.org")
        payload = {"given_name": "A", "family_name": "B", "role": "nurse", "email": "new@clinic.example", **bad}
        refused = client.post("/api/staff", json=payload)
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    assert db.scalar(select(UserAccount).where(UserAccount.email == "new@clinic.example")) is None


def test_deactivated_staff_cannot_sign_in_until_reactivated(client, db, admin_clinic):
    org, me = admin_clinic
    doc = db.scalar(select(UserAccount).where(UserAccount.email == "doc@example.org"))
    with TestClient(client.app) as other:  # the doctor, signed in on another device
        login(other, "doc@example.org")
        assert other.get("/api/me").status_code == 200
        login(client, "admin@example.org")
        r = client.post(f"/api/staff/{doc.practitioner_id}/active", json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        assert other.get("/api/me").status_code == 401  # the open session ends too
        assert other.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD}).status_code == 401
        db.expire_all()
        assert db.get(Practitioner, doc.practitioner_id).active is False
        myself = client.post(f"/api/staff/{me.id}/active", json={"active": False})
        assert myself.status_code == 422 and "your own account" in myself.json()["message"]
        assert client.post(f"/api/staff/{doc.practitioner_id}/active", json={"active": True}).json()["active"] is True
        assert other.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD}).status_code == 200
    elsewhere = make_practitioner(db, make_org(db, "Elsewhere"))
    db.commit()
    assert client.post(f"/api/staff/{elsewhere.id}/active", json={"active": False}).status_code == 404


def test_staff_page_adds_and_deactivates(mail_client, db, admin_clinic):
    client, inbox = mail_client
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"email": "admin@example.org", "password": PASSWORD, "csrf_token": token, "next": "/"})
    staff_page = client.get("/admin/staff")
    assert staff_page.status_code == 200 and 'href="/admin/staff"' in staff_page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff_page.text).group(1)
    added = client.post("/admin/staff", data={"csrf_token": token, "prefix": "Mr", "given_name": "Tomas",
                                              "family_name": "Berg", "role": "surgeon", "email": "t.berg@clinic.example"})
    assert added.status_code == 200 and "Mr Tomas Berg is added" in added.text
    assert 'data-staff="t.berg@clinic.example"' in added.text and len(inbox) == 1
    dup = client.post("/admin/staff", data={"csrf_token": token, "given_name": "X", "family_name": "Y",
                                            "role": "surgeon", "email": "t.berg@clinic.example"})
    assert dup.status_code == 422 and "already exists" in dup.text and 'value="X"' in dup.text
    berg = db.scalar(select(Practitioner).where(Practitioner.email == "t.berg@clinic.example"))
    assert f'action="/admin/staff/{berg.id}"' in added.text  # each member has an edit form
    edited = client.post(f"/admin/staff/{berg.id}", data={"csrf_token": token, "prefix": "Mr", "given_name": "Tomas",
                                                           "family_name": "Bergström", "role": "surgeon",
                                                           "email": "t.berg@clinic.example", "qualification": "FRCS"})
    assert edited.status_code == 200 and "Mr Tomas Bergström: saved." in edited.text
    bad = client.post(f"/admin/staff/{berg.id}", data={"csrf_token": token, "given_name": "Tomas",
                                                       "family_name": "Bergström", "role": "wizard",
                                                       "email": "t.berg@clinic.example"})
    assert bad.status_code == 422 and "Role: choose one of the options" in bad.text and f"e-{berg.id}-role-error" in bad.text
    off = client.post(f"/admin/staff/{berg.id}/active", data={"csrf_token": token, "active": "false"})
    assert off.status_code == 200 and "Mr Tomas Bergström is deactivated" in off.text
    client.post("/logout", data={"csrf_token": token})
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"email": "doc@example.org", "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert client.get("/admin/staff").status_code == 403


def test_a_fresh_clinic_becomes_bookable_in_the_app(client, db):
    """The README's path for a real clinic: init, then a location, a surgeon and a rota, and patients can book."""
    from datetime import date, timedelta

    from hindfoot.clinic import staff

    staff.init_clinic(db, name="Heel & Ankle Clinic", admin_email="boss@clinic.example", admin_given_name="Ada",
                      admin_family_name="Okafor", password=ADMIN_PASSWORD)
    db.commit()
    login(client, "boss@clinic.example", ADMIN_PASSWORD)
    loc = client.post("/api/locations", json={"name": "Harley Street", "city": "London", "postcode": "W1G 9PF"})
    assert loc.status_code == 201, loc.text
    surgeon = client.post("/api/staff", json={"prefix": "Ms", "given_name": "Jo", "family_name": "Reyes",
                                              "role": "surgeon", "email": "jo@clinic.example"}).json()
    monday = date.today() + timedelta(days=7 - date.today().weekday())  # next Monday
    rule = client.post("/api/availability/rules", json={
        "practitioner_id": surgeon["practitioner_id"], "location_id": loc.json()["id"], "weekday": 0,
        "start": "09:00", "end": "12:00"})
    assert rule.status_code == 201, rule.text
    client.post("/api/auth/logout")
    slots = client.get("/api/slots", params={"service": "new_consultation", "start_date": monday.isoformat(), "days": 7})
    assert slots.status_code == 200 and len(slots.json()["items"]) > 0
    login(client, "boss@clinic.example", ADMIN_PASSWORD)
    client.post(f"/api/staff/{surgeon['practitioner_id']}/active", json={"active": False})
    client.post("/api/auth/logout")
    none = client.get("/api/slots", params={"service": "new_consultation", "start_date": monday.isoformat(), "days": 7})
    assert none.json()["items"] == []  # a deactivated surgeon cannot be booked


def test_admin_edits_a_staff_member_and_cannot_demote_themselves(client, db, admin_clinic):
    org, me = admin_clinic
    doc = db.scalar(select(UserAccount).where(UserAccount.email == "doc@example.org"))
    login(client, "admin@example.org")
    r = client.patch(f"/api/staff/{doc.practitioner_id}", json={"role": "admin", "email": "Head@Clinic.example",
                                                                 "qualification": "FRCS (Tr & Orth)"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin" and r.json()["account_email"] == "head@clinic.example"
    client.post("/api/auth/logout")
    assert client.post("/api/auth/login", json={"email": "head@clinic.example", "password": PASSWORD}).json()["role"] == "admin"
    client.post("/api/auth/logout")
    login(client, "admin@example.org")
    demote = client.patch(f"/api/staff/{me.id}", json={"role": "nurse"})
    assert demote.status_code == 422 and demote.json()["field"] == "role"
    taken = client.patch(f"/api/staff/{doc.practitioner_id}", json={"email": "admin@example.org"})
    assert taken.status_code == 422 and taken.json()["field"] == "email"
    unchanged = client.patch(f"/api/staff/{me.id}", json={"given_name": "Alexandra"})
    assert unchanged.status_code == 200 and unchanged.json()["display_name"] == "Mr Alexandra Stone"
    db.expire_all()
    assert db.scalar(select(UserAccount).where(UserAccount.email == "admin@example.org")).display_name == "Mr Alexandra Stone"
    changes = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "Practitioner")).all()
    assert any("role Clinic administrator" in e.description and "email head@clinic.example" in e.description
               for e in changes)
