"""Clinic set-up: the services a clinic offers and its locations, kept by admins.

Clinicians may read both; only admins change them. Nothing is deleted: a service or location
that is no longer offered is deactivated, so past appointments still name it, while slot search
and booking stop offering it at once (they read ``services_for`` and active locations).

The first edit of an organisation that still runs on the default catalogue copies the defaults
into ``clinic_service`` rows, so every later read sees one consistent list.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin, require_staff
from hindfoot.db.models import ClinicService, Location, Organization
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.scheduling.catalogue import (
    CATALOGUE,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    PROVIDER_ROLES,
    Service,
)
from hindfoot.scheduling.clinic import clinic_for, service_from_row, services_for

__all__ = [
    "LocationFields",
    "ServiceFields",
    "create_location",
    "create_service",
    "list_locations",
    "list_services",
    "seed_default_services",
    "update_location",
    "update_service",
]

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_ROLE_CODES = tuple(r.value for r in PROVIDER_ROLES)


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class ServiceFields:
    """What an admin may set on a service; ``None`` leaves a field as it is (PATCH)."""

    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    roles: Sequence[str] | None = None
    active: bool | None = None


def default_service_rows(organization_id: uuid.UUID) -> list[ClinicService]:
    """The default catalogue as rows for one organisation (not added to any session)."""
    return [
        ClinicService(
            organization_id=organization_id, code=str(s.code), name=s.name, description=s.description,
            duration_minutes=s.duration_minutes, roles=sorted(r.value for r in s.roles), active=True,
            position=i, bookable_online=s.online,
        )
        for i, s in enumerate(CATALOGUE.values())
    ]


def seed_default_services(db: Session, organization_id: uuid.UUID) -> list[ClinicService]:
    """Copy the default catalogue into the organisation's rows unless it already has some."""
    existing = list(db.scalars(
        select(ClinicService).where(ClinicService.organization_id == organization_id)
        .order_by(ClinicService.position, ClinicService.code)
    ))
    if existing:
        return existing
    rows = default_service_rows(organization_id)
    db.add_all(rows)
    db.flush()
    return rows


def list_services(db: Session, actor: Actor) -> list[Service]:
    """Every service of the actor's clinic, inactive ones included, in booking-page order."""
    require_staff(actor)
    return list(services_for(db, actor.organization_id).values())


def _clean_name(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"enter the {field.replace('_', ' ')}", field=field)
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field)
    return value


def _check_duration(value: int) -> int:
    if not MIN_DURATION_MINUTES <= value <= MAX_DURATION_MINUTES:
        raise InvalidInput(
            f"a service lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes", field="duration_minutes"
        )
    return value


def _check_roles(roles: Sequence[str]) -> list[str]:
    unknown = [r for r in roles if r not in _ROLE_CODES]
    if unknown:
        raise InvalidInput(
            f"unknown practitioner role {unknown[0]!r} (choose from {', '.join(_ROLE_CODES)})", field="roles"
        )
    if not roles:
        raise InvalidInput("choose at least one practitioner role that provides this service", field="roles")
    return sorted(set(roles))


def _apply(row: ClinicService, fields: ServiceFields) -> list[str]:
    changed = []
    if fields.name is not None:
        row.name = _clean_name(fields.name, "name", 200)
        changed.append("name")
    if fields.description is not None:
        description = fields.description.strip()
        if len(description) > 1000:
            raise InvalidInput("at most 1000 characters", field="description")
        row.description = description
        changed.append("description")
    if fields.duration_minutes is not None:
        row.duration_minutes = _check_duration(fields.duration_minutes)
        changed.append("duration_minutes")
    if fields.roles is not None:
        row.roles = _check_roles(fields.roles)
        changed.append("roles")
    if fields.active is not None:
        row.active = fields.active
        changed.append("active")
    return changed


def create_service(db: Session, actor: Actor, code: str, fields: ServiceFields) -> Service:
    """Add a service to the clinic (name, duration and roles are required)."""
    require_admin(actor)
    org = clinic_for(db, actor)
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidInput(
            "a code is 2 to 40 lower-case letters, digits or underscores, starting with a letter", field="code"
        )
    if fields.name is None:
        raise InvalidInput("enter the name", field="name")
    if fields.duration_minutes is None:
        raise InvalidInput("enter the length in minutes", field="duration_minutes")
    if fields.roles is None:
        raise InvalidInput("choose at least one practitioner role that provides this service", field="roles")
    rows = seed_default_services(db, org.id)
    if any(r.code == code for r in rows):
        raise InvalidInput(f"a service with code {code!r} already exists", field="code")
    row = ClinicService(organization_id=org.id, code=code, description="", active=True,
                        position=max((r.position for r in rows), default=-1) + 1)
    _apply(row, ServiceFields(
        name=fields.name, description=fields.description or "", duration_minutes=fields.duration_minutes,
        roles=fields.roles, active=True if fields.active is None else fields.active,
    ))
    db.add(row)
    db.flush()
    audit.record(db, actor, audit.CREATE, "HealthcareService", row.id,
                 description=f"service {code}: {row.name}, {row.duration_minutes} min")
    return service_from_row(row)


def update_service(db: Session, actor: Actor, code: str, fields: ServiceFields) -> Service:
    """Change a service; a new duration applies to bookings made from now on."""
    require_admin(actor)
    org = clinic_for(db, actor)
    row = next((r for r in seed_default_services(db, org.id) if r.code == code), None)
    if row is None:
        raise NotFound(f"no service {code!r}")
    changed = _apply(row, fields)
    db.flush()
    if changed:
        audit.record(db, actor, audit.UPDATE, "HealthcareService", row.id,
                     description=f"service {code}: changed {', '.join(changed)}")
    return service_from_row(row)


# --------------------------------------------------------------------------- locations


@dataclass(frozen=True)
class LocationFields:
    """What an admin may set on a location; ``None`` leaves a field as it is (PATCH)."""

    name: str | None = None
    address_line: str | None = None
    city: str | None = None
    postcode: str | None = None
    phone: str | None = None
    description: str | None = None
    active: bool | None = None


_LOCATION_LIMITS = {"address_line": 300, "city": 100, "postcode": 20, "phone": 40, "description": 500}


def list_locations(db: Session, actor: Actor) -> list[Location]:
    """Every location of the actor's clinic, active first, then by name."""
    require_staff(actor)
    return list(db.scalars(
        select(Location).where(Location.organization_id == actor.organization_id)
        .order_by(Location.active.desc(), Location.name)
    ))


def _own_location(db: Session, org: Organization, location_id: uuid.UUID) -> Location:
    loc = db.get(Location, location_id)
    if loc is None or loc.organization_id != org.id:
        raise NotFound("no such location")
    return loc


def _apply_location(db: Session, org: Organization, loc: Location, fields: LocationFields) -> list[str]:
    changed = []
    if fields.name is not None:
        name = _clean_name(fields.name, "name", 200)
        clash = db.scalar(select(Location.id).where(
            Location.organization_id == org.id, func.lower(Location.name) == name.lower(), Location.id != loc.id))
        if clash is not None:
            raise InvalidInput(f"there is already a location called {name!r}", field="name")
        loc.name = name
        changed.append("name")
    for field, limit in _LOCATION_LIMITS.items():
        value = getattr(fields, field)
        if value is None:
            continue
        value = value.strip()
        if len(value) > limit:
            raise InvalidInput(f"at most {limit} characters", field=field)
        setattr(loc, field, (value or None) if field == "phone" else value)
        changed.append(field)
    if fields.active is not None:
        loc.active = fields.active
        changed.append("active")
    return changed


def create_location(db: Session, actor: Actor, fields: LocationFields) -> Location:
    require_admin(actor)
    org = clinic_for(db, actor)
    if fields.name is None:
        raise InvalidInput("enter the name", field="name")
    loc = Location(organization_id=org.id, name="", address_line="", city="", postcode="", description="",
                   active=True)
    loc.id = uuid.uuid4()  # excluded from its own duplicate-name check
    _apply_location(db, org, loc, fields)
    db.add(loc)
    db.flush()
    audit.record(db, actor, audit.CREATE, "Location", loc.id, description=f"location {loc.name}")
    return loc


def update_location(db: Session, actor: Actor, location_id: uuid.UUID, fields: LocationFields) -> Location:
    """Edit a location; deactivating it stops new bookings there and keeps its appointments."""
    require_admin(actor)
    org = clinic_for(db, actor)
    loc = _own_location(db, org, location_id)
    changed = _apply_location(db, org, loc, fields)
    db.flush()
    if changed:
        audit.record(db, actor, audit.UPDATE, "Location", loc.id,
                     description=f"location {loc.name}: changed {', '.join(changed)}")
    return loc
