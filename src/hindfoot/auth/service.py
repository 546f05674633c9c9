"""Sign-in: check credentials (throttled per email and per source address), upgrade old hashes, remember the last login."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hindfoot.auth import passwords, throttle
from hindfoot.db.base import utcnow
from hindfoot.db.models import LoginThrottle, UserAccount
from hindfoot.errors import NotAuthenticated, TooManyAttempts
from hindfoot.settings import Settings


def _active_account(db: Session, email: str) -> UserAccount | None:
    account = db.scalar(select(UserAccount).where(func.lower(UserAccount.email) == email.strip().lower()))
    return account if account is not None and account.active else None


def _password_is_right(account: UserAccount | None, password: str) -> bool:
    """Verify `password` (the caller holds a hashing turn, `passwords.turn()`; no database needed). An
    unknown or inactive email is verified against a dummy hash of the same cost, so timing does not
    reveal which emails have accounts."""
    return passwords.verify_holding_turn(account.password_hash if account else None, password)


def upgrade_hash(account: UserAccount, password: str) -> None:
    """After a right password: rehash at the current cost if the stored hash is older; remember the sign-in."""
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    account.last_login_at = utcnow()


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
    Success clears the email's count.

    Each attempt counts as a failure *before* its password is checked, and is taken back if the password
    is right: in a flood, the attempts waiting for a turn to hash already count, so the one past the
    limit is refused at once instead of after everyone else's hashing, and no more than the limit are
    ever checked. Everything happens in `db`, the request's own session, which holds one connection at a
    time and none while the sign-in waits for its turn to hash (the count is committed first). The
    refusals carry `keep_writes`, so the count and its audit entry commit while the sign-in fails."""
    entered = time.monotonic()
    now = now or utcnow()
    key = throttle.email_key(email)
    keys = [key] + ([throttle.address_key(source_ip)] if source_ip else [])
    org_id = _organization_of(db, key)
    _refuse_if_locked(db, keys, key, source_ip, org_id, now)  # locked: refused at once, no hashing at all
    notes = _count_in_advance(db, keys, key, source_ip, org_id, now, policy)
    account = _active_account(db, email)
    db.commit()  # the counts are seen by every other attempt; the connection goes back while this one waits
    try:
        # the sign-in queue time counts from the start of the sign-in (a slow database leaves less for the turn)
        with passwords.turn(busy=_too_many_at_once, sign_in=True, waited=time.monotonic() - entered):
            right = _password_is_right(account, password)  # CPU only: no connection held while hashing
    except TooManyAttempts:  # no turn in time: this attempt was not checked, so it is not a failure
        _take_back(db, keys, policy)
        db.commit()
        raise
    if account is None or not right:
        window = int(policy.window.total_seconds() // 60)
        _audit(db, key, source_ip, org_id, f"sign-in failed for {key} (failure {notes[0]} within {window} min"
               + "".join(n for n in notes[1:] if "locked" in n).replace("locked", "; address locked") + ")")
        error = NotAuthenticated("email or password is wrong")
        error.keep_writes = True
        raise error
    _take_back(db, keys, policy)
    upgrade_hash(account, password)
    if clear:  # with a second factor still to come, the count is cleared only after it (`clear_failures`)
        clear_failures(db, account.email)
    return account


def _count_in_advance(db: Session, keys: list[str], key: str, source_ip: str | None, org_id: uuid.UUID | None,
                      now: datetime, policy: throttle.ThrottlePolicy) -> list[str]:
    """Count this attempt against each key; notes for the audit entry. A key that a concurrent attempt
    locked since the check refuses it (nothing counted)."""
    notes = []
    for k in keys:
        note = _count_failure(db, k, now, policy.for_key(k), unless_locked=True)
        if note is None:
            db.rollback()
            _refuse_if_locked(db, keys, key, source_ip, org_id, now, fresh=True)  # audits the refusal, raises
            raise _too_many_at_once()  # (the lock ran out in between: rare; try again)
        notes.append(note)
    return notes


def _take_back(db: Session, keys: list[str], policy: throttle.ThrottlePolicy) -> None:
    """Undo `_count_in_advance`: the attempt turned out right (or was never checked)."""
    for k in keys:
        row = db.scalar(select(LoginThrottle).where(LoginThrottle.email_key == k).with_for_update()
                        .execution_options(populate_existing=True))
        if row is None or row in db.deleted or row.failures == 0:
            continue
        before = _failures(row)
        assert before is not None
        after = throttle.without_attempt(before, policy.for_key(k))
        row.failures, row.locked_until = after.count, after.locked_until
    db.flush()


def _too_many_at_once() -> TooManyAttempts:
    """No turn to hash came in time: refused like the sign-ins the admission lane turns away (429)."""
    return TooManyAttempts("too many sign-ins at once: try again in a moment", retry_after_seconds=2)


def clear_failures(db: Session, email: str) -> None:
    row = db.get(LoginThrottle, throttle.email_key(email))
    if row is not None and row not in db.deleted:
        db.delete(row)


def _refuse_if_locked(db: Session, keys: list[str], key: str, source_ip: str | None, org_id: uuid.UUID | None,
                      now: datetime, *, fresh: bool = False) -> dict[str, LoginThrottle | None]:
    rows = {k: db.get(LoginThrottle, k, populate_existing=fresh) for k in keys}
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


def _count_failure(db: Session, key: str, now: datetime, policy: throttle.ThrottlePolicy, *,
                   unless_locked: bool = False) -> str | None:
    """Count one failure against `key` under a row lock (a concurrent first failure inserts nothing twice);
    a note for the audit entry: the count, and the lock if this failure caused one. `unless_locked`:
    None, and nothing counted, when the key is locked already."""
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert
    db.execute(insert(LoginThrottle).values(email_key=key, failures=0, first_failure_at=now, locked_until=None)
               .on_conflict_do_nothing(index_elements=["email_key"]))
    row = db.scalar(select(LoginThrottle).where(LoginThrottle.email_key == key).with_for_update()
                    .execution_options(populate_existing=True))
    assert row is not None
    before = None if row.failures == 0 else _failures(row)
    if unless_locked and throttle.locked_until(before, now) is not None:
        return None
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
