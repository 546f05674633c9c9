"""SMART App Launch / OAuth2 state: authorization codes, tokens, EHR launch contexts, the server's
signing key, JWT ids already seen (replay refusal) and Bulk Data exports.

Codes and tokens are stored as SHA-256 hashes only: a copy of the database gives no bearer access.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class OAuthCode(IdMixin, TimestampMixin, Base):
    """An authorization code: one use, a few minutes, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_code"

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(1000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    nonce: Mapped[str | None] = mapped_column(String(200), default=None)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(default=None)  # launch context
    expires_at: Mapped[datetime]


class OAuthToken(IdMixin, TimestampMixin, Base):
    """An access token (and its refresh token) for a user (SMART app) or a system (backend service)."""

    __tablename__ = "oauth_token"

    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                                      index=True, default=None)
    scope: Mapped[str] = mapped_column(String(1000))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(default=None)  # launch context
    expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(default=False)


class SmartLaunch(IdMixin, TimestampMixin, Base):
    """An EHR launch: the record page opened an app for a patient; the app's `launch` parameter names it."""

    __tablename__ = "smart_launch"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]


class SigningKey(IdMixin, TimestampMixin, Base):
    """The server's private key for id_tokens (RS256), made on first use; its public half is the JWKS."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)


class UsedJwtId(IdMixin, Base):
    """A JWT id (`jti`) already accepted from an issuer, kept until the JWT expires: a replay is refused."""

    __tablename__ = "used_jwt_id"
    __table_args__ = (UniqueConstraint("issuer", "jti", name="uq_used_jwt_id_issuer_jti"),)

    issuer: Mapped[str] = mapped_column(String(200))
    jti: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class BulkExport(IdMixin, TimestampMixin, Base):
    """A Bulk Data `$export` job of a backend client: kicked off, then polled until its files are ready."""

    __tablename__ = "bulk_export"

    client_id: Mapped[str] = mapped_column(String(200), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    level: Mapped[str] = mapped_column(String(20))  # system | group | patient
    group_id: Mapped[str | None] = mapped_column(String(100), default=None)
    types: Mapped[list[str]] = mapped_column(JSON, default=list)
    since: Mapped[datetime | None] = mapped_column(default=None)
    request_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="in-progress")  # in-progress | complete | error
    error: Mapped[str | None] = mapped_column(Text, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class BulkExportFile(IdMixin, Base):
    """One NDJSON file of an export: the resources of one type."""

    __tablename__ = "bulk_export_file"

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulk_export.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    count: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
