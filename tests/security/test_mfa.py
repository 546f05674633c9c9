"""Staff MFA: TOTP after the password when on; required by the clinic; recovery codes work once; an admin
resets a member's MFA (audited)."""

from __future__ import annotations

import re
import time

import pyotp
from factories import PASSWORD, login, make_account, make_org, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Organization, Passkey, UserAccount


def _setup(db, *, required: bool | None = None):  # type: ignore[no-untyped-def]
    org = make_org(db)
    org.mfa_required = required
    doc = make_account(db, org, "clinician", practitioner=make_practitioner(db, org), email="doc@example.org")
    admin = make_account(db, org, "admin", practitioner=make_practitioner(db, org, "admin", family="Boss"),
                         email="boss@example.org")
    make_account(db, org, "patient", email="pat@example.org")
    db.commit()
    return org, doc, admin


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form_login(client: TestClient, email: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text),
                                       "next": "/patients"}, follow_redirects=False)


def _next_code(secret: str) -> str:
    """The code of the next time step: the enrolment spent this one's (a code works once)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _enrol(client: TestClient) -> tuple[str, list[str]]:
    """Sign in on the web of a clinic that requires MFA: set it up; (secret, recovery codes)."""
    r = _form_login(client, "doc@example.org")
    assert r.status_code == 303 and r.headers["location"].startswith("/login/mfa")
    assert client.get("/api/me").status_code == 401  # not signed in yet
    page = client.get(r.headers["location"])
    assert "Set up two-step sign-in" in page.text and 'src="data:image/svg+xml' in page.text
    secret = re.search(r'<code id="mfa-secret">([A-Z2-7]+)</code>', page.text).group(1)
    bad = client.post("/login/mfa", data={"code": "000000", "csrf_token": _csrf(page.text), "next": "/patients"})
    assert bad.status_code == 422 and "not right" in bad.text
    done = client.post("/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": _csrf(page.text),
                                           "next": "/patients"})
    assert done.status_code == 200 and "Your recovery codes" in done.text
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)
    assert len(codes) == 10
    assert client.get("/api/me").json()["email"] == "doc@example.org"
    return secret, codes


def test_a_clinic_that_requires_mfa_has_staff_enrol_then_sign_in_with_a_code(app, db):
    _setup(db, required=True)
    secret, _ = _enrol(TestClient(app))
    c = TestClient(app)
    r = _form_login(c, "doc@example.org")
    assert r.headers["location"].startswith("/login/mfa")
    page = c.get(r.headers["location"])
    assert "Set up" not in page.text and "6-digit code" in page.text
    ok = c.post("/login/mfa", data={"code": _next_code(secret), "csrf_token": _csrf(page.text),
                                    "next": "/patients"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/patients"
    assert c.get("/patients").status_code == 200
    # patients never need a second factor
    p = TestClient(app)
    assert _form_login(p, "pat@example.org").headers["location"] == "/patients"


def test_the_api_needs_the_code_too(app, db):
    _setup(db, required=True)
    secret, _ = _enrol(TestClient(app))
    c = TestClient(app)
    r = c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"] == "mfa_required" and r.json()["field"] == "code"
    assert c.get("/api/me").status_code == 401
    wrong = c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD, "code": "123456"})
    assert wrong.status_code == 401
    ok = c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD,
                                         "code": _next_code(secret)})
    assert ok.status_code == 200
    # required but not set up: the API says to set it up on the web
    fresh = c.post("/api/auth/login", json={"email": "boss@example.org", "password": PASSWORD})
    assert fresh.status_code == 403 and "set it up" in fresh.json()["message"]


def test_recovery_codes_work_once(app, db):
    _setup(db, required=True)
    _, codes = _enrol(TestClient(app))
    for attempt, expected in ((codes[0], 200), (codes[0].upper().replace("-", " "), 401), (codes[1], 200)):
        c = TestClient(app)
        r = c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD, "code": attempt})
        assert r.status_code == expected, attempt


def test_wrong_codes_lock_the_email_like_wrong_passwords(app, db):
    _setup(db, required=True)
    secret, _ = _enrol(TestClient(app))
    c = TestClient(app)
    for _ in range(5):
        assert c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD,
                                               "code": "000000"}).status_code == 401
    locked = c.post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD,
                                             "code": _next_code(secret)})
    assert locked.status_code == 429


def test_mfa_is_off_outside_production_unless_the_clinic_turns_it_on(app, client, db):
    _setup(db)  # no choice made; tests run as environment "test"
    assert _form_login(client, "doc@example.org").headers["location"] == "/patients"
    client.post("/logout", data={"csrf_token": _csrf(client.get("/patients").text)})
    admin = TestClient(app)
    login(admin, "boss@example.org")
    page = admin.get("/admin/staff")
    assert "optional" in page.text
    r = admin.post("/admin/mfa-policy", data={"required": "true", "csrf_token": admin.headers["X-CSRF-Token"]})
    assert r.status_code == 200 and "now required" in r.text
    db.expire_all()
    assert db.scalar(select(Organization.mfa_required)) is True
    assert _form_login(TestClient(app), "doc@example.org").headers["location"].startswith("/login/mfa")


def test_an_admin_resets_a_members_mfa_and_it_is_audited(app, db):
    _, doc, _ = _setup(db, required=True)
    member = TestClient(app)
    _enrol(member)
    db.add(Passkey(user_id=doc.id, credential_id="AAAA", public_key=b"\x01", sign_count=0, name="Lost phone"))
    db.commit()
    admin = TestClient(app)
    _enrol_admin = _form_login(admin, "boss@example.org")  # the admin enrols too
    page = admin.get(_enrol_admin.headers["location"])
    secret = re.search(r'<code id="mfa-secret">([A-Z2-7]+)</code>', page.text).group(1)
    admin.post("/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": _csrf(page.text), "next": "/"})
    staff_page = admin.get("/admin/staff")
    assert "Reset two-step sign-in" in staff_page.text
    r = admin.post(f"/admin/staff/{doc.practitioner_id}/mfa-reset", data={"csrf_token": _csrf(staff_page.text)})
    assert r.status_code == 200 and "two-step sign-in is reset" in r.text
    assert member.get("/api/me").status_code == 401  # their sessions ended
    db.expire_all()
    account = db.get(UserAccount, doc.id)
    assert account.mfa_secret is None and account.mfa_enabled_at is None
    assert db.scalar(select(Passkey).where(Passkey.user_id == doc.id)) is None  # passkeys go too
    event = db.scalar(select(AuditEvent).where(AuditEvent.description.contains("two-step sign-in reset")))
    assert event is not None and event.user_email == "boss@example.org"
    # next sign-in: set up again
    again = _form_login(TestClient(app), "doc@example.org")
    assert again.headers["location"].startswith("/login/mfa")


def test_an_app_code_works_once(app, db):
    """RFC 6238 section 5.2: the code that just signed someone in (or confirmed the enrolment) is refused
    the second time, and so is a code of an earlier time step; a wrong code counts as a failure."""
    _setup(db, required=True)
    secret, _ = _enrol(TestClient(app))
    totp, now = pyotp.TOTP(secret), time.time()

    def sign_in(code: str) -> int:
        return TestClient(app).post("/api/auth/login", json={"email": "doc@example.org", "password": PASSWORD,
                                                             "code": code}).status_code

    assert sign_in(totp.at(now)) == 401  # the enrolment's own code: spent
    assert sign_in(totp.at(now + 30)) == 200
    assert sign_in(totp.at(now + 30)) == 401  # replayed within its window
    assert sign_in(totp.at(now - 30)) == 401  # an older step, still inside the drift window
    db.expire_all()
    account = db.scalar(select(UserAccount).where(UserAccount.email == "doc@example.org"))
    assert account.mfa_last_step == int((now + 30) // 30)  # the step last accepted, remembered
