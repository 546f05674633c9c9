"""Every resource type the FHIR API serves: its table, mapper, search parameters and who may see it.

One declaration per type. The REST routes are generated from this table, the CapabilityStatement
from the routes, and the search and `_include` handling from the parameters declared here.

Who sees what (the same rules as `auth/policy.py`): a patient sees their own compartment (rows
whose patient is them) and their clinic's directory (organisation, locations, practitioners,
schedules and slots); clinicians and admins see their organisation's patients and directory.
Questionnaires are public definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, select, true

from hindfoot.auth.actor import CLINICAL_ROLES, Actor
from hindfoot.db.models import (
    Appointment,
    CarePlan,
    Condition,
    DiagnosticReport,
    DocumentReference,
    Encounter,
    EpisodeOfCare,
    ImagingStudy,
    Location,
    Observation,
    Organization,
    Patient,
    Practitioner,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
    Schedule,
    Slot,
)
from hindfoot.fhir import codes
from hindfoot.fhir.mappers import (
    care,
    clinical,
    directory,
    document,
    imaging,
    questionnaire,
    scheduling,
)
from hindfoot.fhir.mappers import patient as patient_mapper
from hindfoot.fhir.search import SearchParam, date_param, id_token, reference, string, token

Scope = Callable[[Actor], ColumnElement[bool]]


@dataclass(frozen=True)
class ResourceType:
    name: str
    model: Any
    mapper: Callable[[Any], dict[str, Any]]
    scope: Scope
    order: Any  # newest first
    params: dict[str, SearchParam]
    patient_column: Any = None  # set for the patient compartment: these reads are audited
    since_column: Any = None  # for _since / _lastUpdated
    documentation: str = ""
    includes: tuple[str, ...] = field(default=())

    @property
    def is_patient_data(self) -> bool:
        return self.patient_column is not None


def _org_patients(actor: Actor) -> Any:
    return select(Patient.id).where(Patient.organization_id == actor.organization_id)


def compartment(column: Any) -> Scope:
    def scope(actor: Actor) -> ColumnElement[bool]:
        if actor.role == "patient":
            return column == actor.patient_id
        if actor.role not in CLINICAL_ROLES:  # receptionists and managers read no clinical resources
            return false()
        if actor.smart_patient_id is not None:  # a SMART token limited to its launch patient
            return and_(column == actor.smart_patient_id, column.in_(_org_patients(actor)))
        return column.in_(_org_patients(actor))

    return scope


def _patient_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.role == "patient":
        return Patient.id == actor.patient_id
    if actor.role not in CLINICAL_ROLES:
        return false()
    if actor.smart_patient_id is not None:
        return and_(Patient.id == actor.smart_patient_id, Patient.organization_id == actor.organization_id)
    return Patient.organization_id == actor.organization_id


def _org_column(column: Any) -> Scope:
    return lambda actor: column == actor.organization_id


def _org_practitioners(actor: Actor) -> Any:
    return select(Practitioner.id).where(Practitioner.organization_id == actor.organization_id)


def _schedule_scope(actor: Actor) -> ColumnElement[bool]:
    return Schedule.practitioner_id.in_(_org_practitioners(actor))


def _slot_scope(actor: Actor) -> ColumnElement[bool]:
    return Slot.schedule_id.in_(select(Schedule.id).where(Schedule.practitioner_id.in_(_org_practitioners(actor))))


def _public(actor: Actor) -> ColumnElement[bool]:
    return true()


def _params(*params: SearchParam) -> dict[str, SearchParam]:
    return {p.name: p for p in params}


def _subject(model: Any) -> tuple[SearchParam, SearchParam]:
    return (reference("patient", "the patient the resource is about", model.patient_id, "Patient"),
            reference("subject", "the subject (a patient)", model.patient_id, "Patient"))


def _status(column: Any, doc: str = "status") -> SearchParam:
    return token("status", doc, column)


def _last_updated(model: Any) -> SearchParam:
    return date_param("_lastUpdated", "when the resource last changed", model.updated_at)


OBS_CATEGORY_VALUES = {"social-history": "history", "exam": ("exam", "measurement"), "imaging": "imaging",
                       "laboratory": "tests", "survey": "score"}
LOINC_TO_LOCAL = {(codes.LOINC, loinc): (Observation.code, local)
                  for local, (loinc, _) in codes.LOINC_FOR_SCORE.items()}
CPT_TO_LOCAL = {(codes.CPT, cpt): (Procedure.code, local) for local, (cpt, _) in codes.PROCEDURE_CPT.items()}


def _types() -> list[ResourceType]:
    return [
        ResourceType(
            "Patient", Patient, patient_mapper.to_fhir, _patient_scope, Patient.family_name, _params(
                id_token("_id", Patient.id), _last_updated(Patient),
                token("identifier", "clinic record number", Patient.identifier,
                      systems={codes.IDENTIFIER_SYSTEM: Patient.identifier}),
                string("name", "start of the given or family name", Patient.given_name, Patient.family_name,
                       indexed=Patient.search_text),
                string("family", "start of the family name", Patient.family_name, indexed=Patient.search_text),
                string("given", "start of the given name", Patient.given_name, indexed=Patient.search_text),
                date_param("birthdate", "date of birth", Patient.birth_date),
                token("gender", "administrative gender", Patient.sex),
                reference("organization", "the managing organisation", Patient.organization_id, "Organization"),
            ), patient_column=Patient.id, since_column=Patient.updated_at),
        ResourceType(
            "Practitioner", Practitioner, directory.practitioner_to_fhir,
            _org_column(Practitioner.organization_id), Practitioner.family_name, _params(
                id_token("_id", Practitioner.id), _last_updated(Practitioner),
                string("name", "start of the given or family name", Practitioner.given_name,
                       Practitioner.family_name),
                string("family", "start of the family name", Practitioner.family_name),
                string("given", "start of the given name", Practitioner.given_name),
            ), since_column=Practitioner.updated_at),
        ResourceType(
            "PractitionerRole", Practitioner, directory.practitioner_role_to_fhir,
            _org_column(Practitioner.organization_id), Practitioner.family_name, _params(
                id_token("_id", Practitioner.id),
                reference("practitioner", "the practitioner in the role", Practitioner.id, "Practitioner"),
                reference("organization", "the organisation of the role", Practitioner.organization_id,
                          "Organization"),
                token("role", "the role (hindfoot practitioner-role codes)", Practitioner.role,
                      systems={codes.HINDFOOT_ROLE: Practitioner.role}),
            ), since_column=Practitioner.updated_at, includes=("practitioner",)),
        ResourceType(
            "Organization", Organization, directory.organization_to_fhir,
            lambda actor: Organization.id == actor.organization_id, Organization.name, _params(
                id_token("_id", Organization.id), string("name", "start of the name", Organization.name),
            ), since_column=Organization.updated_at),
        ResourceType(
            "Location", Location, directory.location_to_fhir, _org_column(Location.organization_id), Location.name,
            _params(
                id_token("_id", Location.id), string("name", "start of the name", Location.name),
                reference("organization", "the managing organisation", Location.organization_id, "Organization"),
            ), since_column=Location.updated_at),
        ResourceType(
            "EpisodeOfCare", EpisodeOfCare, clinical.episode_to_fhir, compartment(EpisodeOfCare.patient_id),
            EpisodeOfCare.period_start.desc(), _params(
                id_token("_id", EpisodeOfCare.id), _last_updated(EpisodeOfCare),
                _subject(EpisodeOfCare)[0], _status(EpisodeOfCare.status),
                date_param("date", "start of the episode", EpisodeOfCare.period_start),
                token("type", "pathway stage (hindfoot pathway-stage codes)", EpisodeOfCare.stage,
                      systems={codes.HINDFOOT_STAGE: EpisodeOfCare.stage}),
                reference("care-manager", "the care manager", EpisodeOfCare.care_manager_id, "Practitioner"),
            ), patient_column=EpisodeOfCare.patient_id, since_column=EpisodeOfCare.updated_at,
            includes=("patient", "care-manager")),
        ResourceType(
            "Encounter", Encounter, clinical.encounter_to_fhir, compartment(Encounter.patient_id),
            Encounter.start.desc(), _params(
                id_token("_id", Encounter.id), _last_updated(Encounter), *_subject(Encounter),
                date_param("date", "when the encounter started", Encounter.start), _status(Encounter.status),
                token("type", "encounter type (hindfoot encounter-type codes)", Encounter.type,
                      systems={codes.HINDFOOT_ENCOUNTER_TYPE: Encounter.type}),
                reference("practitioner", "the clinician seen", Encounter.practitioner_id, "Practitioner"),
                reference("location", "where it took place", Encounter.location_id, "Location"),
                reference("episode-of-care", "the episode of care", Encounter.episode_id, "EpisodeOfCare"),
            ), patient_column=Encounter.patient_id, since_column=Encounter.updated_at,
            includes=("patient", "practitioner", "location", "episode-of-care")),
        ResourceType(
            "Condition", Condition, clinical.condition_to_fhir, compartment(Condition.patient_id),
            Condition.recorded_at.desc(), _params(
                id_token("_id", Condition.id), _last_updated(Condition), *_subject(Condition),
                token("code", "condition code: hindfoot, SNOMED CT or ICD-10", Condition.code,
                      systems={codes.HINDFOOT_CONDITION: Condition.code, codes.SNOMED: Condition.snomed_code,
                               codes.ICD10: Condition.icd10_code}),
                token("clinical-status", "active, resolved ...", Condition.clinical_status),
                token("verification-status", "provisional, confirmed ...", Condition.verification_status),
                date_param("recorded-date", "when it was recorded", Condition.recorded_at),
            ), patient_column=Condition.patient_id, since_column=Condition.updated_at, includes=("patient",)),
        ResourceType(
            "Observation", Observation, clinical.observation_to_fhir, compartment(Observation.patient_id),
            Observation.effective_at.desc(), _params(
                id_token("_id", Observation.id), _last_updated(Observation), *_subject(Observation),
                token("code", "LOINC (pain NRS 72514-3) or a hindfoot finding or score code", Observation.code,
                      systems={codes.HINDFOOT_FINDING: Observation.code, codes.HINDFOOT_SCORE: Observation.code},
                      translate=LOINC_TO_LOCAL, examples=("http://loinc.org|72514-3",)),
                token("category", "observation category (exam, imaging, survey ...)", Observation.category,
                      systems={codes.OBSERVATION_CATEGORY: Observation.category}, values=OBS_CATEGORY_VALUES,
                      examples=("survey",)),
                date_param("date", "when it was observed", Observation.effective_at), _status(Observation.status),
                reference("encounter", "the encounter", Observation.encounter_id, "Encounter"),
                reference("performer", "who recorded it", Observation.performer_id, "Practitioner"),
            ), patient_column=Observation.patient_id, since_column=Observation.updated_at,
            includes=("patient", "encounter", "performer")),
        ResourceType(
            "Procedure", Procedure, clinical.procedure_to_fhir, compartment(Procedure.patient_id),
            Procedure.performed_at.desc(), _params(
                id_token("_id", Procedure.id), _last_updated(Procedure), *_subject(Procedure),
                token("code", "procedure code: hindfoot, SNOMED CT or CPT", Procedure.code,
                      systems={codes.HINDFOOT_PROCEDURE: Procedure.code, codes.SNOMED: Procedure.snomed_code},
                      translate=CPT_TO_LOCAL),
                date_param("date", "when it was performed", Procedure.performed_at), _status(Procedure.status),
                reference("performer", "the surgeon or clinician", Procedure.performer_id, "Practitioner"),
                reference("location", "where it was performed", Procedure.location_id, "Location"),
            ), patient_column=Procedure.patient_id, since_column=Procedure.updated_at,
            includes=("patient", "performer", "location")),
        ResourceType(
            "ImagingStudy", ImagingStudy, imaging.imaging_study_to_fhir, compartment(ImagingStudy.patient_id),
            ImagingStudy.started_at.desc(), _params(
                id_token("_id", ImagingStudy.id), _last_updated(ImagingStudy), *_subject(ImagingStudy),
                date_param("started", "when the study started", ImagingStudy.started_at),
                token("modality", "DICOM modality (XR, MR, CT, NM, US)", ImagingStudy.modality,
                      systems={codes.DICOM_DCM: ImagingStudy.modality}),
                _status(ImagingStudy.status),
            ), patient_column=ImagingStudy.patient_id, since_column=ImagingStudy.updated_at, includes=("patient",)),
        ResourceType(
            "DiagnosticReport", DiagnosticReport, imaging.diagnostic_report_to_fhir,
            compartment(DiagnosticReport.patient_id), DiagnosticReport.issued_at.desc(), _params(
                id_token("_id", DiagnosticReport.id), _last_updated(DiagnosticReport), *_subject(DiagnosticReport),
                date_param("date", "when the report was issued", DiagnosticReport.issued_at),
                _status(DiagnosticReport.status),
                token("code", "report code (hindfoot diagnostic-report codes)", DiagnosticReport.code,
                      systems={codes.HINDFOOT_REPORT: DiagnosticReport.code}),
                reference("performer", "who reported", DiagnosticReport.performer_id, "Practitioner"),
            ), patient_column=DiagnosticReport.patient_id, since_column=DiagnosticReport.updated_at,
            includes=("patient", "performer")),
        ResourceType(
            "DocumentReference", DocumentReference, document.document_reference_to_fhir,
            compartment(DocumentReference.patient_id), DocumentReference.date.desc(), _params(
                id_token("_id", DocumentReference.id), _last_updated(DocumentReference), *_subject(DocumentReference),
                date_param("date", "when the document was made", DocumentReference.date),
                _status(DocumentReference.status),
                token("type", "document type (LOINC)", DocumentReference.type_code,
                      systems={codes.LOINC: DocumentReference.type_code}),
            ), patient_column=DocumentReference.patient_id, since_column=DocumentReference.updated_at,
            includes=("patient",)),
        ResourceType(
            "CarePlan", CarePlan, care.care_plan_to_fhir, compartment(CarePlan.patient_id),
            CarePlan.period_start.desc(), _params(
                id_token("_id", CarePlan.id), _last_updated(CarePlan), *_subject(CarePlan),
                date_param("date", "start of the plan", CarePlan.period_start), _status(CarePlan.status),
            ), patient_column=CarePlan.patient_id,
            since_column=CarePlan.updated_at, includes=("patient",)),
        ResourceType(
            "Appointment", Appointment, scheduling.appointment_to_fhir, compartment(Appointment.patient_id),
            Appointment.start.desc(), _params(
                id_token("_id", Appointment.id), _last_updated(Appointment),
                reference("patient", "the patient booked", Appointment.patient_id, "Patient"),
                reference("practitioner", "the clinician booked", Appointment.practitioner_id, "Practitioner"),
                reference("location", "where", Appointment.location_id, "Location"),
                reference("actor", "any participant", Appointment.patient_id, "Patient", "Practitioner", "Location",
                          extra=(Appointment.practitioner_id, Appointment.location_id)),
                date_param("date", "start of the appointment", Appointment.start), _status(Appointment.status),
                token("service-type", "the booked service (hindfoot service codes)", Appointment.service_type,
                      systems={codes.HINDFOOT_SERVICE: Appointment.service_type}),
            ), patient_column=Appointment.patient_id, since_column=Appointment.updated_at,
            includes=("patient", "practitioner", "location")),
        ResourceType(
            "Schedule", Schedule, scheduling.schedule_to_fhir, _schedule_scope, Schedule.created_at.desc(), _params(
                id_token("_id", Schedule.id), _last_updated(Schedule),
                reference("actor", "the practitioner or location", Schedule.practitioner_id, "Practitioner",
                          "Location", extra=(Schedule.location_id,)),
                token("active", "true or false", Schedule.active, values={"true": True, "false": False}),
            ), since_column=Schedule.updated_at),
        ResourceType(
            "Slot", Slot, scheduling.slot_to_fhir, _slot_scope, Slot.start, _params(
                id_token("_id", Slot.id),
                reference("schedule", "the schedule", Slot.schedule_id, "Schedule"),
                date_param("start", "when the slot starts", Slot.start), _status(Slot.status),
                token("service-type", "the service (hindfoot service codes)", Slot.service_type,
                      systems={codes.HINDFOOT_SERVICE: Slot.service_type}),
            ), includes=("schedule",)),
        ResourceType(
            "Questionnaire", Questionnaire, questionnaire.questionnaire_to_fhir, _public, Questionnaire.code, _params(
                id_token("_id", Questionnaire.id), _last_updated(Questionnaire),
                string("title", "start of the title", Questionnaire.title), _status(Questionnaire.status),
                token("version", "the version", Questionnaire.version),
            ), since_column=Questionnaire.updated_at),
        ResourceType(
            "QuestionnaireResponse", QuestionnaireResponse, questionnaire.questionnaire_response_to_fhir,
            compartment(QuestionnaireResponse.patient_id), QuestionnaireResponse.authored_at.desc(), _params(
                id_token("_id", QuestionnaireResponse.id), _last_updated(QuestionnaireResponse),
                *_subject(QuestionnaireResponse),
                date_param("authored", "when it was answered", QuestionnaireResponse.authored_at),
                _status(QuestionnaireResponse.status),
            ), patient_column=QuestionnaireResponse.patient_id,
            since_column=QuestionnaireResponse.updated_at, includes=("patient",)),
    ]


TYPES: dict[str, ResourceType] = {t.name: t for t in _types()}
