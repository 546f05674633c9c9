"""Sign-in: throttled per source address too, and each attempt uses a single database connection."""

from __future__ import annotations

from factories import PASSWORD, make_account, make_org
from sqlalchemy import event, select

from hindfoot.db.models import AuditEvent, LoginThrottle


def _login(client, email, password, ip=None):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_one_address_trying_one_password_on_many_accounts_is_locked_out(client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    for n in range(20):  # twenty different emails, four tries short of any per-email lock
        assert _login(client, f"victim{n}@example.org", "Summer2026!").status_code == 401
    locked = _login(client, "doc@example.org", PASSWORD)  # even the right password for a real account
    assert locked.status_code == 429 and "this address" in locked.json()["message"]
    assert int(locked.headers["Retry-After"]) > 14 * 60
    db.expire_all()
    row = db.get(LoginThrottle, "IP:testclient")
    assert row is not None and row.failures == 20 and row.locked_until is not None
    refused = db.scalars(select(AuditEvent).where(AuditEvent.description.contains("this address is locked"))).all()
    assert len(refused) == 1 and refused[0].source_ip == "testclient"


def test_a_failed_sign_in_uses_one_connection_and_keeps_its_count(app, client, db):
    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    client.get("/api/csrf")
    checkouts: list[int] = []
    listener = lambda *args: checkouts.append(1)  # noqa: E731
    event.listen(app.state.engine, "checkout", listener)
    try:
        assert _login(client, "doc@example.org", "wrong").status_code == 401
        failed = len(checkouts)
        checkouts.clear()
        assert _login(client, "doc@example.org", PASSWORD).status_code == 200
        succeeded = len(checkouts)
    finally:
        event.remove(app.state.engine, "checkout", listener)
    assert failed == 1 and succeeded == 1
    db.expire_all()
    # the failure's count and audit entry were committed by that one connection, then cleared by the success
    assert db.get(LoginThrottle, "doc@example.org") is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.description.contains("sign-in failed for doc@example.org")))
