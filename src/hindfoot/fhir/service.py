"""Assemble a patient's record as a FHIR R4 Bundle (collection), authorised and audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.fhir import r4
from hindfoot.fhir.mappers import clinical, patient as patient_mapper
from hindfoot.patients import service as patients_service


def patient_bundle(db: Session, actor: Actor, patient_id: uuid.UUID, base_url: str) -> dict[str, Any]:
    record = patients_service.get_record(db, actor, patient_id)
    resources = [patient_mapper.to_fhir(record.patient)]
    resources += [clinical.episode_to_fhir(e) for e in record.episodes]
    resources += [clinical.encounter_to_fhir(e) for e in record.encounters]
    resources += [clinical.condition_to_fhir(c) for c in record.conditions]
    resources += [clinical.procedure_to_fhir(p) for p in record.procedures]
    resources += [clinical.observation_to_fhir(o) for o in record.observations]
    base = base_url.rstrip("/") + "/api/fhir"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "meta": {"tag": [{"system": "https://hindfoot.org/fhir/version", "code": r4.FHIR_VERSION}]},
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    audit.record(db, actor, audit.READ, "Bundle", patient_id, patient_id=patient_id,
                 description=f"FHIR export: {len(resources)} resources")
    return r4.validate(bundle)


def capability_statement(base_url: str) -> dict[str, Any]:
    return r4.validate({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": utcnow().date().isoformat(),
        "kind": "instance",
        "software": {"name": "hindfoot", "version": "0.1.0"},
        "implementation": {"description": "hindfoot FHIR export", "url": base_url.rstrip("/") + "/api/fhir"},
        "fhirVersion": r4.FHIR_VERSION,
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [
            {"type": t, "interaction": [{"code": "read"}]}
            for t in ("Patient", "EpisodeOfCare", "Encounter", "Condition", "Observation", "Procedure")
        ], "operation": [{"name": "everything",
                          "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]}],
    })
