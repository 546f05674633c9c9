"""Confirming a new patient's email: the account made while booking works only after its owner opens
the emailed link (for `VALID_DAYS`, once), so booking as a new patient never reveals which emails
already have accounts (see hindfoot.scheduling.registration)."""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.models import UserAccount
from hindfoot.errors import InvalidInput
from hindfoot.notifications.email import OutgoingEmail
from hindfoot.settings import Settings

VALID_DAYS = 7
_SALT = "hindfoot-confirm-email"


def confirmation_mail(settings: Settings, account: UserAccount, *, clinic: str) -> OutgoingEmail:
    token = URLSafeTimedSerializer(settings.secret_key, salt=_SALT).dumps(str(account.id))
    link = f"{settings.base_url.rstrip('/')}/book/verify?token={token}"
    return OutgoingEmail(
        to=account.email, subject=f"Confirm your email for {clinic}",
        text=(f"Hello {account.display_name},\n\nYour appointment at {clinic} is booked. Open this link within "
              f"{VALID_DAYS} days to confirm your email address and sign in; then you can see, change or cancel "
              f"it online:\n{link}\n\nIf you did not book, ignore this email.\n"),
    )


def existing_account_mail(settings: Settings, email: str, *, clinic: str, when: str) -> OutgoingEmail:
    base = settings.base_url.rstrip("/")
    return OutgoingEmail(
        to=email, subject=f"Booking at {clinic}: you already have an account",
        text=(f"Someone asked to book an appointment at {clinic} ({when}) as a new patient, with this email "
              f"address. You already have an account with us, so nothing was booked.\n\n"
              f"To book, sign in at {base}/login (forgotten your password? {base}/password/forgot).\n\n"
              "If this was not you, you need not do anything.\n"),
    )


def confirm(db: Session, settings: Settings, token: str, *, source_ip: str | None = None) -> UserAccount:
    """The account a confirmation link is for, now active; InvalidInput naming `token` if the link is
    forged, older than VALID_DAYS or already used."""
    invalid = InvalidInput("this confirmation link is invalid, used or expired: sign in, or book again",
                           field="token")
    try:
        account_id = URLSafeTimedSerializer(settings.secret_key, salt=_SALT).loads(
            token, max_age=VALID_DAYS * 24 * 3600)
        account = db.get(UserAccount, uuid.UUID(str(account_id)))
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        raise invalid from None
    if account is None or account.active or account.role != "patient" or account.last_login_at is not None:
        raise invalid
    account.active = True
    audit.record(db, Actor.from_account(account, source_ip=source_ip, path="/book/verify"), audit.UPDATE,
                 "UserAccount", account.id, patient_id=account.patient_id, description="email confirmed")
    db.flush()
    return account
