"""The care pathway of an episode: where it stands, what comes next and why, stage changes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from hindfoot.deps import CurrentActor, DbSession
from hindfoot.pathway import service as pathway_service
from hindfoot.pathway.schemas import (
    ConsentCreate,
    DiagnosisConfirm,
    DocumentationCreate,
    EventRead,
    PathwayRead,
    ProcedureCreate,
    ReturnToSportCreate,
    TransitionCreate,
)

router = APIRouter(tags=["pathway"])


@router.get("/episodes/{episode_id}/pathway")
def get_pathway(episode_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> PathwayRead:
    return PathwayRead.from_view(pathway_service.get_pathway(db, actor, episode_id))


@router.post("/episodes/{episode_id}/transitions", status_code=201)
def transition(episode_id: uuid.UUID, body: TransitionCreate, db: DbSession, actor: CurrentActor) -> EventRead:
    event = pathway_service.apply_transition(
        db, actor, episode_id, body.to.value, reason=body.reason, override_reason=body.override_reason,
        expected_stage=body.expected_stage.value if body.expected_stage else None,
    )
    return EventRead.model_validate(event)


def _obs(o: Any) -> dict[str, Any]:
    return {"id": str(o.id), "code": o.code, "value_boolean": o.value_boolean, "value_string": o.value_string,
            "effective_at": o.effective_at.isoformat(), "note": o.note}


@router.post("/episodes/{episode_id}/consent", status_code=201)
def record_consent(episode_id: uuid.UUID, body: ConsentCreate, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    return _obs(pathway_service.record_consent(db, actor, episode_id, given=body.given, note=body.note))


@router.post("/episodes/{episode_id}/documentation", status_code=201)
def document(episode_id: uuid.UUID, body: DocumentationCreate, db: DbSession, actor: CurrentActor) -> dict[str, Any]:
    return _obs(pathway_service.document(db, actor, episode_id, body.kind, value=body.value, note=body.note))


@router.post("/episodes/{episode_id}/diagnosis/confirm")
def confirm_diagnosis(
    episode_id: uuid.UUID, body: DiagnosisConfirm, db: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    c = pathway_service.confirm_diagnosis(db, actor, episode_id, condition_id=body.condition_id, note=body.note)
    return {"id": str(c.id), "code": c.code, "display": c.display, "verification_status": c.verification_status,
            "note": c.note}


@router.post("/episodes/{episode_id}/procedures", status_code=201)
def record_procedure(
    episode_id: uuid.UUID, body: ProcedureCreate, db: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    p = pathway_service.record_procedure(db, actor, episode_id, body.code, performed_on=body.performed_on,
                                         note=body.note)
    return {"id": str(p.id), "code": p.code, "display": p.display, "status": p.status,
            "performed_at": p.performed_at.isoformat() if p.performed_at else None}


@router.post("/episodes/{episode_id}/return-to-sport", status_code=201)
def record_return_to_sport(
    episode_id: uuid.UUID, body: ReturnToSportCreate, db: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    return _obs(pathway_service.record_return_to_sport(db, actor, episode_id, status=body.status, on=body.on,
                                                       note=body.note))
