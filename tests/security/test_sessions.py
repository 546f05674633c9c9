"""Server-side sessions: a copied cookie stops working when the session ends, whatever ended it."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from factories import PASSWORD, login, make_account, make_org, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hindfoot.auth import reset
from hindfoot.db.base import utcnow
from hindfoot.db.models import UserSession
from hindfoot.settings import Settings


def _setup(db):
    org = make_org(db)
    prac = make_practitioner(db, org)
    doc = make_account(db, org, "clinician", practitioner=prac, email="doc@example.org")
    admin_prac = make_practitioner(db, org, "admin", family="Boss")
    admin = make_account(db, org, "admin", practitioner=admin_prac, email="boss@example.org")
    pat = make_account(db, org, "patient", email="pat@example.org")
    db.commit()
    return doc, admin, pat


def _copy(app, client: TestClient) -> TestClient:  # type: ignore[no-untyped-def]
    """Another client holding a copy of `client`'s cookie and CSRF header (what a thief would hold)."""
    thief = TestClient(app)
    thief.cookies.set("hindfoot_session", client.cookies.get("hindfoot_session"))
    thief.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return thief


def test_the_cookie_holds_only_a_random_session_id(client, db):
    _setup(db)
    login(client, "doc@example.org")
    payload = client.cookies.get("hindfoot_session").split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert list(data) == ["sid"] and len(data["sid"]) >= 40
    assert "doc@example.org" not in json.dumps(data)
    # only the token's hash is stored
    row = db.scalars(select(UserSession)).one()
    assert row.id != data["sid"] and len(row.id) == 64


def test_a_replayed_cookie_after_sign_out_answers_401(app, client, db):
    _setup(db)
    login(client, "doc@example.org")
    thief = _copy(app, client)
    assert thief.get("/api/me").status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    assert thief.get("/api/me").status_code == 401
    assert thief.get("/patients", follow_redirects=False).status_code == 303  # to the sign-in page


def test_a_password_change_ends_every_other_session(app, client, db):
    _setup(db)
    login(client, "doc@example.org")
    other = TestClient(app)
    login(other, "doc@example.org")
    thief = _copy(app, other)
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "password": "a brand new secret"})
    assert r.status_code == 204
    assert client.get("/api/me").status_code == 200  # the session that changed it goes on
    assert other.get("/api/me").status_code == 401
    assert thief.get("/api/me").status_code == 401


def test_a_password_reset_ends_every_session(app, client, db, settings):
    doc, _, _ = _setup(db)
    login(client, "doc@example.org")
    thief = _copy(app, client)
    token = reset.make_token(settings.secret_key, doc)
    anon = TestClient(app)
    csrf = anon.get("/api/csrf").json()["csrf_token"]
    r = anon.post("/api/auth/password-reset/confirm", json={"token": token, "password": "a brand new secret"},
                  headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert client.get("/api/me").status_code == 401 and thief.get("/api/me").status_code == 401


def test_deactivation_ends_the_members_sessions(app, client, db):
    doc, admin, _ = _setup(db)
    member = TestClient(app)
    login(member, "doc@example.org")
    thief = _copy(app, member)
    login(client, "boss@example.org")
    assert client.post(f"/admin/staff/{doc.practitioner_id}/active",
                       data={"active": "false", "csrf_token": client.headers["X-CSRF-Token"]}).status_code == 200
    assert member.get("/api/me").status_code == 401 and thief.get("/api/me").status_code == 401
    db.expire_all()
    assert db.scalars(select(UserSession).where(UserSession.user_id == doc.id)).all() == []


@pytest.mark.parametrize(("email", "idle_minutes", "alive"), [
    ("doc@example.org", 29, True), ("doc@example.org", 31, False),  # staff: 30 minutes
    ("pat@example.org", 31, True), ("pat@example.org", 121, False),  # patients: 2 hours
])
def test_idle_sessions_end(client, db, email, idle_minutes, alive):
    _setup(db)
    login(client, email)
    db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=idle_minutes)))
    db.commit()
    assert client.get("/api/me").status_code == (200 if alive else 401)


def test_a_session_ends_at_its_absolute_lifetime_however_active(client, db):
    _setup(db)
    login(client, "doc@example.org")
    db.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert client.get("/api/me").status_code == 401


def test_a_user_sees_their_sessions_and_ends_one(app, client, db):
    _setup(db)
    login(client, "doc@example.org")
    phone = TestClient(app, headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604.1"})
    login(phone, "doc@example.org")
    login(TestClient(app), "pat@example.org")  # someone else's session is not listed
    listed = client.get("/api/auth/sessions").json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    theirs = next(s for s in listed if not s["current"])
    assert theirs["device"] == "Safari on iPhone"
    page = client.get("/account")
    assert page.status_code == 200 and "Safari on iPhone" in page.text and "(this device)" in page.text
    assert client.delete(f"/api/auth/sessions/{theirs['id']}").status_code == 204
    assert phone.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 200
    # another account's session id is not found
    other = db.scalars(select(UserSession).where(UserSession.id.not_in([x["id"] for x in listed]))).one()
    assert client.delete(f"/api/auth/sessions/{other.id}").status_code == 404


def test_production_refuses_to_start_without_secure_cookies():
    with pytest.raises(ValueError, match="HINDFOOT_COOKIE_SECURE"):
        Settings(environment="production", secret_key="s" * 40, cookie_secure=False)
    assert Settings(environment="production", secret_key="s" * 40, cookie_secure=True).cookie_secure
