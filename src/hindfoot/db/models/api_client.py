"""A system that calls hindfoot's interoperability endpoints, registered by an admin: an EHR's CDS
client (`cds`), a SMART app (`smart-app`: authorization code with PKCE, its redirect URIs) or a
backend service (`smart-backend`: client credentials with a JWT signed by a key of its JWKS)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class ApiClient(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_client"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(200), unique=True)  # the `iss` of its JWTs
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="cds")  # cds | smart-app | smart-backend
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"keys": [...]} public keys only
    active: Mapped[bool] = mapped_column(default=True)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)  # smart-app: exact matches only
    scope: Mapped[str] = mapped_column(String(1000), default="")  # the most it may be granted
    launch_url: Mapped[str | None] = mapped_column(String(500), default=None)  # smart-app: EHR launch
