"""A patient reads only their own record; every refused attempt is on the audit trail."""

from __future__ import annotations

from factories import login, make_account, make_org, make_patient
from sqlalchemy import select

from hindfoot.db.models import AuditEvent


def _two_patients(db):
    org = make_org(db)
    alice = make_patient(db, org, "Alice", "Able")
    bob = make_patient(db, org, "Bob", "Baker")
    make_account(db, org, "patient", patient=alice, email="alice@example.org")
    make_account(db, org, "admin", email="admin@example.org")
    db.commit()
    return alice, bob


def test_patient_reads_own_record(client, db):
    alice, _ = _two_patients(db)
    login(client, "alice@example.org")
    r = client.get(f"/api/patients/{alice.id}")
    assert r.status_code == 200
    assert r.json()["patient"]["given_name"] == "Alice"


def test_patient_cannot_read_another_patient_by_id_and_attempt_is_audited(client, db):
    alice, bob = _two_patients(db)
    login(client, "alice@example.org")
    r = client.get(f"/api/patients/{bob.id}")
    assert r.status_code == 404
    assert "Baker" not in r.text
    db.expire_all()
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4")).all()
    assert len(denied) == 1
    assert denied[0].user_email == "alice@example.org"
    assert denied[0].patient_id == bob.id
    assert denied[0].entity_id == str(bob.id)


def test_patient_cannot_list_patients(client, db):
    _two_patients(db)
    login(client, "alice@example.org")
    assert client.get("/api/patients").status_code == 403


def test_patient_cannot_read_audit_log_but_admin_sees_denial(client, db):
    alice, bob = _two_patients(db)
    login(client, "alice@example.org")
    client.get(f"/api/patients/{bob.id}")
    assert client.get("/api/audit-events").status_code == 403
    client.post("/api/auth/logout")
    login(client, "admin@example.org")
    events = client.get("/api/audit-events", params={"outcome": "4"}).json()
    assert events["total"] == 1
    assert events["items"][0]["user_email"] == "alice@example.org"
    assert events["items"][0]["outcome_label"] == "denied"


def test_page_for_another_patients_record_is_refused_and_audited(client, db):
    alice, bob = _two_patients(db)
    login(client, "alice@example.org")
    r = client.get(f"/patients/{bob.id}")
    assert r.status_code == 404
    assert "Baker" not in r.text
    own = client.get(f"/patients/{alice.id}")
    assert own.status_code == 200 and "Alice Able" in own.text
    db.expire_all()
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4")).all()
    assert [(d.path, d.user_email) for d in denied] == [(f"/patients/{bob.id}", "alice@example.org")]


def test_anonymous_page_request_redirects_to_login(client, db):
    alice, _ = _two_patients(db)
    r = client.get(f"/patients/{alice.id}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
