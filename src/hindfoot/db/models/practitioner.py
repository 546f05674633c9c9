"""Practitioner with its role (FHIR Practitioner + PractitionerRole, flattened: one role each)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class PractitionerRoleCode(enum.StrEnum):
    surgeon = "surgeon"
    sports_physician = "sports_physician"
    physiotherapist = "physiotherapist"
    nurse = "nurse"
    radiologist = "radiologist"
    admin = "admin"
    receptionist = "receptionist"
    manager = "manager"


ROLE_LABELS = {
    "surgeon": "Foot and ankle surgeon",
    "sports_physician": "Sports physician",
    "physiotherapist": "Physiotherapist",
    "nurse": "Nurse",
    "radiologist": "Musculoskeletal radiologist",
    "admin": "Clinic administrator",
    "receptionist": "Receptionist",
    "manager": "Clinic manager",
}
NON_CLINICAL_ROLES = frozenset({"admin", "receptionist", "manager"})  # hold no clinics, offer no services


def display_name(prefix: str | None, given_name: str, family_name: str) -> str:
    """How a practitioner is named to patients and staff ("Dr Ada Okafor")."""
    return " ".join(p for p in (prefix, given_name, family_name) if p)


class Practitioner(IdMixin, TimestampMixin, Base):
    __tablename__ = "practitioner"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(20), default="")
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    qualification: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def display_name(self) -> str:
        return display_name(self.prefix, self.given_name, self.family_name)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)
