"""The clinic's public face: its locations and practitioners (no patient data)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from hindfoot.auth.policy import require_staff
from hindfoot.db.models import Location, Practitioner
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.deps import DbSession, OptionalActor
from hindfoot.errors import NotAuthenticated
from hindfoot.scheduling.clinic import clinic_for

router = APIRouter(tags=["clinic"])


class LocationRead(BaseModel):
    id: uuid.UUID
    name: str
    address_line: str
    city: str
    postcode: str
    phone: str | None
    description: str = ""
    active: bool = True


class PractitionerRead(BaseModel):
    id: uuid.UUID
    name: str
    role: str
    role_label: str
    qualification: str


@router.get("/locations")
def list_locations(db: DbSession, actor: OptionalActor, include_inactive: bool = False) -> list[LocationRead]:
    """Open locations (public). Staff may add ``include_inactive=true`` to see their clinic's closed ones;
    admins create and edit them with POST/PATCH /api/locations (routes/scheduling.py)."""
    q = select(Location).where(Location.organization_id == clinic_for(db, actor).id).order_by(Location.name)
    if include_inactive:
        if actor is None:
            raise NotAuthenticated("sign in to see closed locations")
        require_staff(actor)
    else:
        q = q.where(Location.active)
    return [LocationRead(id=r.id, name=r.name, address_line=r.address_line, city=r.city, postcode=r.postcode,
                         phone=r.phone, description=r.description, active=r.active) for r in db.scalars(q)]


@router.get("/practitioners")
def list_practitioners(db: DbSession, actor: OptionalActor) -> list[PractitionerRead]:
    """The clinic's bookable practitioners: the signed-in user's clinic, else the clinic this server runs."""
    rows = db.scalars(
        select(Practitioner).where(Practitioner.organization_id == clinic_for(db, actor).id, Practitioner.active,
                                   Practitioner.role.not_in(NON_CLINICAL_ROLES))
        .order_by(Practitioner.role, Practitioner.family_name)
    ).all()
    return [PractitionerRead(id=r.id, name=r.display_name, role=r.role, role_label=r.role_label,
                             qualification=r.qualification) for r in rows]
