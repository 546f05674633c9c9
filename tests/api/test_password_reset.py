"""Passwords: a reset link by email (API and pages, once, for an hour) and a change when signed in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import PASSWORD, login, make_account, make_org
from fastapi.testclient import TestClient
from smtp_server import free_port
from sqlalchemy import select

from hindfoot.app import create_app
from hindfoot.auth import reset
from hindfoot.db.base import utcnow
from hindfoot.db.models import AuditEvent, LoginThrottle, UserAccount

NEW = "a-much-better-passphrase"


@pytest.fixture
def pat(db):
    make_account(db, make_org(db), "clinician", email="doc@example.org")
    db.commit()
    return "doc@example.org"


def _link(message) -> str:
    match = re.search(r"http://\S+/password/reset\?token=(\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_api_reset_by_emailed_link_works_once(mail_client, db, pat):
    client, inbox = mail_client
    asked = client.post("/api/auth/password-reset", json={"email": "Doc@Example.org "})
    assert asked.status_code == 202
    unknown = client.post("/api/auth/password-reset", json={"email": "nobody@example.org"})
    assert unknown.status_code == 202 and unknown.json() == asked.json()  # no hint which emails exist
    assert len(inbox) == 1 and inbox[0]["To"] == pat and "within 60 minutes" in inbox[0].get_content()
    token = _link(inbox[0])
    short = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert short.status_code == 422 and short.json()["field"] == "password"
    assert client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW}).status_code == 204
    again = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW + "!"})
    assert again.status_code == 422 and again.json()["field"] == "token"  # spent
    assert client.post("/api/auth/login", json={"email": pat, "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"email": pat, "password": NEW}).status_code == 200
    db.expire_all()
    described = [e.description for e in db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "UserAccount"))]
    assert "password reset link queued for email" in described and "password reset by emailed link" in described


def test_one_email_per_few_minutes_and_links_expire(mail_client, db, pat):
    client, inbox = mail_client
    for _ in range(3):
        assert client.post("/api/auth/password-reset", json={"email": pat}).status_code == 202
    assert len(inbox) == 1
    account = db.scalar(select(UserAccount).where(UserAccount.email == pat))
    secret = "test-secret-key-" + "x" * 32
    old = reset.make_token(secret, account, utcnow() - timedelta(minutes=61))
    r = client.post("/api/auth/password-reset/confirm", json={"token": old, "password": NEW})
    assert r.status_code == 422 and "expired" in r.json()["message"]
    forged = reset.make_token("another-secret-" + "y" * 32, account)
    assert client.post("/api/auth/password-reset/confirm", json={"token": forged, "password": NEW}).status_code == 422
    assert client.post("/api/auth/password-reset/confirm", json={"token": "x" * 40, "password": NEW}).status_code == 422


def test_reset_lifts_a_sign_in_lock(mail_client, db, pat):
    client, inbox = mail_client
    for _ in range(5):
        client.post("/api/auth/login", json={"email": pat, "password": "wrong"})
    assert client.post("/api/auth/login", json={"email": pat, "password": PASSWORD}).status_code == 429
    client.post("/api/auth/password-reset", json={"email": pat})
    assert client.post("/api/auth/password-reset/confirm",
                       json={"token": _link(inbox[0]), "password": NEW}).status_code == 204
    db.expire_all()
    assert db.scalars(select(LoginThrottle.email_key).where(~LoginThrottle.email_key.startswith("IP:"))).all() == []
    assert client.post("/api/auth/login", json={"email": pat, "password": NEW}).status_code == 200


def test_an_smtp_failure_answers_the_same_and_is_audited(settings, session_factory, db, pat):
    app = create_app(settings.model_copy(update={"smtp_port": free_port()}))  # nothing listens there
    with TestClient(app) as client:
        r = client.post("/api/auth/password-reset", json={"email": pat})
    assert r.status_code == 202
    db.expire_all()
    event = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "8")).one()
    assert event.description.startswith("password reset email not sent")
    assert db.scalar(select(UserAccount).where(UserAccount.email == pat)).password_reset_sent_at is None  # may ask again


def test_signed_in_change_checks_the_current_password(client, db, pat):
    login(client, pat)
    wrong = client.post("/api/auth/password", json={"current_password": "nope", "password": NEW})
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    same = client.post("/api/auth/password", json={"current_password": PASSWORD, "password": PASSWORD})
    assert same.status_code == 422 and "same" in same.json()["message"]
    mail = client.post("/api/auth/password", json={"current_password": PASSWORD, "password": pat})
    assert mail.status_code == 422 and "email" in mail.json()["message"]
    assert client.post("/api/auth/password", json={"current_password": PASSWORD, "password": NEW}).status_code == 204
    del client.headers["X-CSRF-Token"]
    assert client.post("/api/auth/password", json={"current_password": NEW, "password": NEW + "2"}).status_code == 403
    client.post("/api/auth/logout")
    assert client.post("/api/auth/login", json={"email": pat, "password": NEW}).status_code == 200


def test_pages_forgot_reset_and_change(mail_client, db, pat):
    client, inbox = mail_client
    login_page = client.get("/login").text
    assert 'href="/password/forgot"' in login_page
    forgot = client.get("/password/forgot")
    sent = client.post("/password/forgot", data={"email": pat, "csrf_token": _csrf(forgot.text)})
    assert sent.status_code == 200 and "If an account uses doc@example.org" in sent.text
    token = _link(inbox[0])
    form = client.get(f"/password/reset?token={token}")
    assert form.status_code == 200 and 'name="password"' in form.text
    differ = client.post("/password/reset", data={"csrf_token": _csrf(form.text), "token": token,
                                                  "password": NEW, "confirm": NEW + "x"})
    assert differ.status_code == 422 and "New password again: the two new passwords differ" in differ.text
    assert 'id="confirm-error"' in differ.text and 'href="#confirm"' in differ.text  # by its field
    done = client.post("/password/reset", data={"csrf_token": _csrf(form.text), "token": token,
                                                "password": NEW, "confirm": NEW}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?changed=1"
    assert "Your new password is set. Sign in with it." in client.get("/login?changed=1").text
    spent = client.get(f"/password/reset?token={token}")
    assert spent.status_code == 400 and 'href="/password/forgot"' in spent.text and 'name="password"' not in spent.text
    # signed in: change it again from the account page
    page = client.get("/login")
    assert client.post("/login", data={"email": pat, "password": NEW, "csrf_token": _csrf(page.text), "next": "/me"},
                       follow_redirects=False).status_code == 303
    change = client.get("/account/password")
    assert change.status_code == 200 and 'href="/account"' in change.text  # the nav links to the account page
    bad = client.post("/account/password", data={"csrf_token": _csrf(change.text), "current_password": "nope",
                                                  "password": NEW + "2", "confirm": NEW + "2"})
    assert bad.status_code == 422 and "Current password: the current password is wrong" in bad.text
    assert 'id="current_password-error"' in bad.text
    ok = client.post("/account/password", data={"csrf_token": _csrf(change.text), "current_password": NEW,
                                                 "password": NEW + "2", "confirm": NEW + "2"})
    assert ok.status_code == 200 and "Your new password is set." in ok.text


def test_the_account_page_needs_a_sign_in(client):
    r = client.get("/account/password", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
