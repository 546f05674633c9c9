"""Organization and Location (FHIR Organization, Location)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    is_demo: Mapped[bool] = mapped_column(default=False)  # the login page lists demo accounts only then
    mfa_required: Mapped[bool | None]  # staff need a second factor; None: on in production, off elsewhere

    locations: Mapped[list[Location]] = relationship(
        back_populates="organization", lazy="raise", order_by="Location.name"
    )


class Location(IdMixin, TimestampMixin, Base):
    __tablename__ = "location"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)

    organization: Mapped[Organization] = relationship(back_populates="locations", lazy="raise")
