"""The FHIR export as it was before issue 13 (frozen here as the bench baseline; not used by the app).

The previous `fhir/service.py` and `fhir/mappers/{common,patient,clinical}.py`, unchanged but for
living in one module: the record loaded with `patients.get_record`, six resource types mapped, the
whole collection Bundle validated with the R4B models on every request.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.fhir import r4
from hindfoot.patients import service as patients_service

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
HINDFOOT_FINDING = "https://hindfoot.org/fhir/CodeSystem/finding"
HINDFOOT_CONDITION = "https://hindfoot.org/fhir/CodeSystem/condition"
HINDFOOT_PROCEDURE = "https://hindfoot.org/fhir/CodeSystem/procedure"
HINDFOOT_STAGE = "https://hindfoot.org/fhir/CodeSystem/pathway-stage"
HINDFOOT_SCORE = "https://hindfoot.org/fhir/CodeSystem/score"
IDENTIFIER_SYSTEM = "https://hindfoot.org/fhir/NamingSystem/record-number"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right"), "bilateral": ("51440002", "Bilateral")}
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
SPORT_EXTENSION = "https://hindfoot.org/fhir/StructureDefinition/sport"


def ref(resource_type: str, ident: object | None) -> dict[str, str] | None:
    return {"reference": f"{resource_type}/{ident}"} if ident else None


def instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def laterality(side: str | None) -> dict[str, Any] | None:
    if not side or side not in LATERALITY:
        return None
    code, display = LATERALITY[side]
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": side}


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


EPISODE_STATUS = {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"}
ENCOUNTER_STATUS = {"planned": "planned", "in-progress": "in-progress", "finished": "finished", "cancelled": "cancelled"}
PROCEDURE_STATUS = {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
OBS_CATEGORY = {"history": "social-history", "exam": "exam", "imaging": "imaging", "tests": "laboratory",
                "score": "survey", "measurement": "exam"}


def episode_to_fhir(episode: Any) -> dict[str, Any]:
    return drop_none({
        "resourceType": "EpisodeOfCare",
        "id": str(episode.id),
        "status": episode.status if episode.status in EPISODE_STATUS else "active",
        "type": [{"coding": [{"system": HINDFOOT_STAGE, "code": episode.stage}], "text": episode.title}],
        "patient": ref("Patient", episode.patient_id),
        "managingOrganization": ref("Organization", episode.organization_id),
        "period": drop_none({"start": day(episode.period_start), "end": day(episode.period_end)}),
        "careManager": ref("Practitioner", episode.care_manager_id),
    })


def encounter_to_fhir(encounter: Any) -> dict[str, Any]:
    return drop_none({
        "resourceType": "Encounter",
        "id": str(encounter.id),
        "status": ENCOUNTER_STATUS.get(encounter.status, "unknown"),
        "class": {"system": ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": encounter.type_label}],
        "subject": ref("Patient", encounter.patient_id),
        "episodeOfCare": [ref("EpisodeOfCare", encounter.episode_id)] if encounter.episode_id else None,
        "participant": [{"individual": ref("Practitioner", encounter.practitioner_id)}] if encounter.practitioner_id else None,
        "period": drop_none({"start": instant(encounter.start), "end": instant(encounter.end)}),
        "location": [{"location": ref("Location", encounter.location_id)}] if encounter.location_id else None,
        "reasonCode": [{"text": encounter.reason}] if encounter.reason else None,
    })


def condition_to_fhir(condition: Any) -> dict[str, Any]:
    coding = [{"system": HINDFOOT_CONDITION, "code": condition.code, "display": condition.display}]
    if condition.snomed_code:
        coding.append({"system": SNOMED, "code": condition.snomed_code})
    if condition.icd10_code:
        coding.append({"system": ICD10, "code": condition.icd10_code})
    return drop_none({
        "resourceType": "Condition",
        "id": str(condition.id),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": condition.clinical_status}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION,
                                           "code": condition.verification_status}]},
        "code": {"coding": coding, "text": condition.display},
        "bodySite": [laterality(condition.laterality)] if condition.laterality else None,
        "subject": ref("Patient", condition.patient_id),
        "onsetDateTime": day(condition.onset_date),
        "recordedDate": instant(condition.recorded_at),
        "recorder": ref("Practitioner", condition.recorder_id),
        "note": [{"text": condition.note}] if condition.note else None,
    })


def observation_to_fhir(observation: Any) -> dict[str, Any]:
    system = HINDFOOT_SCORE if observation.category == "score" else HINDFOOT_FINDING
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(observation.id),
        "status": observation.status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY,
                                  "code": OBS_CATEGORY.get(observation.category, "exam")}],
                      "text": observation.category}],
        "code": {"coding": [{"system": system, "code": observation.code}], "text": observation.code},
        "subject": ref("Patient", observation.patient_id),
        "effectiveDateTime": instant(observation.effective_at),
        "performer": [ref("Practitioner", observation.performer_id)] if observation.performer_id else None,
        "encounter": ref("Encounter", observation.encounter_id),
        "note": [{"text": observation.note}] if observation.note else None,
    }
    if observation.value_boolean is not None:
        data["valueBoolean"] = observation.value_boolean
    elif observation.value_quantity is not None:
        data["valueQuantity"] = drop_none({"value": observation.value_quantity, "unit": observation.value_unit})
    elif observation.value_string is not None:
        data["valueString"] = observation.value_string
    return drop_none(data)


def procedure_to_fhir(procedure: Any) -> dict[str, Any]:
    coding = [{"system": HINDFOOT_PROCEDURE, "code": procedure.code, "display": procedure.display}]
    if procedure.snomed_code:
        coding.append({"system": SNOMED, "code": procedure.snomed_code})
    return drop_none({
        "resourceType": "Procedure",
        "id": str(procedure.id),
        "status": procedure.status if procedure.status in PROCEDURE_STATUS else "unknown",
        "code": {"coding": coding, "text": procedure.display},
        "subject": ref("Patient", procedure.patient_id),
        "performedDateTime": instant(procedure.performed_at),
        "performer": [{"actor": ref("Practitioner", procedure.performer_id)}] if procedure.performer_id else None,
        "location": ref("Location", procedure.location_id),
        "bodySite": [laterality(procedure.laterality)] if procedure.laterality else None,
        "complication": [{"text": procedure.complication}] if procedure.complication else None,
        "note": [{"text": procedure.note}] if procedure.note else None,
    })


def patient_to_fhir(patient: Any) -> dict[str, Any]:
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    return drop_none({
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": patient.identifier}],
        "active": patient.active,
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": day(patient.birth_date),
        "telecom": telecom,
        "managingOrganization": ref("Organization", patient.organization_id),
        "extension": [
            {"url": SPORT_EXTENSION, "extension": [
                {"url": "sport", "valueCode": patient.sport},
                {"url": "level", "valueCode": patient.level},
            ]},
        ],
    })


def patient_bundle(db: Session, actor: Actor, patient_id: uuid.UUID, base_url: str) -> dict[str, Any]:
    record = patients_service.get_record(db, actor, patient_id)
    resources = [patient_to_fhir(record.patient)]
    resources += [episode_to_fhir(e) for e in record.episodes]
    resources += [encounter_to_fhir(e) for e in record.encounters]
    resources += [condition_to_fhir(c) for c in record.conditions]
    resources += [procedure_to_fhir(p) for p in record.procedures]
    resources += [observation_to_fhir(o) for o in record.observations]
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


