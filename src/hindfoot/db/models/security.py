"""Sign-in sessions, staff MFA recovery codes and the audit chain's head.

Not FHIR resources: the machinery that keeps each account's sessions revocable and the audit trail
tamper-evident (see hindfoot.audit.chain).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, utcnow


class UserSession(Base):
    """One signed-in browser or API client. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of this table signs nobody in."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's token
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute end, however active the session is
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    source_ip: Mapped[str | None] = mapped_column(String(64))
    mfa_pending: Mapped[bool] = mapped_column(default=False)  # password right, second factor still due
    # the WebAuthn challenge this session was last given (base64url), cleared when used: each works once
    passkey_challenge: Mapped[str | None] = mapped_column(String(100))


class MfaRecoveryCode(IdMixin, Base):
    __tablename__ = "mfa_recovery_code"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the normalised code
    used_at: Mapped[datetime | None]


class Passkey(IdMixin, Base):
    """A staff member's WebAuthn credential (a passkey or security key): a second sign-in step instead
    of an authenticator code. Only the public key is stored."""

    __tablename__ = "passkey"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url, as the browser gives it
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class AuditChainHead(Base):
    """The last link of the audit hash chain (one row): appending locks it, so concurrent writers queue."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the last link's previous hash
