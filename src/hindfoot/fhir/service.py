"""FHIR entry points kept for callers outside the API (CLI, tests): the patient's $everything."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.fhir import patient_everything


def patient_bundle(db: Session, actor: Actor, patient_id: uuid.UUID, base_url: str) -> dict[str, Any]:
    """Patient/$everything as a searchset Bundle, authorised and audited."""
    return patient_everything.everything(db, actor, str(patient_id), [], base_url.rstrip("/") + "/api/fhir")
