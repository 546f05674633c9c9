"""Record and query AuditEvents.

Successful reads and writes are recorded in the request's own unit of work, so a write and its
audit entry commit or roll back together. Denials are recorded in a separate transaction that
commits at once: the request itself fails, but the attempt must stay on the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.auth.actor import Actor
from hindfoot.db.models import AuditEvent

READ, CREATE, UPDATE, DELETE, EXECUTE = "R", "C", "U", "D", "E"
SUCCESS, DENIED, ERROR = "0", "4", "8"


def record(
    db: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    *,
    patient_id: uuid.UUID | None = None,
    outcome: str = SUCCESS,
    description: str = "",
) -> AuditEvent:
    event = AuditEvent(
        user_id=actor.user_id if actor else None,
        user_email=actor.email if actor else None,
        user_role=actor.role if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        patient_id=patient_id,
        outcome=outcome,
        description=description[:500],
        source_ip=actor.source_ip if actor else None,
        path=actor.path[:300] if actor and actor.path else None,
    )
    db.add(event)
    return event


def record_denial(
    factory: sessionmaker[Session],
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    *,
    patient_id: uuid.UUID | None = None,
    description: str = "",
) -> None:
    with factory() as db:
        record(db, actor, action, entity_type, entity_id, patient_id=patient_id, outcome=DENIED,
               description=description)
        db.commit()


@dataclass(frozen=True)
class AuditQuery:
    user_email: str | None = None
    patient_id: uuid.UUID | None = None
    outcome: str | None = None
    action: str | None = None
    entity_type: str | None = None  # e.g. Patient, EpisodeOfCare, UserAccount (sign-ins), Registry
    since: datetime | None = None
    limit: int = 100
    offset: int = 0


def entity_types(db: Session) -> list[str]:
    """The kinds of record the trail holds, for a filter."""
    return list(db.scalars(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)))


def search(db: Session, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    stmt = select(AuditEvent)
    if query.user_email:
        stmt = stmt.where(func.lower(AuditEvent.user_email).contains(query.user_email.lower()))
    if query.patient_id:
        stmt = stmt.where(AuditEvent.patient_id == query.patient_id)
    if query.outcome:
        stmt = stmt.where(AuditEvent.outcome == query.outcome)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == query.entity_type)
    if query.since:
        stmt = stmt.where(AuditEvent.recorded_at >= query.since)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(AuditEvent.recorded_at.desc(), AuditEvent.id).limit(query.limit).offset(query.offset)
    ).all()
    return list(rows), total
