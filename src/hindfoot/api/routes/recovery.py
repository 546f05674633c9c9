"""Recovery and conservative care plans: generate, read, progress, calendar, behind plan."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from hindfoot.deps import CurrentActor, DbSession
from hindfoot.recovery import service as recovery_service
from hindfoot.recovery.schemas import (
    BehindItem,
    CarePlanCreate,
    CarePlanRead,
    CriterionUpdate,
    MilestoneReached,
)

router = APIRouter(tags=["recovery"])
Code = Annotated[str, Path(max_length=80)]


@router.post("/episodes/{episode_id}/care-plans", status_code=201)
def generate_plan(episode_id: uuid.UUID, body: CarePlanCreate, db: DbSession, actor: CurrentActor) -> CarePlanRead:
    cp = recovery_service.generate_plan(db, actor, episode_id, procedure=body.procedure, start=body.start,
                                        sport=body.sport, level=body.level)
    return CarePlanRead.from_view(recovery_service.view(cp, date.today()))


@router.get("/care-plans/{plan_id}")
def get_plan(plan_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> CarePlanRead:
    return CarePlanRead.from_view(recovery_service.get_plan(db, actor, plan_id))


@router.post("/care-plans/{plan_id}/milestones/{code}/reached")
def mark_reached(plan_id: uuid.UUID, code: Code, body: MilestoneReached, db: DbSession,
                 actor: CurrentActor) -> CarePlanRead:
    return CarePlanRead.from_view(
        recovery_service.mark_reached(db, actor, plan_id, code, body.date or date.today())
    )


@router.delete("/care-plans/{plan_id}/milestones/{code}/reached")
def unmark_reached(plan_id: uuid.UUID, code: Code, db: DbSession, actor: CurrentActor) -> CarePlanRead:
    return CarePlanRead.from_view(recovery_service.mark_reached(db, actor, plan_id, code, None))


@router.put("/care-plans/{plan_id}/milestones/{code}/criteria/{index}")
def set_criterion(plan_id: uuid.UUID, code: Code, index: Annotated[int, Path(ge=0, le=100)],
                  body: CriterionUpdate, db: DbSession, actor: CurrentActor) -> CarePlanRead:
    return CarePlanRead.from_view(recovery_service.set_criterion(db, actor, plan_id, code, index, body.met))


@router.get("/care-plans/{plan_id}/calendar.ics")
def calendar(plan_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> Response:
    data, filename = recovery_service.calendar(db, actor, plan_id)
    return Response(data, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/recovery/behind")
def behind(db: DbSession, actor: CurrentActor) -> list[BehindItem]:
    return [BehindItem.from_row(r) for r in recovery_service.behind_plan(db, actor)]
