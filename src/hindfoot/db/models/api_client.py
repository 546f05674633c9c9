"""A system that calls hindfoot's interoperability endpoints (an EHR's CDS client), registered by an
admin with the public keys (JWKS) its signed requests are checked against."""

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
    kind: Mapped[str] = mapped_column(String(20), default="cds")  # cds
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"keys": [...]} public keys only
    active: Mapped[bool] = mapped_column(default=True)
