"""Passwords: reset by an emailed link, and change when signed in.

A reset link carries a signed token (itsdangerous, keyed by the app's secret) holding the account id,
when it was issued, and a fingerprint of the account's current password hash. It works for
`RESET_LINK_MINUTES`, and only once: setting a new password changes the hash, so the fingerprint no
longer matches. Asking for a link always answers the same way, whether or not the email has an
account (the email goes out after the answer, so not even its timing tells), and one account gets at
most one email per `RESET_EMAIL_GAP`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.audit import service as audit
from hindfoot.auth import sessions
from hindfoot.auth.actor import Actor
from hindfoot.auth.passwords import hash_password, verify_password
from hindfoot.auth.throttle import email_key
from hindfoot.db.base import utcnow
from hindfoot.db.models import LoginThrottle, UserAccount
from hindfoot.errors import InvalidInput
from hindfoot.notifications.email import EmailError, OutgoingEmail, send
from hindfoot.settings import Settings

RESET_LINK_MINUTES = 60
INVITATION_DAYS = 7
RESET_EMAIL_GAP = timedelta(minutes=5)
MIN_LENGTH = 10
MAX_LENGTH = 500
_SALT = "hindfoot-password-reset"


def check_new_password(password: str, email: str) -> None:
    """Refuse a new password that is too short, too long, or the email itself."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the new password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the new password can have at most {MAX_LENGTH} characters", field="password")
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("the new password must not be the email address", field="password")


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def make_token(secret_key: str, account: UserAccount, now: datetime | None = None, *,
               valid_minutes: int = RESET_LINK_MINUTES) -> str:
    issued = int((now or utcnow()).timestamp())
    payload = [str(account.id), _fingerprint(account.password_hash), issued, valid_minutes]
    return URLSafeSerializer(secret_key, salt=_SALT).dumps(payload)


def account_for_token(db: Session, secret_key: str, token: str, now: datetime | None = None) -> UserAccount:
    """The account a reset (or invitation) token is for, if it is genuine, unused and fresh; else InvalidInput."""
    invalid = InvalidInput("this reset link is invalid, used or expired: ask for a new one", field="token")
    try:
        user_id, fingerprint, issued, valid_minutes = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
        issued_at = datetime.fromtimestamp(int(issued), UTC)
        lifetime = timedelta(minutes=int(valid_minutes))
    except (BadSignature, ValueError, TypeError, OverflowError):
        raise invalid from None
    age = (now or utcnow()) - issued_at
    if not timedelta(0) <= age <= lifetime:
        raise invalid
    account = _get(db, user_id)
    if account is None or not account.active or _fingerprint(account.password_hash) != fingerprint:
        raise invalid
    return account


def _get(db: Session, user_id: str) -> UserAccount | None:
    try:
        return db.get(UserAccount, uuid.UUID(user_id))
    except (ValueError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class ResetMail:
    """A reset link to email once the request has committed (see `deliver`)."""

    account_id: uuid.UUID
    actor: Actor
    mail: OutgoingEmail
    kind: str = "password reset"  # or "invitation"


def request_reset(db: Session, settings: Settings, email: str, *, source_ip: str | None = None,
                  now: datetime | None = None) -> ResetMail | None:
    """The reset email for the account with this email, if there is one and none went out in the last
    RESET_EMAIL_GAP; it is recorded now and sent by `deliver` after the answer, so that neither the
    answer nor its timing tells whether the email has an account."""
    now = now or utcnow()
    account = db.scalar(select(UserAccount).where(func.lower(UserAccount.email) == email_key(email)))
    if account is None or not account.active:
        return None
    if account.password_reset_sent_at is not None and now - account.password_reset_sent_at < RESET_EMAIL_GAP:
        return None
    link = f"{settings.base_url.rstrip('/')}/password/reset?token={make_token(settings.secret_key, account, now)}"
    mail = OutgoingEmail(
        to=account.email,
        subject="Reset your hindfoot password",
        text=(
            "Someone (we hope you) asked to reset the password of your hindfoot account.\n\n"
            f"Open this link within {RESET_LINK_MINUTES} minutes to choose a new password:\n{link}\n\n"
            "The link works once. If you did not ask for it, ignore this email: your password stays as it is.\n"
        ),
    )
    actor = Actor.from_account(account, source_ip=source_ip, path="/password/forgot")
    account.password_reset_sent_at = now
    audit.record(db, actor, audit.EXECUTE, "UserAccount", account.id, description="password reset link queued for email")
    return ResetMail(account_id=account.id, actor=actor, mail=mail)


def deliver(settings: Settings, factory: sessionmaker[Session], pending: ResetMail | None) -> bool:
    """Send a queued reset email (a background task after the answer). A failure is audited as an
    error and frees the account to ask again at once."""
    if pending is None:
        return False
    try:
        send(settings, pending.mail)
    except EmailError as exc:
        with factory() as s:
            account = s.get(UserAccount, pending.account_id)
            if account is not None:
                account.password_reset_sent_at = None
            audit.record(s, pending.actor, audit.EXECUTE, "UserAccount", pending.account_id, outcome=audit.ERROR,
                         description=f"{pending.kind} email not sent: {exc}")
            s.commit()
        return False
    return True


def invitation(settings: Settings, account: UserAccount, invited_by: Actor, *, clinic: str,
               now: datetime | None = None) -> ResetMail:
    """The email that welcomes a new staff account and lets them choose a password (link valid for
    INVITATION_DAYS, once)."""
    token = make_token(settings.secret_key, account, now, valid_minutes=INVITATION_DAYS * 24 * 60)
    link = f"{settings.base_url.rstrip('/')}/password/reset?token={token}"
    mail = OutgoingEmail(
        to=account.email,
        subject=f"Your hindfoot account at {clinic}",
        text=(
            f"{invited_by.display_name} has made you a hindfoot account at {clinic}.\n\n"
            f"Open this link within {INVITATION_DAYS} days to choose your password:\n{link}\n\n"
            f"Then sign in with {account.email}. The link works once; if it has run out, use "
            "\"Forgot your password?\" on the sign-in page.\n"
        ),
    )
    return ResetMail(account_id=account.id, actor=invited_by, mail=mail, kind="invitation")


def reset_password(db: Session, settings: Settings, token: str, new_password: str, *, source_ip: str | None = None,
                   now: datetime | None = None) -> UserAccount:
    """Set a new password from a reset link; the link is then spent, and any sign-in lock is lifted."""
    account = account_for_token(db, settings.secret_key, token, now)
    _set(db, account, new_password, source_ip, "password reset by emailed link")
    sessions.end_all(db, account.id)  # whoever held a session signs in again, with the new password
    return account


def change_password(db: Session, actor: Actor, current: str, new_password: str, *,
                    keep_session: str | None = None) -> UserAccount:
    """A signed-in user's new password, after checking the current one; every session but `keep_session`
    (the one asking) ends."""
    account = db.get(UserAccount, actor.user_id)
    if account is None or not verify_password(account.password_hash, current):
        raise InvalidInput("the current password is wrong", field="current_password")
    if verify_password(account.password_hash, new_password):
        raise InvalidInput("the new password is the same as the current one", field="password")
    _set(db, account, new_password, actor.source_ip, "password changed")
    sessions.end_all(db, account.id, keep_token=keep_session)
    return account


def _set(db: Session, account: UserAccount, new_password: str, source_ip: str | None, description: str) -> None:
    check_new_password(new_password, account.email)
    account.password_hash = hash_password(new_password)
    account.password_reset_sent_at = None
    throttle = db.get(LoginThrottle, email_key(account.email))
    if throttle is not None:
        db.delete(throttle)
    actor = Actor.from_account(account, source_ip=source_ip, path=None)
    audit.record(db, actor, audit.UPDATE, "UserAccount", account.id, description=description)
    db.flush()
