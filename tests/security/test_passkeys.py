"""Staff passkeys, without a browser: who may start a ceremony, and that a forged or replayed answer is
refused (a failure counted and audited like a wrong code). The real ceremony runs in Chromium with a
virtual authenticator: tests/browser/test_passkeys.py."""

from __future__ import annotations

import re

import pyotp
from factories import PASSWORD, make_account, make_org, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select

from hindfoot.db.base import utcnow
from hindfoot.db.models import AuditEvent, LoginThrottle, Passkey


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _staff_with_mfa(db):  # type: ignore[no-untyped-def]
    org = make_org(db)
    doc = make_account(db, org, "clinician", practitioner=make_practitioner(db, org), email="doc@example.org")
    doc.mfa_secret, doc.mfa_enabled_at = pyotp.random_base32(), utcnow()
    db.add(Passkey(user_id=doc.id, credential_id="AAAAAAAAAAAAAAAAAAAAAA", public_key=b"\xa5\x01\x02", sign_count=0,
                   name="Old key"))
    db.commit()
    return doc


def _pending(app) -> TestClient:  # type: ignore[no-untyped-def]
    """Past the password, owing the second step."""
    c = TestClient(app)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"email": "doc@example.org", "password": PASSWORD, "csrf_token": token, "next": "/x"},
               follow_redirects=False)
    assert r.headers["location"].startswith("/login/mfa")
    page = c.get(r.headers["location"])
    assert "Use a passkey" in page.text and "/static/js/passkeys.js" in page.text
    c.headers["X-CSRF-Token"] = _csrf(page.text)
    return c


def test_a_forged_or_replayed_passkey_answer_is_refused_and_counted(app, db):
    _staff_with_mfa(db)
    anonymous = TestClient(app)
    assert anonymous.post("/login/mfa/passkey/options").status_code in (401, 403)  # no session, no CSRF token
    c = _pending(app)
    assert c.post("/login/mfa/passkey", json={"credential": {"id": "x"}}).json()["field"] == "credential"  # no challenge
    options = c.post("/login/mfa/passkey/options").json()
    assert options["rpId"] == "127.0.0.1" and [a["id"] for a in options["allowCredentials"]] == ["AAAAAAAAAAAAAAAAAAAAAA"]
    forged = {"id": "AAAAAAAAAAAAAAAAAAAAAA", "rawId": "AAAAAAAAAAAAAAAAAAAAAA", "type": "public-key",
              "response": {"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"}}
    r = c.post("/login/mfa/passkey", json={"credential": forged})
    assert r.status_code == 401 and "passkey was not accepted" in r.json()["message"]
    again = c.post("/login/mfa/passkey", json={"credential": forged})  # the challenge was spent
    assert again.status_code == 422 and again.json()["field"] == "credential"
    assert c.post("/login/mfa/passkey", content=b"not json", headers={"Content-Type": "application/json"}
                  ).json()["field"] == "body"
    assert c.get("/api/me").status_code == 401  # still not signed in
    db.expire_all()
    assert db.get(LoginThrottle, "doc@example.org").failures == 1
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.description.contains("passkey refused"))) is not None


def test_a_passkey_needs_two_step_sign_in_on_and_is_the_owners_to_remove(app, db):
    org = make_org(db)
    make_account(db, org, "clinician", practitioner=make_practitioner(db, org), email="plain@example.org")
    db.commit()
    c = TestClient(app)
    r = c.post("/api/auth/login", json={"email": "plain@example.org", "password": PASSWORD})
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    page = c.get("/account/passkeys")
    assert page.status_code == 200 and "Turn on" in page.text
    refused = c.post("/account/passkeys/options")
    assert refused.status_code == 422 and refused.json()["field"] == "mfa"
    assert c.post("/account/passkeys", json={"credential": "nonsense"}).json()["field"] == "credential"
    # another account's passkey is not found
    other = make_account(db, org, "admin", email="other@example.org")
    key = Passkey(user_id=other.id, credential_id="BBBB", public_key=b"\x01", sign_count=0, name="Theirs")
    db.add(key)
    db.commit()
    assert c.post(f"/account/passkeys/{key.id}/delete").status_code == 404
    db.expire_all()
    assert db.get(Passkey, key.id) is not None
