"""A presented access token → the `Actor` the FHIR API authorises and audits; forgetting what is spent.

Access tokens are opaque random strings; only their SHA-256 (`digest`) is stored, as for codes,
refresh tokens and launches.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import ApiClient, OAuthCode, OAuthToken, SmartLaunch, UserAccount
from hindfoot.errors import NotAuthenticated
from hindfoot.fhir import scopes as smart_scopes

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_DAYS = 30


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def prune(db: Session) -> None:
    """Forget codes, launches and tokens that can no longer be used (keeps the tables small)."""
    now = utcnow()
    db.execute(delete(OAuthCode).where(OAuthCode.expires_at < now))
    db.execute(delete(SmartLaunch).where(SmartLaunch.expires_at < now))
    db.execute(delete(OAuthToken).where(OAuthToken.expires_at < now, or_(
        OAuthToken.refresh_expires_at.is_(None), OAuthToken.refresh_expires_at < now, OAuthToken.revoked.is_(True))))


def actor_for(account: UserAccount, client_id: str, **extra: Any) -> Actor:
    """The signed-in user's actor, acting through the SMART client `client_id`."""
    base = Actor.from_account(account)
    return Actor(**{**base.__dict__, "client_id": client_id, **extra})


def actor_for_token(db: Session, token: str, *, source_ip: str | None = None, path: str | None = None) -> Actor:
    """The actor a bearer access token stands for, with its scopes (401 if unknown, expired or revoked)."""
    row = db.scalar(select(OAuthToken).where(OAuthToken.access_token_hash == digest(token)))
    if row is None or row.revoked or row.expires_at < utcnow():
        raise NotAuthenticated("the access token is unknown, expired or revoked")
    granted = frozenset(smart_scopes.split(row.scope))
    if row.user_id is None:  # a backend service: its organisation, system scopes only
        client = db.scalar(select(ApiClient).where(ApiClient.client_id == row.client_id, ApiClient.active.is_(True)))
        if client is None:
            raise NotAuthenticated("the client of this token is no longer registered")
        return Actor(user_id=None, email=f"smart-backend:{client.client_id}", role="clinician",  # type: ignore[arg-type]
                     organization_id=client.organization_id, display_name=client.name, source_ip=source_ip,
                     path=path, scopes=frozenset(s for s in granted if s.startswith("system/")),
                     client_id=client.client_id)
    account = db.get(UserAccount, row.user_id)
    if account is None or not account.active:
        raise NotAuthenticated("the user of this token can no longer sign in")
    contexts = smart_scopes.contexts(granted)
    usable = frozenset(s for s in granted if not s.startswith("system/"))
    limited = None
    if "patient" in contexts and account.role != "patient":
        if row.patient_id is not None:
            limited = row.patient_id  # any patient-level scope: the launch patient's compartment only
        else:  # patient scopes without a patient in context reach nothing
            usable = frozenset(s for s in usable if not s.startswith("patient/"))
    return actor_for(account, row.client_id, source_ip=source_ip, path=path, scopes=usable, smart_patient_id=limited)
