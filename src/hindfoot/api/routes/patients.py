"""Patients, their record, episodes and observations."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from hindfoot.bounds import MAX_OFFSET
from hindfoot.db.models import PathwayStage
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.patients import service as patients_service
from hindfoot.patients.schemas import (
    ContactDetails,
    ContactRead,
    EpisodeCreate,
    EpisodeRead,
    ObservationCreate,
    ObservationRead,
    PatientCreate,
    PatientRead,
    PatientSummary,
    PatientUpdate,
)

router = APIRouter(tags=["patients"])


class PatientList(BaseModel):
    total: int  # matches, counted up to 1,000
    total_capped: bool  # true: more than `total` match
    next_cursor: str | None  # pass as `after` for the next page; null on the last page
    items: list[PatientSummary]


@router.get("/patients")
def list_patients(
    db: DbSession,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    stage: PathwayStage | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    after: Annotated[str | None, Query(max_length=600, description="next_cursor of the previous page")] = None,
) -> PatientList:
    page = patients_service.list_patients(
        db, actor, q=q, stage=stage.value if stage else None, limit=limit, offset=offset, after=after
    )
    return PatientList(
        total=page.total,
        total_capped=page.total_capped,
        next_cursor=page.next_cursor,
        items=[
            PatientSummary(
                **PatientRead.model_validate(i.patient).model_dump(),
                # the episode is clinical: the front desk (receptionist) sees who, not what they are treated for
                stage=i.episode.stage if i.episode and actor.is_clinical else None,
                episode_title=i.episode.title if i.episode and actor.is_clinical else None,
            )
            for i in page.items
        ],
    )


@router.post("/patients", status_code=201)
def create_patient(body: PatientCreate, db: DbSession, actor: CurrentActor) -> PatientRead:
    return PatientRead.model_validate(patients_service.create_patient(db, actor, body))


_OBSERVATION_FIELDS = tuple(ObservationRead.model_fields)


@router.get("/patients/{patient_id}", responses={200: {"description": "the patient's whole record"}})
def get_patient_record(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> Response:
    """The whole record. Written with orjson straight from the rows (a record holds hundreds of
    observations: validating each through a model and then FastAPI's generic encoder cost more than
    reading them); the fields are ObservationRead's, times in UTC with a Z as before."""
    record = patients_service.get_record(db, actor, patient_id, patients_service.API_PARTS)
    payload = {
        "patient": PatientRead.model_validate(record.patient).model_dump(mode="json"),
        "episodes": [EpisodeRead.model_validate(e).model_dump(mode="json") for e in record.episodes],
        "observations": [{name: getattr(o, name) for name in _OBSERVATION_FIELDS} for o in record.observations],
        "conditions": [
            {"id": str(c.id), "code": c.code, "display": c.display, "snomed": c.snomed_code, "icd10": c.icd10_code,
             "verification_status": c.verification_status, "clinical_status": c.clinical_status,
             "laterality": c.laterality, "episode_id": str(c.episode_id) if c.episode_id else None}
            for c in record.conditions
        ],
        "procedures": [
            {"id": str(p.id), "code": p.code, "display": p.display, "status": p.status,
             "performed_at": p.performed_at.isoformat() if p.performed_at else None,
             "laterality": p.laterality, "complication": p.complication}
            for p in record.procedures
        ],
        "imaging": [
            {"id": str(s.id), "modality": s.modality, "description": s.description,
             "started_at": s.started_at.isoformat()}
            for s in record.imaging
        ],
        "encounters": [
            {"id": str(e.id), "type": e.type, "status": e.status, "start": e.start.isoformat(),
             "practitioner": e.practitioner.display_name if e.practitioner else None,
             "location": e.location.name if e.location else None}
            for e in record.encounters
        ],
        "care_plans": [
            {"id": str(cp.id), "title": cp.title, "kind": cp.kind, "status": cp.status,
             "activities": [{"code": a.code, "title": a.title, "status": a.status,
                             "earliest": a.earliest.isoformat() if a.earliest else None,
                             "typical": a.typical.isoformat() if a.typical else None,
                             "latest": a.latest.isoformat() if a.latest else None} for a in cp.activities]}
            for cp in record.care_plans
        ],
        "questionnaire_responses": [
            {"id": str(r.id), "questionnaire": r.questionnaire.code, "timepoint": r.timepoint,
             "status": r.status, "authored_at": r.authored_at.isoformat(), "scores": r.scores}
            for r in record.responses
        ],
    }
    return Response(orjson.dumps(payload, option=orjson.OPT_UTC_Z), media_type="application/json")


@router.patch("/patients/{patient_id}")
def update_patient(patient_id: uuid.UUID, body: PatientUpdate, db: DbSession, actor: CurrentActor) -> PatientRead:
    return PatientRead.model_validate(patients_service.update_patient(db, actor, patient_id, body))


@router.get("/patients/{patient_id}/contact")
def get_contact(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> ContactRead:
    return ContactRead.model_validate(patients_service.get_contact_details(db, actor, patient_id))


@router.patch("/patients/{patient_id}/contact")
def update_contact(patient_id: uuid.UUID, body: ContactDetails, db: DbSession, actor: CurrentActor) -> ContactRead:
    """Phone, address, GP practice, emergency contact, preferred contact: the patient or their clinic's staff."""
    return ContactRead.model_validate(patients_service.update_contact_details(db, actor, patient_id, body))


@router.post("/patients/{patient_id}/episodes", status_code=201)
def create_episode(patient_id: uuid.UUID, body: EpisodeCreate, db: DbSession, actor: CurrentActor) -> EpisodeRead:
    return EpisodeRead.model_validate(patients_service.create_episode(db, actor, patient_id, body))


@router.post("/episodes/{episode_id}/observations", status_code=201)
def add_observation(
    episode_id: uuid.UUID, body: ObservationCreate, db: DbSession, actor: CurrentActor
) -> ObservationRead:
    return ObservationRead.model_validate(patients_service.add_observation(db, actor, episode_id, body))
