"""EpisodeOfCare, Encounter, Condition, Observation and Procedure -> FHIR R4 (4.0.1) resources.

Profiles: http://hl7.org/fhir/StructureDefinition/{EpisodeOfCare,Encounter,Condition,Observation,Procedure}
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import day, drop_none, instant, laterality, ref

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
        "type": [{"coding": [{"system": codes.HINDFOOT_STAGE, "code": episode.stage}], "text": episode.title}],
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
        "class": {"system": codes.ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": encounter.type_label}],
        "subject": ref("Patient", encounter.patient_id),
        "episodeOfCare": [ref("EpisodeOfCare", encounter.episode_id)] if encounter.episode_id else None,
        "participant": [{"individual": ref("Practitioner", encounter.practitioner_id)}] if encounter.practitioner_id else None,
        "period": drop_none({"start": instant(encounter.start), "end": instant(encounter.end)}),
        "location": [{"location": ref("Location", encounter.location_id)}] if encounter.location_id else None,
        "reasonCode": [{"text": encounter.reason}] if encounter.reason else None,
    })


def condition_to_fhir(condition: Any) -> dict[str, Any]:
    coding = [{"system": codes.HINDFOOT_CONDITION, "code": condition.code, "display": condition.display}]
    if condition.snomed_code:
        coding.append({"system": codes.SNOMED, "code": condition.snomed_code})
    if condition.icd10_code:
        coding.append({"system": codes.ICD10, "code": condition.icd10_code})
    return drop_none({
        "resourceType": "Condition",
        "id": str(condition.id),
        "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": condition.clinical_status}]},
        "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION,
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
    system = codes.HINDFOOT_SCORE if observation.category == "score" else codes.HINDFOOT_FINDING
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(observation.id),
        "status": observation.status,
        "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY,
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
    coding = [{"system": codes.HINDFOOT_PROCEDURE, "code": procedure.code, "display": procedure.display}]
    if procedure.snomed_code:
        coding.append({"system": codes.SNOMED, "code": procedure.snomed_code})
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
