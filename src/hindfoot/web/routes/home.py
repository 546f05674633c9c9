from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hindfoot.clinic.guide import patient_guide, sources
from hindfoot.db.models import Location
from hindfoot.deps import DbSession, OptionalActor
from hindfoot.patients.codes import condition_names
from hindfoot.web.rendering import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    locations = db.scalars(select(Location).where(Location.active).order_by(Location.name)).all()
    return render(request, "home.html", {
        "guide": patient_guide(),
        "locations": locations,
        "conditions": list(condition_names().values()),
    })


@router.get("/sources", response_class=HTMLResponse)
def source_list(request: Request, actor: OptionalActor) -> HTMLResponse:
    """The bibliography; coding references (SNOMED CT, ICD-10, CPT) only for staff."""
    staff = actor is not None and actor.is_staff
    return render(request, "sources.html", {"sources": {
        key: src for key, src in sources().items() if staff or src.get("audience", "all") == "all"}})
