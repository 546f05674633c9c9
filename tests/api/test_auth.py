from __future__ import annotations

from factories import PASSWORD, login, make_account, make_org
from sqlalchemy import select

from hindfoot.db.models import UserAccount


def test_login_sets_session_and_me_reports_role(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    login(client, "doc@example.org")
    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["role"] == "clinician"
    cookie = client.cookies.get("hindfoot_session")
    assert cookie and PASSWORD not in cookie


def test_wrong_password_is_401_with_message(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    r = client.post("/api/auth/login", json={"email": "doc@example.org", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["message"] == "email or password is wrong"
    assert client.get("/api/me").status_code == 401


def test_passwords_are_stored_as_argon2_hashes(db):
    org = make_org(db)
    make_account(db, org, "admin", email="a@example.org")
    db.commit()
    stored = db.scalar(select(UserAccount.password_hash).where(UserAccount.email == "a@example.org"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_unsafe_request_without_csrf_token_is_refused(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    login(client, "doc@example.org")
    del client.headers["X-CSRF-Token"]
    r = client.post("/api/patients", json={"given_name": "A", "family_name": "B", "birth_date": "1990-01-01", "sex": "male"})
    assert r.status_code == 403
    assert "CSRF" in r.json()["message"]


def test_logout_ends_the_session(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    login(client, "doc@example.org")
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/me").status_code == 401
