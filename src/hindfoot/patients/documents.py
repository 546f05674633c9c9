"""Documents kept with a patient's record (a referral letter imported through the FHIR API): listed
on the record page for staff, opened one at a time; every opening is audited."""

from __future__ import annotations

import base64
import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_staff
from hindfoot.db.models import DocumentReference
from hindfoot.errors import AccessDenied
from hindfoot.patients.service import get_patient


def list_documents(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[DocumentReference]:
    """The patient's documents, newest first (without their content)."""
    require_staff(actor)
    get_patient(db, actor, patient_id)
    return list(db.scalars(_LISTED, {"patient_id": patient_id}))


# every record page asks it: built once, the patient bound
_LISTED = (select(DocumentReference).options(defer(DocumentReference.data))
           .where(DocumentReference.patient_id == bindparam("patient_id"),
                  DocumentReference.status != "entered-in-error")
           .order_by(DocumentReference.date.desc()))


def open_document(db: Session, actor: Actor, patient_id: uuid.UUID, document_id: uuid.UUID) -> tuple[
        DocumentReference, bytes | None]:
    """One document and its decoded content (None when it lives at a URL); audited."""
    require_staff(actor)
    get_patient(db, actor, patient_id)
    doc = db.get(DocumentReference, document_id)
    if doc is None or doc.patient_id != patient_id:
        raise AccessDenied("document not found", entity_type="DocumentReference", entity_id=document_id,
                           patient_id=patient_id)
    audit.record(db, actor, audit.READ, "DocumentReference", doc.id, patient_id=patient_id,
                 description=f"document opened: {doc.title or doc.type_display or doc.content_type}")
    return doc, base64.b64decode(doc.data) if doc.data else None
