from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hindfoot.clinic.guide import patient_guide, sources
from hindfoot.db.models import Location, Organization
from hindfoot.deps import DbSession, OptionalActor
from hindfoot.patients.codes import condition_names
from hindfoot.web.rendering import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    org = db.scalar(select(Organization).order_by(Organization.created_at, Organization.id).limit(1)) \
        if actor is None else db.get(Organization, actor.organization_id)
    locations = [] if org is None else db.scalars(
        select(Location).where(Location.organization_id == org.id, Location.active).order_by(Location.name)).all()
    return render(request, "home.html", {
        "guide": patient_guide(),
        "locations": locations,
        "conditions": list(condition_names().values()),
    })


@router.get("/sources", response_class=HTMLResponse)
def source_list(request: Request, actor: OptionalActor) -> HTMLResponse:
    return render(request, "sources.html", {"sources": sources()})
