"""Per-object authorisation: who may see or change which patient's record.

A patient sees only their own record; clinicians and admins see their organisation's patients.
"""

from __future__ import annotations

from hindfoot.auth.actor import Actor
from hindfoot.db.models import Patient
from hindfoot.errors import Forbidden


def can_read_patient(actor: Actor, patient: Patient) -> bool:
    if actor.role == "patient":
        return actor.patient_id == patient.id
    return actor.is_staff and actor.organization_id == patient.organization_id


def can_write_patient(actor: Actor, patient: Patient) -> bool:
    # Patients add their own questionnaire answers through their own flows; record edits are staff-only.
    return actor.is_staff and actor.organization_id == patient.organization_id


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("this needs a clinician or admin account")


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("this needs an admin account")
