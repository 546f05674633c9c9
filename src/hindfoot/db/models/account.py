"""User accounts: who signs in, with which role, linked to a Patient or a Practitioner."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class AccountRole(enum.StrEnum):
    patient = "patient"
    clinician = "clinician"
    admin = "admin"
    receptionist = "receptionist"
    manager = "manager"


class UserAccount(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    password_reset_sent_at: Mapped[datetime | None]  # the last reset link emailed (one per few minutes)
    mfa_secret: Mapped[str | None] = mapped_column(String(64))  # base32 TOTP secret (RFC 6238)
    mfa_enabled_at: Mapped[datetime | None]  # set once a first code has confirmed the enrolment
    mfa_last_step: Mapped[int | None]  # the TOTP time step last accepted: a code works once (RFC 6238 5.2)
