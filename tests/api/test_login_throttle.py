"""Too many failed sign-ins lock an email for a while (API and page), and each failure is audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from factories import PASSWORD, make_account, make_org
from sqlalchemy import select, update

from hindfoot.auth import throttle
from hindfoot.db.models import AuditEvent, LoginThrottle

POLICY = throttle.ThrottlePolicy(max_failures=3, window=timedelta(minutes=10), lockout=timedelta(minutes=15))
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- pure policy


def test_failures_lock_at_the_limit_and_start_over_after_the_window_or_the_lock() -> None:
    f = None
    for i in range(1, 3):
        f = throttle.after_failure(f, T0 + timedelta(minutes=i), POLICY)
        assert f.count == i and f.locked_until is None and throttle.locked_until(f, T0 + timedelta(minutes=i)) is None
    f = throttle.after_failure(f, T0 + timedelta(minutes=3), POLICY)
    assert f.locked_until == T0 + timedelta(minutes=18)
    assert throttle.locked_until(f, T0 + timedelta(minutes=17, seconds=59)) == f.locked_until
    assert throttle.locked_until(f, T0 + timedelta(minutes=18)) is None
    after_lock = throttle.after_failure(f, T0 + timedelta(minutes=20), POLICY)
    assert (after_lock.count, after_lock.locked_until) == (1, None)
    spread = throttle.after_failure(throttle.after_failure(None, T0, POLICY), T0 + timedelta(minutes=11), POLICY)
    assert spread.count == 1  # the first failure fell out of the window
    assert throttle.email_key("  Doc@Example.ORG ") == "doc@example.org"
    assert throttle.minutes_left(T0 + timedelta(seconds=61), T0) == 2
    assert throttle.minutes_left(T0 + timedelta(seconds=5), T0) == 1


def test_an_attempt_counted_in_advance_is_taken_back_and_lifts_only_its_own_lock() -> None:
    f = None
    for i in range(1, 4):  # the third (counted before its password is checked) locks
        f = throttle.after_failure(f, T0 + timedelta(minutes=i), POLICY)
    assert f is not None and f.locked_until is not None
    back = throttle.without_attempt(f, POLICY)  # its password was right: two failures, no lock
    assert (back.count, back.locked_until, back.first_at) == (2, None, f.first_at)
    four = throttle.after_failure(f, T0 + timedelta(minutes=4), POLICY.for_key("x"))
    assert throttle.without_attempt(four, POLICY).locked_until == four.locked_until  # three real failures stay locked
    assert throttle.without_attempt(throttle.Failures(0, T0), POLICY).count == 0


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def doc(db):
    make_account(db, make_org(db), "clinician", email="doc@example.org")
    db.commit()
    return "doc@example.org"


def _login(client, email, password):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_api_locks_the_email_after_five_failures_even_for_the_right_password(client, db, doc):
    for _ in range(5):
        assert _login(client, doc, "wrong").status_code == 401
    locked = _login(client, "DOC@example.org", PASSWORD)  # the same email, typed differently
    assert locked.status_code == 429
    body = locked.json()
    assert body["error"] == "too_many_attempts" and "try again in 15 minutes" in body["message"]
    retry = int(locked.headers["Retry-After"])
    assert retry == body["retry_after_seconds"] and 14 * 60 < retry <= 15 * 60
    assert client.get("/api/me").status_code == 401
    db.expire_all()
    events = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "UserAccount")).all()
    assert len(events) == 6 and all(e.outcome == "4" and e.user_email == doc for e in events)
    assert any("locked for 15 min" in e.description for e in events)
    assert any("sign-in refused" in e.description for e in events)
    # the lock runs out: the right password works again and clears the count
    db.execute(update(LoginThrottle).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert _login(client, doc, PASSWORD).status_code == 200
    db.expire_all()
    assert db.scalars(select(LoginThrottle.email_key).where(~LoginThrottle.email_key.startswith("IP:"))).all() == []


def test_api_success_clears_earlier_failures(client, db, doc):
    for _ in range(4):
        assert _login(client, doc, "wrong").status_code == 401
    assert _login(client, doc, PASSWORD).status_code == 200
    client.post("/api/auth/logout")
    for _ in range(4):
        assert _login(client, doc, "wrong").status_code == 401  # counting starts over
    assert _login(client, doc, PASSWORD).status_code == 200


def test_unknown_emails_lock_the_same_way(client, db, doc):
    """A lock says nothing about which emails have accounts."""
    for _ in range(5):
        assert _login(client, "nobody@example.org", "x").status_code == 401
    assert _login(client, "nobody@example.org", "x").status_code == 429
    assert _login(client, doc, PASSWORD).status_code == 200  # other emails are unaffected


def test_login_page_shows_the_lock(client, db, doc):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def submit(password):
        return client.post("/login", data={"email": doc, "password": password, "csrf_token": token, "next": "/me"},
                           follow_redirects=False)

    for _ in range(5):
        wrong = submit("wrong")
        assert wrong.status_code == 401 and "Email or password is wrong." in wrong.text
    locked = submit(PASSWORD)
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert "Too many failed sign-ins for this email: try again in 15 minutes." in locked.text
    assert 'value="doc@example.org"' in locked.text  # the email stays filled in
