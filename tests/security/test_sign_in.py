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
    held, most = [0], [0]

    def checkout(*args):  # type: ignore[no-untyped-def]
        held[0] += 1
        most[0] = max(most[0], held[0])

    def checkin(*args):  # type: ignore[no-untyped-def]
        held[0] -= 1

    event.listen(app.state.engine, "checkout", checkout)
    event.listen(app.state.engine, "checkin", checkin)
    try:
        assert _login(client, "doc@example.org", "wrong").status_code == 401
        failed, most[0] = most[0], 0
        assert _login(client, "doc@example.org", PASSWORD).status_code == 200
        succeeded = most[0]
    finally:
        event.remove(app.state.engine, "checkout", checkout)
        event.remove(app.state.engine, "checkin", checkin)
    assert failed == 1 and succeeded == 1  # never two connections at once
    assert held[0] == 0
    db.expire_all()
    # the failure's count and audit entry were committed by that one connection, then cleared by the success
    assert db.get(LoginThrottle, "doc@example.org") is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.description.contains("sign-in failed for doc@example.org")))


def test_sign_ins_waiting_to_hash_already_count_hold_no_connection_and_the_one_past_the_limit_is_refused_at_once(
        app, client, db):
    """In a flood, sign-ins queue for argon2 (a bounded number hash at once). Each counts as a failure
    before it waits, holding no database connection meanwhile: the attempt past the limit is refused
    at once, not after everyone else's hashing, and no more than the limit are ever checked. A right
    password, when its turn comes, takes its count back."""
    import threading
    import time

    from hindfoot.auth import passwords

    org = make_org(db)
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    passwords.configure(app.state.settings.model_copy(update={"password_hash_concurrency": 1}))
    answers: list[int] = []

    def attempt(password: str) -> None:
        answers.append(_login(client, "doc@example.org", password).status_code)

    def counted() -> int:
        with app.state.sessionmaker() as s:
            row = s.get(LoginThrottle, "doc@example.org")
            return row.failures if row else 0

    try:
        with passwords.turn():  # the only turn, taken by "another sign-in"
            waiting = [threading.Thread(target=attempt, args=(PASSWORD if i == 0 else "wrong",)) for i in range(5)]
            for t in waiting:
                t.start()
            deadline = time.monotonic() + 20
            while counted() < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.2)
            assert counted() == 5 and all(t.is_alive() for t in waiting)  # counted, still waiting to hash
            assert app.state.engine.pool.checkedout() == 0  # while holding no connection
            start = time.monotonic()
            sixth = _login(client, "doc@example.org", PASSWORD)
            assert sixth.status_code == 429 and time.monotonic() - start < 5  # refused at once: no turn needed
        for t in waiting:
            t.join(timeout=30)
    finally:
        passwords.configure(app.state.settings)
    assert sorted(answers) == [200, 401, 401, 401, 401]  # the right one, checked before the lock, signs in
    db.expire_all()
    assert db.get(LoginThrottle, "doc@example.org") is None  # ... and its success cleared the email's count


def test_the_default_hash_cost_is_rfc_9106_and_an_older_hash_is_upgraded_at_sign_in(app, client, db):
    """The settings' defaults are argon2id with RFC 9106's second recommended cost (above OWASP's minimum);
    the suite hashes at a test cost. A stored hash of another cost moves to the current one at the next
    sign-in, so a change of cost reaches every account that signs in."""
    from argon2 import PasswordHasher

    from hindfoot.auth import passwords
    from hindfoot.db.models import UserAccount
    from hindfoot.settings import Settings

    defaults = passwords.HashCost.from_settings(Settings.model_construct())
    assert defaults == passwords.HashCost(time_cost=3, memory_kib=65536, parallelism=4)
    org = make_org(db)
    account = make_account(db, org, "clinician", email="doc@example.org")
    account.password_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    db.commit()
    assert _login(client, "doc@example.org", PASSWORD).status_code == 200
    db.expire_all()
    stored = db.get(UserAccount, account.id).password_hash
    current = passwords.HashCost.from_settings(app.state.settings)
    assert stored.startswith(f"$argon2id$v=19$m={current.memory_kib},t={current.time_cost},p={current.parallelism}$")
    assert passwords.verify_password(stored, PASSWORD)
