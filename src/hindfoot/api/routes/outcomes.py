"""Outcome questionnaires (due list, answer, save and resume), a patient's scores, the registry."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.outcomes import analytics
from hindfoot.outcomes import service as outcomes_service
from hindfoot.bounds import SaneDate

router = APIRouter(tags=["outcomes"])


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DueItemRead(BaseModel):
    episode_id: uuid.UUID
    timepoint: str
    instrument: str
    due: date
    opens: date
    closes: date
    status: str
    response_id: uuid.UUID | None
    answered: int
    total: int


class ResponseCreate(Strict):
    patient_id: uuid.UUID
    episode_id: uuid.UUID
    instrument: Literal["faos", "faam", "pain", "rts"]
    timepoint: Literal["baseline", "6w", "3m", "6m", "12m"]


class ResponseUpdate(Strict):
    answers: dict[Annotated[str, Field(max_length=40)], int | str | None] = Field(default_factory=dict)
    complete: bool = False


class ResponseRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    episode_id: uuid.UUID | None
    instrument: str
    questionnaire_version: str
    timepoint: str
    status: str
    due_on: date | None
    answers: dict[str, Any]
    scores: dict[str, Any]


def _read(r: Any) -> ResponseRead:
    return ResponseRead(
        id=r.id, patient_id=r.patient_id, episode_id=r.episode_id, instrument=r.questionnaire.code,
        questionnaire_version=r.questionnaire.version, timepoint=r.timepoint, status=r.status,
        due_on=r.due_on, answers=r.answers, scores=r.scores,
    )


@router.get("/patients/{patient_id}/questionnaires")
def due_questionnaires(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> list[DueItemRead]:
    rows = outcomes_service.due_list(db, actor, patient_id)
    return [DueItemRead.model_validate(r, from_attributes=True) for r in rows]


@router.post("/questionnaire-responses", status_code=201)
def start_response(body: ResponseCreate, db: DbSession, actor: CurrentActor) -> ResponseRead:
    return _read(outcomes_service.start_response(
        db, actor, body.patient_id, body.episode_id, body.instrument, body.timepoint
    ))


@router.get("/questionnaire-responses/{response_id}")
def get_response(response_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> ResponseRead:
    return _read(outcomes_service.get_response(db, actor, response_id))


@router.patch("/questionnaire-responses/{response_id}")
def save_response(response_id: uuid.UUID, body: ResponseUpdate, db: DbSession, actor: CurrentActor) -> ResponseRead:
    return _read(outcomes_service.save_answers(db, actor, response_id, body.answers, complete=body.complete))


@router.get("/patients/{patient_id}/outcomes")
def patient_outcomes(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    data = outcomes_service.patient_outcomes(db, actor, patient_id)
    return {
        "series": [
            {"code": s.code, "label": s.label, "mcid": s.mcid.value, "better": s.mcid.better,
             "baseline": s.baseline, "mcid_threshold": s.threshold,
             "points": [{"date": d.isoformat(), "value": v, "timepoint": tp} for d, v, tp in s.points]}
            for s in data.series
        ],
        "return_to_sport": [{"answered_on": d.isoformat(), "status": st, "returned_on": ret}
                            for d, st, ret in data.rts],
        "markers": [{"date": d.isoformat(), "label": label} for d, label in data.markers],
    }


def _filters(
    sport: Annotated[str | None, Query(max_length=40)] = None,
    procedure: Annotated[str | None, Query(max_length=80)] = None,
    surgeon: uuid.UUID | None = None,
    from_: Annotated[SaneDate | None, Query(alias="from")] = None,
    to: SaneDate | None = None,
) -> analytics.Filters:
    return analytics.Filters(sport=sport or None, procedure=procedure or None, surgeon_id=surgeon,
                             start=from_, end=to)


DashboardFilters = Annotated[analytics.Filters, Depends(_filters)]


@router.get("/outcomes/dashboard")
def dashboard(db: DbSession, actor: CurrentActor, filters: DashboardFilters) -> dict[str, Any]:
    return analytics.dashboard(db, actor, filters).as_dict()


@router.get("/outcomes/export.csv")
def export_csv(db: DbSession, actor: CurrentActor, filters: DashboardFilters, settings: AppSettings) -> StreamingResponse:
    """One de-identified row per episode. Rare combinations of age band, sex, sport, level, side and
    year are generalised to "*" (headers X-Values-Generalised, X-Rows-Withheld, X-Min-Group-Size)."""
    export = analytics.export_csv(db, actor, filters, min_group=settings.export_min_group)
    return StreamingResponse(iter([export.text]), media_type="text/csv; charset=utf-8", headers=export.headers())
