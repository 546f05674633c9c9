"""Replay refusal for signed JWTs (a CDS Hooks call, a backend service's client assertion): each
`jti` is accepted once per issuer, remembered until the JWT expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hindfoot.db.base import utcnow
from hindfoot.db.models import UsedJwtId


def remember_jti(db: Session, issuer: str, jti: str, expires: int | None) -> bool:
    """True the first time (issuer, jti) is seen; False for a replay."""
    now = utcnow()
    db.execute(delete(UsedJwtId).where(UsedJwtId.expires_at < now - timedelta(minutes=5)))
    jti = jti[:200]
    if db.scalar(select(UsedJwtId.id).where(UsedJwtId.issuer == issuer, UsedJwtId.jti == jti)) is not None:
        return False
    until = datetime.fromtimestamp(expires, tz=UTC) if expires else now + timedelta(hours=1)
    try:
        with db.begin_nested():
            db.add(UsedJwtId(issuer=issuer[:200], jti=jti, expires_at=until))
    except IntegrityError:  # the same jti raced in from another request
        return False
    return True
