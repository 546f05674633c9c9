"""The signed-in person, as every service sees them (no web objects past this point)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hindfoot.db.models import UserAccount

STAFF_ROLES = ("clinician", "admin", "receptionist", "manager")
CLINICAL_ROLES = ("clinician", "admin")  # clinical notes, findings, assessments, outcomes, recovery plans
FRONT_DESK_ROLES = ("clinician", "admin", "receptionist")  # calendar, booking, check-in, contact details, waitlist
REGISTRY_ROLES = ("clinician", "admin", "manager")  # registry, outcome reports
MANAGE_ROLES = ("admin", "manager")  # staff and rota


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    email: str
    role: str  # patient | clinician | admin | receptionist | manager
    organization_id: uuid.UUID
    display_name: str
    patient_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    source_ip: str | None = None
    path: str | None = None
    # A SMART access token's grant (None: a signed-in session, which the role alone limits)
    scopes: frozenset[str] | None = None
    # A token with patient-level scopes only: the launch patient whose compartment it is limited to
    smart_patient_id: uuid.UUID | None = None
    client_id: str | None = None

    @classmethod
    def from_account(cls, account: UserAccount, *, source_ip: str | None = None, path: str | None = None) -> Actor:
        return cls(
            user_id=account.id,
            email=account.email,
            role=account.role,
            organization_id=account.organization_id,
            display_name=account.display_name,
            patient_id=account.patient_id,
            practitioner_id=account.practitioner_id,
            source_ip=source_ip,
            path=path,
        )

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_clinical(self) -> bool:
        return self.role in CLINICAL_ROLES

    @property
    def is_front_desk(self) -> bool:
        return self.role in FRONT_DESK_ROLES

    @property
    def can_registry(self) -> bool:
        return self.role in REGISTRY_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGE_ROLES
