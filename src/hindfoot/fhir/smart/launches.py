"""Launching a SMART app: an EHR launch from the record page, and a standalone launch's patient.

An EHR launch hands the app a one-use `launch` value naming the patient, for this user and this
app; a clinician's standalone launch (`launch/patient`) picks the patient on the approval page.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import ApiClient, Patient, SmartLaunch
from hindfoot.errors import InvalidInput, NotAuthenticated
from hindfoot.fhir.smart.tokens import digest

LAUNCH_SECONDS = 600


def create_launch(db: Session, actor: Actor, client_id: str, patient_id: uuid.UUID) -> tuple[str, ApiClient]:
    """An EHR launch from the record page: a one-use `launch` value naming the patient, for this user."""
    client = db.scalar(select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.kind == "smart-app",
                                               ApiClient.active.is_(True)))
    if client is None or client.organization_id != actor.organization_id or not client.launch_url:
        raise InvalidInput(f"no app {client_id!r} with a launch URL is registered", field="client_id")
    if actor.user_id is None:
        raise NotAuthenticated("sign in first")
    value = secrets.token_urlsafe(24)
    db.add(SmartLaunch(token_hash=digest(value), client_id=client_id, user_id=actor.user_id, patient_id=patient_id,
                       expires_at=utcnow() + timedelta(seconds=LAUNCH_SECONDS)))
    return value, client


def launch_patient(db: Session, actor: Actor, client_id: str, launch: str) -> uuid.UUID:
    """The patient an EHR launch named (it must be this user's, for this app, and fresh)."""
    row = db.scalar(select(SmartLaunch).where(SmartLaunch.token_hash == digest(launch)))
    if row is None or row.client_id != client_id or row.user_id != actor.user_id or row.expires_at < utcnow():
        raise InvalidInput("the launch is unknown, expired or not for this app and user", field="launch")
    return row.patient_id


def launch_apps(db: Session, actor: Actor) -> list[ApiClient]:
    """The apps of the actor's organisation that can be launched from a record."""
    return list(db.scalars(_LAUNCHABLE, {"organization_id": actor.organization_id}))


# every record page asks it: built once, the organisation bound
_LAUNCHABLE = select(ApiClient).where(
    ApiClient.organization_id == bindparam("organization_id"), ApiClient.kind == "smart-app",
    ApiClient.active.is_(True), ApiClient.launch_url.is_not(None)).order_by(ApiClient.name)


def pickable_patients(db: Session, actor: Actor, name: str = "", limit: int = 50) -> list[Patient]:
    """Patients a clinician may put in a standalone launch's context (their organisation's)."""
    stmt = select(Patient).where(Patient.organization_id == actor.organization_id)
    if name:
        needle = name.lower() + "%"
        stmt = stmt.where(or_(func.lower(Patient.family_name).like(needle), func.lower(Patient.given_name).like(needle)))
    return list(db.scalars(stmt.order_by(Patient.family_name, Patient.given_name).limit(limit)))
