"""EpisodeOfCare, Encounter, Condition, Observation and Procedure -> FHIR R4 (4.0.1) resources.

Profiles: http://hl7.org/fhir/StructureDefinition/{EpisodeOfCare,Encounter,Condition,Observation,Procedure}
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import (
    coding,
    day,
    drop_none,
    instant,
    laterality,
    narrative,
    ref,
    resource,
)

EPISODE_STATUS = {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"}
ENCOUNTER_STATUS = {"planned": "planned", "in-progress": "in-progress", "finished": "finished", "cancelled": "cancelled"}
PROCEDURE_STATUS = {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                      "unknown"}
OBS_CATEGORY = {"history": "social-history", "exam": "exam", "imaging": "imaging", "tests": "laboratory",
                "score": "survey", "measurement": "exam"}
STAGE_LABELS = {
    "enquiry": "New enquiry", "assessment": "Assessed", "investigation": "Investigations",
    "conservative_care": "Conservative care", "surgical_listing": "Listed for surgery", "surgery": "Surgery",
    "post_op": "Post-op", "rehabilitation": "Rehabilitation", "returned_to_sport": "Returned to sport",
    "discharged": "Discharged",
}
ENCOUNTER_TYPES = {
    "new_consultation": "New consultation", "follow_up": "Follow-up", "physiotherapy": "Physiotherapy",
    "image_guided_injection": "Image-guided injection", "imaging": "Imaging", "day_case_surgery": "Day-case surgery",
    "nurse_dressing": "Nurse dressing visit", "telephone": "Telephone review",
}


def episode_to_fhir(episode: Any) -> dict[str, Any]:
    stage = STAGE_LABELS.get(episode.stage, episode.stage)
    return resource(
        "EpisodeOfCare", episode,
        narrative(f"{episode.title} ({episode.laterality})", f"Pathway stage: {stage}; from {day(episode.period_start)}"),
        status=episode.status if episode.status in EPISODE_STATUS else "active",
        type=[{"coding": [coding(codes.HINDFOOT_STAGE, episode.stage, stage)], "text": episode.title}],
        patient=ref("Patient", episode.patient_id),
        managingOrganization=ref("Organization", episode.organization_id),
        period=drop_none({"start": day(episode.period_start), "end": day(episode.period_end)}),
        careManager=ref("Practitioner", episode.care_manager_id),
    )


def encounter_to_fhir(encounter: Any) -> dict[str, Any]:
    label = ENCOUNTER_TYPES.get(encounter.type, encounter.type)
    status = ENCOUNTER_STATUS.get(encounter.status, "unknown")
    return resource(
        "Encounter", encounter,
        narrative(f"{label} on {instant(encounter.start)} ({status})", encounter.reason),
        status=status,
        **{"class": {"system": codes.ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"}},
        type=[{"coding": [coding(codes.HINDFOOT_ENCOUNTER_TYPE, encounter.type, label)], "text": label}],
        subject=ref("Patient", encounter.patient_id),
        episodeOfCare=[ref("EpisodeOfCare", encounter.episode_id)] if encounter.episode_id else None,
        participant=[{"individual": ref("Practitioner", encounter.practitioner_id)}] if encounter.practitioner_id else None,
        period=drop_none({"start": instant(encounter.start), "end": instant(encounter.end)}),
        reasonCode=[{"text": encounter.reason}] if encounter.reason else None,
        location=[{"location": ref("Location", encounter.location_id)}] if encounter.location_id else None,
    )


def condition_to_fhir(condition: Any) -> dict[str, Any]:
    coding_list = []
    if condition.code != codes.EXTERNAL_CONDITION:  # an imported condition has no hindfoot concept
        coding_list.append(coding(codes.HINDFOOT_CONDITION, condition.code, condition.display))
    if condition.snomed_code:
        if codes.known_snomed(condition.snomed_code):
            display, proxy = codes.snomed_term(condition.snomed_code)
            coding_list.append(coding(codes.SNOMED, condition.snomed_code, display, proxy=proxy))
        else:  # imported: as the sending system named it, its equivalence not judged here
            coding_list.append(coding(codes.SNOMED, condition.snomed_code, condition.display))
    if condition.icd10_code:
        coding_list.append(coding(codes.ICD10, condition.icd10_code, condition.display, proxy=True))
    clinical = condition.clinical_status
    verification = condition.verification_status
    return resource(
        "Condition", condition,
        narrative(f"{condition.display} ({verification}, {clinical})",
                  f"Side: {condition.laterality}" if condition.laterality else None),
        clinicalStatus={"coding": [coding(codes.CONDITION_CLINICAL, clinical,
                                          codes.CONDITION_CLINICAL_DISPLAY.get(clinical))]},
        verificationStatus={"coding": [coding(codes.CONDITION_VERIFICATION, verification,
                                              codes.CONDITION_VERIFICATION_DISPLAY.get(verification))]},
        category=[{"coding": [coding(codes.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]}],
        code={"coding": coding_list, "text": condition.display} if coding_list else {"text": condition.display},
        bodySite=[laterality(condition.laterality)] if condition.laterality else None,
        subject=ref("Patient", condition.patient_id),
        onsetDateTime=day(condition.onset_date),
        recordedDate=instant(condition.recorded_at),
        recorder=ref("Practitioner", condition.recorder_id),
        note=[{"text": condition.note}] if condition.note else None,
    )


def observation_code(code: str, category: str) -> dict[str, Any]:
    display = codes.finding_display(code)
    system = codes.HINDFOOT_SCORE if category in ("score", "measurement") else codes.HINDFOOT_FINDING
    coding_list = []
    if code in codes.LOINC_FOR_SCORE:
        loinc, loinc_display = codes.LOINC_FOR_SCORE[code]
        coding_list.append(coding(codes.LOINC, loinc, loinc_display))
    coding_list.append(coding(system, code, display))
    return {"coding": coding_list, "text": display}


def quantity(value: float, unit: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value}
    if unit in codes.UCUM_UNITS:
        ucum, label = codes.UCUM_UNITS[unit]
        out.update(unit=label, system=codes.UCUM, code=ucum)
    elif unit:
        out["unit"] = unit
    return out


def observation_to_fhir(observation: Any) -> dict[str, Any]:
    category = OBS_CATEGORY.get(observation.category, "exam")
    code = observation_code(observation.code, observation.category)
    value: dict[str, Any] = {}
    shown = ""
    if observation.value_boolean is not None:
        value["valueBoolean"] = observation.value_boolean
        shown = "present" if observation.value_boolean else "absent"
    elif observation.value_quantity is not None:
        value["valueQuantity"] = quantity(observation.value_quantity, observation.value_unit)
        shown = f"{observation.value_quantity:g} {observation.value_unit or ''}".strip()
    elif observation.value_string is not None:
        value["valueString"] = observation.value_string
        shown = observation.value_string
    return resource(
        "Observation", observation,
        narrative(f"{code['text']}: {shown or 'no value'}", f"Recorded {instant(observation.effective_at)}"),
        status=observation.status if observation.status in OBSERVATION_STATUS else "unknown",
        category=[{"coding": [coding(codes.OBSERVATION_CATEGORY, category, codes.CATEGORY_DISPLAY[category])],
                   "text": observation.category}],
        code=code,
        subject=ref("Patient", observation.patient_id),
        encounter=ref("Encounter", observation.encounter_id),
        effectiveDateTime=instant(observation.effective_at),
        performer=[ref("Practitioner", observation.performer_id)] if observation.performer_id else None,
        derivedFrom=([ref("QuestionnaireResponse", observation.questionnaire_response_id)]
                     if observation.questionnaire_response_id else None),
        note=[{"text": observation.note}] if observation.note else None,
        **value,
    )


def procedure_to_fhir(procedure: Any) -> dict[str, Any]:
    coding_list = [coding(codes.HINDFOOT_PROCEDURE, procedure.code, procedure.display)]
    if procedure.snomed_code:
        display, proxy = codes.snomed_term(procedure.snomed_code)
        coding_list.append(coding(codes.SNOMED, procedure.snomed_code, display, proxy=proxy))
    if procedure.code in codes.PROCEDURE_CPT:
        cpt, cpt_display = codes.PROCEDURE_CPT[procedure.code]
        # 29999 is the unlisted-arthroscopy convention (evidence.md 8.2, U): wider than the procedure
        coding_list.append(coding(codes.CPT, cpt, cpt_display, proxy=cpt == "29999"))
    status = procedure.status if procedure.status in PROCEDURE_STATUS else "unknown"
    return resource(
        "Procedure", procedure,
        narrative(f"{procedure.display} ({status})", f"Side: {procedure.laterality}" if procedure.laterality else None,
                  f"Complication: {procedure.complication}" if procedure.complication else None),
        status=status,
        code={"coding": coding_list, "text": procedure.display},
        subject=ref("Patient", procedure.patient_id),
        performedDateTime=instant(procedure.performed_at),
        performer=[{"actor": ref("Practitioner", procedure.performer_id)}] if procedure.performer_id else None,
        location=ref("Location", procedure.location_id),
        bodySite=[laterality(procedure.laterality)] if procedure.laterality else None,
        complication=[{"text": procedure.complication}] if procedure.complication else None,
        note=[{"text": procedure.note}] if procedure.note else None,
    )
