"""Sign-in: check credentials, upgrade old hashes, remember the last login."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.auth.passwords import hash_password, needs_rehash, verify_password
from hindfoot.db.base import utcnow
from hindfoot.db.models import UserAccount

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
