"""Server-side sign-in sessions: the cookie carries only a random token, the table says what it is worth.

A session ends when its owner signs out or ends it from the sessions page, when the password is
changed (every other session) or reset (all of them), when the account is deactivated, after
`idle` without a request (30 minutes for staff by default), and at its absolute end however active.
Only the token's SHA-256 is stored, so reading the table signs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from hindfoot.db.base import utcnow
from hindfoot.db.models import UserAccount, UserSession
from hindfoot.errors import NotFound
from hindfoot.settings import Settings

COOKIE_KEY = "sid"
TOUCH_EVERY = timedelta(seconds=60)  # last-seen is written at most once a minute per session


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    staff_idle: timedelta
    patient_idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lifetimes:
        return cls(staff_idle=timedelta(minutes=settings.session_idle_minutes_staff),
                   patient_idle=timedelta(minutes=settings.session_idle_minutes_patient),
                   absolute=timedelta(seconds=settings.session_max_age_seconds))

    def idle_for(self, role: str) -> timedelta:
        return self.patient_idle if role == "patient" else self.staff_idle


def start(db: Session, account: UserAccount, lifetimes: Lifetimes, *, user_agent: str = "",
          source_ip: str | None = None, mfa_pending: bool = False, now: datetime | None = None) -> str:
    """A new session for `account`; the token to put in the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.add(UserSession(id=session_id(token), user_id=account.id, created_at=now, last_seen_at=now,
                       expires_at=now + lifetimes.absolute, user_agent=user_agent[:300], source_ip=source_ip,
                       mfa_pending=mfa_pending))
    db.flush()
    return token


# Every signed-in request asks this: the session row and its account in one round trip, the statement built once.
_SESSION_AND_ACCOUNT = (select(UserSession, UserAccount).outerjoin(UserAccount, UserAccount.id == UserSession.user_id)
                        .where(UserSession.id == bindparam("sid")))


def resolve(db: Session, token: str | None, lifetimes: Lifetimes, *, now: datetime | None = None,
            allow_mfa_pending: bool = False) -> tuple[UserSession, UserAccount] | None:
    """The live session and its active account for this token, or None (an ended, idle or expired
    session, or a deactivated account). A stale session row is deleted on sight."""
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    now = now or utcnow()
    found = db.execute(_SESSION_AND_ACCOUNT, {"sid": session_id(token)}).first()
    if found is None:
        return None
    row, account = found
    if account is None or not account.active or now >= row.expires_at \
            or now - row.last_seen_at > lifetimes.idle_for(account.role):
        db.delete(row)
        db.flush()
        return None
    if row.mfa_pending and not allow_mfa_pending:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, account


def end(db: Session, token: str | None) -> None:
    if token and isinstance(token, str):
        db.execute(delete(UserSession).where(UserSession.id == session_id(token)))


def end_all(db: Session, user_id: uuid.UUID, *, keep_token: str | None = None) -> int:
    """End every session of this account (but the caller's own, if `keep_token`); how many ended."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_token:
        stmt = stmt.where(UserSession.id != session_id(keep_token))
    return db.execute(stmt).rowcount or 0  # type: ignore[attr-defined]  # a CursorResult


def list_for(db: Session, user_id: uuid.UUID) -> list[UserSession]:
    return list(db.scalars(select(UserSession).where(UserSession.user_id == user_id, UserSession.mfa_pending.is_(False))
                           .order_by(UserSession.last_seen_at.desc())))


def end_one(db: Session, user_id: uuid.UUID, sid: str) -> None:
    """End one of the account's own sessions (another account's session is not found)."""
    row = db.get(UserSession, sid)
    if row is None or row.user_id != user_id:
        raise NotFound("no such session")
    db.delete(row)
    db.flush()


def device_label(user_agent: str) -> str:
    """A short human name for a browser's User-Agent ("Firefox on Linux")."""
    ua = user_agent or ""
    browser = next((name for key, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("python-httpx", "API client"),
                                            ("testclient", "API client"), ("curl/", "curl")) if key in ua), "Unknown browser")
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")) if key in ua), "")
    return f"{browser} on {system}" if system else browser
