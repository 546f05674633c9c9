"""Patients' data rights: a patient's correction, erasure and restriction requests and the clinic's queue.

The patient's whole record for download is `GET /api/fhir/Patient/{id}/$everything` (a FHIR Bundle);
the pages add `/me/data` with the Bundle as a file and a readable summary (HTML and PDF).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.db.models import DataRequest
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.patients import rights

router = APIRouter(tags=["data rights"])


class DataRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["correction", "erasure", "restriction"]
    details: str = Field(default="", max_length=rights.DETAILS_MAX,
                         description="what is wrong and what it should say (required for a correction), or why")


class DataRequestDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accept", "refuse"]
    reason: str = Field(default="", max_length=rights.REASON_MAX, description="required to refuse; the patient reads it")


class DataRequestRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: str
    details: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    answer: str


class QueueEntry(DataRequestRead):
    patient_name: str
    patient_identifier: str
    patient_restricted: bool


class DataRequestList(BaseModel):
    items: list[QueueEntry | DataRequestRead]  # an admin's queue names the patient


def _read(r: DataRequest) -> DataRequestRead:
    return DataRequestRead(id=r.id, patient_id=r.patient_id, kind=r.kind, details=r.details, status=r.status,
                           created_at=r.created_at, decided_at=r.decided_at, answer=r.answer)


@router.get("/data-requests")
def list_requests(
    db: DbSession, actor: CurrentActor,
    status: Annotated[Literal["open", "accepted", "refused"] | None, Query()] = None,
) -> DataRequestList:
    """A patient: their own requests. An admin: their clinic's queue (open first). Others: 403."""
    if actor.role == "patient":
        return DataRequestList(items=[_read(r) for r in rights.own_requests(db, actor)
                                      if status is None or r.status == status])
    return DataRequestList(items=[
        QueueEntry(**_read(i.request).model_dump(), patient_name=i.patient.display_name,
                   patient_identifier=i.patient.identifier, patient_restricted=i.patient.restricted_at is not None)
        for i in rights.queue(db, actor, status=status)
    ])


@router.post("/data-requests", status_code=201)
def create_request(body: DataRequestCreate, db: DbSession, actor: CurrentActor) -> DataRequestRead:
    return _read(rights.create_request(db, actor, body.kind, body.details))


@router.get("/data-requests/{request_id}")
def get_request(request_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> DataRequestRead:
    return _read(rights.get_request(db, actor, request_id))


@router.post("/data-requests/{request_id}/decision")
def decide(request_id: uuid.UUID, body: DataRequestDecision, request: Request, db: DbSession, actor: CurrentActor,
           settings: AppSettings, background: BackgroundTasks) -> DataRequestRead:
    """An admin of the patient's clinic accepts (and so carries out) or refuses a request."""
    decided, mail = rights.decide(db, actor, settings, request_id, body.decision, body.reason)
    background.add_task(rights.deliver, settings, request.app.state.sessionmaker, mail)
    return _read(decided)


class RestrictionLift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=rights.REASON_MAX, description="why the restriction ends; the patient is emailed it")


@router.post("/patients/{patient_id}/restriction/lift", status_code=204)
def lift_restriction(patient_id: uuid.UUID, body: RestrictionLift, request: Request, db: DbSession,
                     actor: CurrentActor, settings: AppSettings, background: BackgroundTasks) -> None:
    """An admin of the patient's clinic ends a restriction of processing (GDPR art. 18(3))."""
    mail = rights.lift_restriction(db, actor, settings, patient_id, body.reason)
    background.add_task(rights.deliver, settings, request.app.state.sessionmaker, mail)
