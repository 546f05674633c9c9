"""The rota: weekly openings (availability rules) and exceptions (leave, closures), admin-edited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_manage, require_staff
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    AvailabilityException,
    AvailabilityRule,
    Location,
    Practitioner,
    Schedule,
)
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.scheduling import guards
from hindfoot.scheduling.catalogue import get_service
from hindfoot.scheduling.clinic import clinic_for, services_for


def add_rule(
    db: Session,
    actor: Actor,
    *,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    weekday: int,
    start: time,
    end: time,
    services: Sequence[str] = (),
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> AvailabilityRule:
    """A weekly opening for a practitioner at a location (creates their schedule there if new)."""
    require_manage(actor)
    org = clinic_for(db, actor)
    practitioner = guards.bookable_practitioner(db, org, practitioner_id)
    location = guards.active_location(db, org, location_id)
    if not 0 <= weekday <= 6:
        raise InvalidInput("weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
    if start >= end:
        raise InvalidInput("the opening must end after it starts", field="end")
    if valid_from and valid_to and valid_from > valid_to:
        raise InvalidInput("valid_to is before valid_from", field="valid_to")
    catalogue = services_for(db, org.id)
    for code in services:
        svc = get_service(code, catalogue)
        if not svc.provided_by(practitioner.role):
            raise InvalidInput(f"{svc.name} is not provided by a {practitioner.role_label.lower()}", field="services")
    schedule = db.scalar(select(Schedule).where(
        Schedule.practitioner_id == practitioner.id, Schedule.location_id == location.id))
    if schedule is None:
        schedule = Schedule(practitioner_id=practitioner.id, location_id=location.id,
                            comment=f"{practitioner.display_name} at {location.name}")
        db.add(schedule)
        db.flush()
    schedule.active = True
    rule = AvailabilityRule(schedule_id=schedule.id, weekday=weekday, start_time=start, end_time=end,
                            services=list(services), valid_from=valid_from, valid_to=valid_to)
    db.add(rule)
    db.flush()
    audit.record(db, actor, audit.CREATE, "AvailabilityRule", rule.id,
                 description=f"{practitioner.display_name} at {location.name} weekday {weekday} {start}-{end}")
    return rule


def delete_rule(db: Session, actor: Actor, rule_id: uuid.UUID) -> None:
    require_manage(actor)
    row = db.execute(
        select(AvailabilityRule, Practitioner.organization_id)
        .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
        .join(Practitioner, Schedule.practitioner_id == Practitioner.id)
        .where(AvailabilityRule.id == rule_id)
    ).first()
    if row is None or row[1] != actor.organization_id:
        raise NotFound("no such availability rule")
    db.delete(row[0])
    db.flush()
    audit.record(db, actor, audit.DELETE, "AvailabilityRule", rule_id)


def list_rota(db: Session, actor: Actor) -> tuple[list[tuple[AvailabilityRule, Practitioner, Location]], list[AvailabilityException]]:
    require_staff(actor)
    rules = [
        (r, p, loc) for r, p, loc in db.execute(
            select(AvailabilityRule, Practitioner, Location)
            .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
            .join(Practitioner, Schedule.practitioner_id == Practitioner.id)
            .join(Location, Schedule.location_id == Location.id)
            .where(Practitioner.organization_id == actor.organization_id)
            .order_by(Practitioner.family_name, AvailabilityRule.weekday, AvailabilityRule.start_time)
        ).all()
    ]
    org_pracs = select(Practitioner.id).where(Practitioner.organization_id == actor.organization_id)
    org_locs = select(Location.id).where(Location.organization_id == actor.organization_id)
    exceptions = list(db.scalars(
        select(AvailabilityException)
        .where(or_(AvailabilityException.practitioner_id.in_(org_pracs), AvailabilityException.location_id.in_(org_locs)),
               AvailabilityException.end > utcnow() - timedelta(days=1))
        .order_by(AvailabilityException.start)
    ))
    return rules, exceptions


def add_exception(
    db: Session,
    actor: Actor,
    *,
    start: datetime,
    end: datetime,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    reason: str = "",
) -> AvailabilityException:
    """Leave (a practitioner), a closure (a location), or a practitioner away from one location."""
    require_manage(actor)
    org = clinic_for(db, actor)
    if practitioner_id is None and location_id is None:
        raise InvalidInput("choose a practitioner (leave) or a location (closure)", field="practitioner_id")
    if practitioner_id is not None:
        guards.bookable_practitioner(db, org, practitioner_id)
    if location_id is not None:
        guards.active_location(db, org, location_id)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInput("include a time zone", field=name)
    if end <= start:
        raise InvalidInput("the exception must end after it starts", field="end")
    exc = AvailabilityException(practitioner_id=practitioner_id, location_id=location_id, start=start, end=end,
                                reason=reason[:200])
    db.add(exc)
    db.flush()
    audit.record(db, actor, audit.CREATE, "AvailabilityException", exc.id, description=reason[:200])
    return exc


def delete_exception(db: Session, actor: Actor, exception_id: uuid.UUID) -> None:
    require_manage(actor)
    exc = db.get(AvailabilityException, exception_id)
    if exc is None:
        raise NotFound("no such exception")
    owners = []
    if exc.practitioner_id:
        owners.append(db.get(Practitioner, exc.practitioner_id))
    if exc.location_id:
        owners.append(db.get(Location, exc.location_id))  # type: ignore[arg-type]
    if not owners or any(o is None or o.organization_id != actor.organization_id for o in owners):
        raise NotFound("no such exception")
    db.delete(exc)
    db.flush()
    audit.record(db, actor, audit.DELETE, "AvailabilityException", exception_id)
