"""Staff MFA: time-based one-time codes (TOTP, RFC 6238, via pyotp) and single-use recovery codes.

Enrolment stores a new secret, shows it as a QR code (segno) and turns MFA on only when a first code
from the app confirms it; ten recovery codes are then shown once and stored as SHA-256 hashes. A clinic
requires MFA of every staff account (`Organization.mfa_required`; unset: on in production). Wrong codes
count against the email's sign-in throttle like wrong passwords. A code is accepted once: the last
accepted time step is stored per account and a code of that step or an earlier one is refused. An admin can reset a member's MFA
(audited); the member then enrols again at their next sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import MfaRecoveryCode, Organization, Passkey, UserAccount
from hindfoot.errors import InvalidInput
from hindfoot.settings import Settings

ISSUER = "hindfoot"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def required_for(db: Session, settings: Settings, account: UserAccount) -> bool:
    """Whether this account must use a second factor: staff of a clinic that requires it."""
    if account.role == "patient":
        return False
    org = db.get(Organization, account.organization_id)
    choice = org.mfa_required if org is not None else None
    return settings.mfa_default if choice is None else choice


def enabled(account: UserAccount) -> bool:
    return account.mfa_enabled_at is not None and account.mfa_secret is not None


def begin_enrolment(db: Session, account: UserAccount) -> str:
    """A fresh secret for an account not yet enrolled (kept until confirmed); the secret."""
    if enabled(account):
        raise InvalidInput("two-step sign-in is already on for this account", field="code")
    account.mfa_secret, account.mfa_last_step = pyotp.random_base32(), None
    db.flush()
    return account.mfa_secret


def provisioning_uri(account: UserAccount, clinic: str) -> str:
    assert account.mfa_secret
    return pyotp.TOTP(account.mfa_secret).provisioning_uri(name=account.email, issuer_name=f"{ISSUER} ({clinic})")


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111", light="#fff")


def _code_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step (RFC 6238's counter) whose code `code` is, within one step of clock drift; None if
    none is."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    return next((step for step in (current - 1, current, current + 1)
                 if hmac.compare_digest(totp.generate_otp(step), digits)), None)


def _use_step(db: Session, account: UserAccount, step: int) -> bool:
    """Spend a time step: true if no code of this or a later step was accepted before (RFC 6238
    section 5.2: a verifier must not accept the second attempt of the same OTP). One conditional
    UPDATE, so two requests racing with the same code cannot both win."""
    spent = db.execute(
        update(UserAccount)
        .where(UserAccount.id == account.id,
               or_(UserAccount.mfa_last_step.is_(None), UserAccount.mfa_last_step < step))
        .values(mfa_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # a CursorResult
    if spent:
        account.mfa_last_step = step
        db.flush()
    return bool(spent)


def confirm_enrolment(db: Session, account: UserAccount, code: str, *, now: datetime | None = None) -> list[str]:
    """Turn MFA on if `code` comes from the new secret; the recovery codes to show once."""
    if account.mfa_secret is None or enabled(account):
        raise InvalidInput("start the set-up again", field="code")
    step = _code_step(account.mfa_secret, code, now)
    if step is None:
        raise InvalidInput("that code is not right: type the 6 digits your app shows now", field="code")
    account.mfa_last_step = step  # the enrolment's code cannot sign in again
    account.mfa_enabled_at = now or utcnow()
    codes = new_recovery_codes(db, account)
    audit.record(db, Actor.from_account(account), audit.UPDATE, "UserAccount", account.id,
                 description="two-step sign-in turned on")
    return codes


def new_recovery_codes(db: Session, account: UserAccount) -> list[str]:
    """Replace the account's recovery codes; the new ones, to show once."""
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == account.id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    for c in codes:
        db.add(MfaRecoveryCode(user_id=account.id, code_hash=_hash(c)))
    db.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def _hash(code: str) -> str:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def check(db: Session, account: UserAccount, code: str, *, now: datetime | None = None) -> str | None:
    """How the second factor was given ("app" or "recovery code"), or None if `code` is wrong. An app
    code works once (and no code of an earlier time step after it); a recovery code works once."""
    if not enabled(account):
        return None
    step = _code_step(account.mfa_secret or "", code, now)
    if step is not None:
        return "app" if _use_step(db, account, step) else None  # a code already used is a wrong code
    row = db.scalar(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == account.id,
                                                  MfaRecoveryCode.code_hash == _hash(code),
                                                  MfaRecoveryCode.used_at.is_(None)).with_for_update())
    if row is None:
        return None
    row.used_at = now or utcnow()
    db.flush()
    return "recovery code"


def recovery_codes_left(db: Session, account: UserAccount) -> int:
    return len(db.scalars(select(MfaRecoveryCode.id).where(MfaRecoveryCode.user_id == account.id,
                                                           MfaRecoveryCode.used_at.is_(None))).all())


def reset(db: Session, actor: Actor, account: UserAccount) -> None:
    """An admin clears a member's MFA (lost phone and codes; their passkeys go too): they enrol again at
    the next sign-in."""
    from hindfoot.auth import sessions

    account.mfa_secret, account.mfa_enabled_at, account.mfa_last_step = None, None, None
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == account.id))
    db.execute(delete(Passkey).where(Passkey.user_id == account.id))  # a lost device may be one of them
    sessions.end_all(db, account.id)
    audit.record(db, actor, audit.UPDATE, "UserAccount", account.id,
                 description=f"two-step sign-in reset for {account.email} by an admin")
    db.flush()


def set_clinic_policy(db: Session, actor: Actor, required: bool) -> None:
    org = db.get(Organization, actor.organization_id)
    assert org is not None
    org.mfa_required = required
    audit.record(db, actor, audit.UPDATE, "Organization", org.id,
                 description=f"two-step sign-in {'required' if required else 'optional'} for staff")
    db.flush()


def account_of(db: Session, actor: Actor) -> UserAccount:
    account = db.get(UserAccount, actor.user_id)
    assert account is not None
    return account
