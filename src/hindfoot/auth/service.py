"""Sign-in: check credentials (throttled per email), upgrade old hashes, remember the last login."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

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
    return throttle.ThrottlePolicy(max_failures=settings.login_max_failures, window=minutes, lockout=minutes)


def _failures(row: LoginThrottle | None) -> throttle.Failures | None:
    if row is None:
        return None
    return throttle.Failures(count=row.failures, first_at=row.first_failure_at, locked_until=row.locked_until)


def sign_in(
    db: Session,
    factory: sessionmaker[Session],
    email: str,
    password: str,
    *,
    policy: throttle.ThrottlePolicy,
    source_ip: str | None = None,
    now: datetime | None = None,
) -> UserAccount:
    """The account for these credentials. A wrong email or password raises NotAuthenticated and counts
    against the email, in its own committed transaction (the request's own rolls back); an email
    with too many recent failures raises TooManyAttempts, even with the right password, and the
    password is not checked at all. Success clears the count (in the request's transaction)."""
    now = now or utcnow()
    key = throttle.email_key(email)
    row = db.get(LoginThrottle, key)
    until = throttle.locked_until(_failures(row), now)
    if until is not None:
        _audit_failure(factory, key, source_ip, f"sign-in refused: {key} is locked until {until:%H:%M} UTC")
        minutes = throttle.minutes_left(until, now)
        raise TooManyAttempts(
            f"too many failed sign-ins for this email: try again in {minutes} minute{'s' if minutes != 1 else ''}",
            retry_after_seconds=max(1, int((until - now).total_seconds())),
        )
    account = authenticate(db, email, password)
    if account is None:
        _count_failure(factory, key, now, policy, source_ip)
        raise NotAuthenticated("email or password is wrong")
    if row is not None:
        db.delete(row)
    return account


def _count_failure(
    factory: sessionmaker[Session], key: str, now: datetime, policy: throttle.ThrottlePolicy, source_ip: str | None
) -> None:
    for attempt in range(2):  # a concurrent first failure may insert the row first: then update it
        with factory() as s:
            row = s.get(LoginThrottle, key, with_for_update=True)
            failures = throttle.after_failure(_failures(row), now, policy)
            if row is None:
                row = LoginThrottle(email_key=key)
                s.add(row)
            row.failures, row.first_failure_at, row.locked_until = failures.count, failures.first_at, failures.locked_until
            locked = f"; locked for {throttle.minutes_left(failures.locked_until, now)} min" if failures.locked_until else ""
            window = int(policy.window.total_seconds() // 60)
            _audit(s, key, source_ip, f"sign-in failed for {key} (failure {failures.count} within {window} min{locked})")
            try:
                s.commit()
                return
            except IntegrityError:
                if attempt:
                    raise


def _audit_failure(factory: sessionmaker[Session], key: str, source_ip: str | None, description: str) -> None:
    with factory() as s:
        _audit(s, key, source_ip, description)
        s.commit()


def _audit(s: Session, key: str, source_ip: str | None, description: str) -> None:
    from hindfoot.audit import service as audit

    event = audit.record(s, None, audit.EXECUTE, "UserAccount", None, outcome=audit.DENIED, description=description)
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
