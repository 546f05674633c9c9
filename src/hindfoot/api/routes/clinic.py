"""The clinic's public face: its locations and practitioners (no patient data)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from hindfoot.db.models import Location, Practitioner
from hindfoot.deps import DbSession

router = APIRouter(tags=["clinic"])


class LocationRead(BaseModel):
    id: uuid.UUID
    name: str
    address_line: str
    city: str
    postcode: str
    phone: str | None


class PractitionerRead(BaseModel):
    id: uuid.UUID
    name: str
    role: str
    role_label: str
    qualification: str


@router.get("/locations")
def list_locations(db: DbSession) -> list[LocationRead]:
    rows = db.scalars(select(Location).where(Location.active).order_by(Location.name)).all()
    return [LocationRead(id=r.id, name=r.name, address_line=r.address_line, city=r.city,
                         postcode=r.postcode, phone=r.phone) for r in rows]


@router.get("/practitioners")
def list_practitioners(db: DbSession) -> list[PractitionerRead]:
    rows = db.scalars(
        select(Practitioner).where(Practitioner.active, Practitioner.role != "admin")
        .order_by(Practitioner.role, Practitioner.family_name)
    ).all()
    return [PractitionerRead(id=r.id, name=r.display_name, role=r.role, role_label=r.role_label,
                             qualification=r.qualification) for r in rows]
