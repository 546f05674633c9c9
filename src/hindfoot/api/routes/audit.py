"""The audit trail, for admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from hindfoot.audit import service as audit_service
from hindfoot.auth.policy import require_admin
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.bounds import MAX_OFFSET, SaneDatetime

router = APIRouter(tags=["audit"])


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recorded_at: datetime
    user_email: str | None
    user_role: str | None
    action: str
    entity_type: str
    entity_id: str | None
    patient_id: uuid.UUID | None
    outcome: str
    outcome_label: str
    description: str
    source_ip: str | None
    path: str | None


class AuditList(BaseModel):
    total: int
    items: list[AuditEventRead]


@router.get("/audit-events")
def list_audit_events(
    db: DbSession,
    actor: CurrentActor,
    user: Annotated[str | None, Query(max_length=200)] = None,
    patient_id: uuid.UUID | None = None,
    outcome: Literal["0", "4", "8"] | None = None,
    action: Literal["C", "R", "U", "D", "E"] | None = None,
    entity_type: Annotated[str | None, Query(max_length=40)] = None,
    since: SaneDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditList:
    require_admin(actor)
    rows, total = audit_service.search(
        db,
        audit_service.AuditQuery(organization_id=actor.organization_id, user_email=user, patient_id=patient_id, outcome=outcome, action=action,
                                 entity_type=entity_type, since=since, limit=limit, offset=offset),
    )
    return AuditList(total=total, items=[AuditEventRead.model_validate(r) for r in rows])
