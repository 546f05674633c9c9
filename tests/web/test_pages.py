"""Pages over HTTP: forms carry CSRF tokens, roles see their own pages."""

from __future__ import annotations

import re

from factories import PASSWORD, make_account, make_org, make_patient, make_practitioner
from sqlalchemy import select

from hindfoot.db.models import Patient


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def _form_login(client, email: str) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text), "next": "/me"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_home_explains_the_condition_in_plain_language(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "Pain at the back of the ankle" in r.text
    assert "not a diagnosis" in r.text.lower() or "decision support" in r.text.lower()
    assert '<main id="main"' in r.text


def test_login_form_without_csrf_token_is_refused(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    client.get("/login")
    r = client.post("/login", data={"email": "doc@example.org", "password": PASSWORD})
    assert r.status_code == 403


def test_login_with_wrong_password_shows_error(client, db):
    page = client.get("/login")
    r = client.post("/login", data={"email": "x@example.org", "password": "bad", "csrf_token": _csrf(page.text)})
    assert r.status_code == 401
    assert "Email or password is wrong" in r.text


def test_clinician_patient_list_search_and_htmx_partial(client, db):
    org = make_org(db)
    pr = make_practitioner(db, org)
    make_account(db, org, "clinician", practitioner=pr, email="doc@example.org")
    make_patient(db, org, "Ada", "Lovelace", stage="post_op")
    make_patient(db, org, "Grace", "Hopper", stage="enquiry")
    db.commit()
    _form_login(client, "doc@example.org")
    full = client.get("/patients?stage=post_op")
    assert "Lovelace" in full.text and "Hopper" not in full.text
    partial = client.get("/patients?q=grace", headers={"HX-Request": "true"})
    assert "Hopper" in partial.text and "<html" not in partial.text


def test_admin_sees_audit_log_clinician_does_not(client, db):
    org = make_org(db)
    make_account(db, org, "admin", email="admin@example.org")
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    _form_login(client, "doc@example.org")
    client.get("/patients")
    assert client.get("/admin/audit").status_code == 403
    client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})
    _form_login(client, "admin@example.org")
    r = client.get("/admin/audit")
    assert r.status_code == 200
    assert "doc@example.org" in r.text


def test_patient_me_redirects_to_own_record(client, db):
    org = make_org(db)
    p = make_patient(db, org, "Ada", "Lovelace")
    make_account(db, org, "patient", patient=p, email="ada@example.org")
    db.commit()
    _form_login(client, "ada@example.org")
    r = client.get("/me", follow_redirects=False)
    assert r.headers["location"] == f"/patients/{p.id}"
    assert "Ada Lovelace" in client.get(r.headers["location"]).text


def test_unknown_page_is_a_friendly_404(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Not found" in r.text


def test_home_page_sources_link_to_the_bibliography(client):
    home = client.get("/")
    assert 'href="/sources#S1"' in home.text
    sources = client.get("/sources")
    assert sources.status_code == 200
    assert 'id="S1"' in sources.text and 'id="EE"' in sources.text


def test_admin_filters_the_audit_log_by_what_was_touched(client, db):
    org = make_org(db)
    make_account(db, org, "admin", email="admin@example.org")
    db.commit()
    page = client.get("/login")
    client.post("/login", data={"email": "admin@example.org", "password": "wrong", "csrf_token": _csrf(page.text),
                                "next": "/me"})  # a failed sign-in: a UserAccount event
    _form_login(client, "admin@example.org")
    client.get("/patients")
    everything = client.get("/admin/audit")
    assert '<option value="UserAccount"' in everything.text
    sign_ins = client.get("/admin/audit", params={"what": "UserAccount"})
    assert "sign-in failed for admin@example.org" in sign_ins.text
    assert sign_ins.text.count("<tr class=\"outcome-") == 1
    unknown = client.get("/admin/audit", params={"what": "Nonsense"})  # not a kind the trail holds: no filter
    assert unknown.status_code == 200 and "sign-in failed" in unknown.text
    api = client.get("/api/audit-events", params={"entity_type": "UserAccount"})
    assert api.status_code == 200 and [e["entity_type"] for e in api.json()["items"]] == ["UserAccount"]


def test_staff_register_a_new_patient_and_bad_fields_come_back_named(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    _form_login(client, "doc@example.org")
    assert 'href="/patients/new"' in client.get("/patients").text
    page = client.get("/patients/new")
    assert page.status_code == 200 and 'name="birth_date"' in page.text
    token = _csrf(page.text)
    bad = client.post("/patients/new", data={"csrf_token": token, "given_name": "Mo", "family_name": "Salah",
                                             "birth_date": "2999-01-01", "sex": "male", "email": "not-an-email",
                                             "sport": "football", "level": "professional"})
    assert bad.status_code == 422
    assert "birth date cannot be in the future" in bad.text and 'href="#p-email"' in bad.text
    assert 'value="Salah"' in bad.text and '<option value="football" selected>' in bad.text  # nothing typed is lost
    ok = client.post("/patients/new", data={"csrf_token": token, "given_name": "Mo", "family_name": "Salah",
                                            "birth_date": "1992-06-15", "sex": "male", "email": "mo@example.org",
                                            "sport": "football", "level": "professional"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/patients/")
    record = client.get(ok.headers["location"])
    assert record.status_code == 200 and "Mo Salah" in record.text
    clash = client.post("/patients/new", data={"csrf_token": token, "given_name": "A", "family_name": "B",
                                               "birth_date": "1990-01-01", "sex": "female",
                                               "identifier": db.scalar(select(Patient.identifier))})
    assert clash.status_code == 422 and "already exists" in clash.text


def test_patients_cannot_register_patients(client, db):
    org = make_org(db)
    p = make_patient(db, org, "Ada", "Lovelace")
    make_account(db, org, "patient", patient=p, email="ada@example.org")
    db.commit()
    _form_login(client, "ada@example.org")
    assert client.get("/patients/new").status_code == 403
