"""Per-object authorisation: who may see or change which patient's record, and which staff role may do what.

Account roles and what each may do (docs/security.md has the same table):

| role         | clinical record (notes, findings, assessments, plans) | front desk (calendar, booking, check-in, contact details, waitlist) | registry & reports | staff & rota | audit log |
|--------------|:--:|:--:|:--:|:--:|:--:|
| patient      | own | own bookings and contact details | - | - | - |
| clinician    | yes | yes | yes | - | - |
| admin        | yes | yes | yes | yes | yes |
| receptionist | -   | yes | -   | - | - |
| manager      | -   | -   | yes | yes | - |

A patient sees only their own record; everything else is limited to the actor's organisation.
"""

from __future__ import annotations

from hindfoot.auth.actor import (
    CLINICAL_ROLES,
    FRONT_DESK_ROLES,
    MANAGE_ROLES,
    REGISTRY_ROLES,
    STAFF_ROLES,
    Actor,
)
from hindfoot.db.models import Patient
from hindfoot.errors import Forbidden

__all__ = [
    "CLINICAL_ROLES", "FRONT_DESK_ROLES", "MANAGE_ROLES", "REGISTRY_ROLES", "STAFF_ROLES",
    "can_read_demographics", "can_read_patient", "can_write_patient", "require_admin", "require_clinical",
    "require_front_desk", "require_manage", "require_registry", "require_staff",
]


def can_read_patient(actor: Actor, patient: Patient) -> bool:
    """The clinical record: the patient themself, or a clinician/admin of their organisation."""
    if actor.role == "patient":
        return actor.patient_id == patient.id
    return actor.role in CLINICAL_ROLES and actor.organization_id == patient.organization_id


def can_write_patient(actor: Actor, patient: Patient) -> bool:
    # Patients add their own questionnaire answers through their own flows; record edits are clinical staff only.
    return actor.role in CLINICAL_ROLES and actor.organization_id == patient.organization_id


def can_read_demographics(actor: Actor, patient: Patient) -> bool:
    """Name, birth date, contact details and appointments: the patient, or the front desk of their organisation."""
    if actor.role == "patient":
        return actor.patient_id == patient.id
    return actor.role in FRONT_DESK_ROLES and actor.organization_id == patient.organization_id


def require_staff(actor: Actor) -> None:
    """Any member of staff (every role but patient): clinic directory, services, locations."""
    if actor.role not in STAFF_ROLES:
        raise Forbidden("this needs a staff account")


def require_clinical(actor: Actor) -> None:
    if actor.role not in CLINICAL_ROLES:
        raise Forbidden("this needs a clinician account")


def require_front_desk(actor: Actor) -> None:
    if actor.role not in FRONT_DESK_ROLES:
        raise Forbidden("this needs a clinician, receptionist or admin account")


def require_registry(actor: Actor) -> None:
    if actor.role not in REGISTRY_ROLES:
        raise Forbidden("this needs a clinician, manager or admin account")


def require_manage(actor: Actor) -> None:
    """Staff and rota management: admins and clinic managers."""
    if actor.role not in MANAGE_ROLES:
        raise Forbidden("this needs a manager or admin account")


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("this needs an admin account")
