"""Sign-in: check credentials (throttled per email and per source address), upgrade old hashes, remember the last login."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hindfoot.auth import throttle
from hindfoot.auth.passwords import hash_password, needs_rehash, verify_password
from hindfoot.db.base import utcnow
from hindfoot.db.models import LoginThrottle, UserAccount
from hindfoot.errors import NotAuthenticated, TooManyAttempts
from hindfoot.settings import Settings

# Verifying against a real hash when the email is unknown keeps response times alike,
# so timing does not reveal which emails have accounts.
_DUMMY_HASH = hash_password("not-a-real-password")


def authenticate(db: Session, email: str, password: str) -> UserAccount | None:
    account = db.scalar(select(UserAccount).where(func.lower(UserAccount.email) == email.strip().lower()))
    if account is None or not account.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(account.password_hash, password):
        return None
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = utcnow()
    return account


def throttle_policy(settings: Settings) -> throttle.ThrottlePolicy:
    minutes = timedelta(minutes=settings.login_lockout_minutes)
    return throttle.ThrottlePolicy(max_failures=settings.login_max_failures, window=minutes, lockout=minutes,
                                   max_failures_per_address=settings.login_max_failures_per_address)


def _failures(row: LoginThrottle | None) -> throttle.Failures | None:
    if row is None:
        return None
    return throttle.Failures(count=row.failures, first_at=row.first_failure_at, locked_until=row.locked_until)


def sign_in(
    db: Session,
    email: str,
    password: str,
    *,
    policy: throttle.ThrottlePolicy,
    source_ip: str | None = None,
    now: datetime | None = None,
    clear: bool = True,
) -> UserAccount:
    """The account for these credentials. A wrong email or password raises NotAuthenticated and counts
    against the email and against the source address; an email or address with too many recent failures
    raises TooManyAttempts, even with the right password, and the password is not checked at all.
    Success clears the email's count. Everything happens in `db`, the request's own transaction: the
    refusals carry `keep_writes`, so the count and its audit entry commit while the sign-in fails."""
    now = now or utcnow()
    key = throttle.email_key(email)
    keys = [key] + ([throttle.address_key(source_ip)] if source_ip else [])
    org_id = _organization_of(db, key)
    _refuse_if_locked(db, keys, key, source_ip, org_id, now)
    account = authenticate(db, email, password)
    if account is None:
        notes = [_count_failure(db, k, now, policy.for_key(k)) for k in keys]
        window = int(policy.window.total_seconds() // 60)
        _audit(db, key, source_ip, org_id, f"sign-in failed for {key} (failure {notes[0]} within {window} min"
               + "".join(n for n in notes[1:] if "locked" in n).replace("locked", "; address locked") + ")")
        error = NotAuthenticated("email or password is wrong")
        error.keep_writes = True
        raise error
    if clear:  # with a second factor still to come, the count is cleared only after it (`clear_failures`)
        clear_failures(db, account.email)
    return account


def clear_failures(db: Session, email: str) -> None:
    row = db.get(LoginThrottle, throttle.email_key(email))
    if row is not None and row not in db.deleted:
        db.delete(row)


def _refuse_if_locked(db: Session, keys: list[str], key: str, source_ip: str | None, org_id: uuid.UUID | None,
                      now: datetime) -> dict[str, LoginThrottle | None]:
    rows = {k: db.get(LoginThrottle, k) for k in keys}
    for k, row in rows.items():
        until = throttle.locked_until(_failures(row), now)
        if until is None:
            continue
        what = "this email" if k == key else "this address"
        _audit(db, key, source_ip, org_id, f"sign-in refused: {what} is locked until {until:%H:%M} UTC")
        minutes = throttle.minutes_left(until, now)
        error = TooManyAttempts(
            f"too many failed sign-ins for {what}: try again in {minutes} minute{'s' if minutes != 1 else ''}",
            retry_after_seconds=max(1, int((until - now).total_seconds())),
        )
        error.keep_writes = True
        raise error
    return rows


def second_factor(db: Session, account: UserAccount, code: str, *, policy: throttle.ThrottlePolicy,
                  source_ip: str | None = None, now: datetime | None = None,
                  checker: Callable[[], str | None] | None = None) -> str:
    """Check a sign-in's second factor (an app code or a recovery code, see mfa.check; or, with `checker`,
    another method such as a passkey); how it was given. Failures count against the email and the
    address like wrong passwords, and the same locks apply."""
    from hindfoot.auth import mfa

    now = now or utcnow()
    key = throttle.email_key(account.email)
    keys = [key] + ([throttle.address_key(source_ip)] if source_ip else [])
    _refuse_if_locked(db, keys, key, source_ip, account.organization_id, now)
    how = checker() if checker is not None else mfa.check(db, account, code, now=now)
    if how is None:
        notes = [_count_failure(db, k, now, policy.for_key(k)) for k in keys]
        what = "passkey refused" if checker is not None else "sign-in code wrong"
        _audit(db, key, source_ip, account.organization_id, f"{what} for {key} (failure {notes[0]})")
        error = NotAuthenticated("that passkey was not accepted: try again, or type a code" if checker is not None
                                 else "that code is not right: type the 6 digits your app shows now, or a recovery code")
        error.keep_writes = True
        raise error
    clear_failures(db, account.email)
    return how


def _count_failure(db: Session, key: str, now: datetime, policy: throttle.ThrottlePolicy) -> str:
    """Count one failure against `key` under a row lock (a concurrent first failure inserts nothing twice);
    a note for the audit entry: the count, and the lock if this failure caused one."""
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert
    db.execute(insert(LoginThrottle).values(email_key=key, failures=0, first_failure_at=now, locked_until=None)
               .on_conflict_do_nothing(index_elements=["email_key"]))
    row = db.scalar(select(LoginThrottle).where(LoginThrottle.email_key == key).with_for_update()
                    .execution_options(populate_existing=True))
    assert row is not None
    before = None if row.failures == 0 else _failures(row)
    failures = throttle.after_failure(before, now, policy)
    row.failures, row.first_failure_at, row.locked_until = failures.count, failures.first_at, failures.locked_until
    db.flush()
    locked = f"; locked for {throttle.minutes_left(failures.locked_until, now)} min" if failures.locked_until else ""
    return f"{failures.count}{locked}"


def _organization_of(db: Session, key: str) -> uuid.UUID | None:
    return db.scalar(select(UserAccount.organization_id).where(func.lower(UserAccount.email) == key))


def _audit(s: Session, key: str, source_ip: str | None, org_id: uuid.UUID | None, description: str) -> None:
    from hindfoot.audit import service as audit

    event = audit.record(s, None, audit.EXECUTE, "UserAccount", None, outcome=audit.DENIED, description=description,
                         organization_id=org_id)
    event.user_email, event.source_ip, event.path = key, source_ip, "sign-in"


def get_account(db: Session, user_id: str | uuid.UUID | None) -> UserAccount | None:
    if not user_id:
        return None
    try:
        uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    account = db.get(UserAccount, uid)
    if account is None or not account.active:
        return None
    return account
