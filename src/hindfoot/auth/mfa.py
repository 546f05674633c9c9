"""Staff MFA: time-based one-time codes (TOTP, RFC 6238, via pyotp) and single-use recovery codes.

Enrolment stores a new secret, shows it as a QR code (segno) and turns MFA on only when a first code
from the app confirms it; ten recovery codes are then shown once and stored as SHA-256 hashes. A clinic
requires MFA of every staff account (`Organization.mfa_required`; unset: on in production). Wrong codes
count against the email's sign-in throttle like wrong passwords. An admin can reset a member's MFA
(audited); the member then enrols again at their next sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import MfaRecoveryCode, Organization, UserAccount
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
    account.mfa_secret = pyotp.random_base32()
    db.flush()
    return account.mfa_secret


def provisioning_uri(account: UserAccount, clinic: str) -> str:
    assert account.mfa_secret
    return pyotp.TOTP(account.mfa_secret).provisioning_uri(name=account.email, issuer_name=f"{ISSUER} ({clinic})")


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111", light="#fff")


def _code_ok(secret: str, code: str, now: datetime | None = None) -> bool:
    digits = "".join(ch for ch in code if ch.isdigit())
    return len(digits) == 6 and pyotp.TOTP(secret).verify(digits, for_time=now or utcnow(), valid_window=1)


def confirm_enrolment(db: Session, account: UserAccount, code: str, *, now: datetime | None = None) -> list[str]:
    """Turn MFA on if `code` comes from the new secret; the recovery codes to show once."""
    if account.mfa_secret is None or enabled(account):
        raise InvalidInput("start the set-up again", field="code")
    if not _code_ok(account.mfa_secret, code, now):
        raise InvalidInput("that code is not right: type the 6 digits your app shows now", field="code")
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
    """How the second factor was given ("app" or "recovery code"), or None if `code` is wrong. A recovery
    code works once."""
    if not enabled(account):
        return None
    if _code_ok(account.mfa_secret or "", code, now):
        return "app"
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
    """An admin clears a member's MFA (lost phone and codes): they enrol again at the next sign-in."""
    from hindfoot.auth import sessions

    account.mfa_secret, account.mfa_enabled_at = None, None
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == account.id))
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
