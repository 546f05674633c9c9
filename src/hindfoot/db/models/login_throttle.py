"""LoginThrottle: the failed sign-ins of one email (see hindfoot.auth.throttle). Not a FHIR resource."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    email_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # trimmed, lower-cased, as typed
    failures: Mapped[int]
    first_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
