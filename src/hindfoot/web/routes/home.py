from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hindfoot.clinic.conditions import condition_page, condition_pages
from hindfoot.clinic.guide import patient_guide, sources
from hindfoot.db.models import Location, Organization
from hindfoot.deps import DbSession, OptionalActor
from hindfoot.errors import NotFound
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
        "conditions": condition_pages(),
    })


@router.get("/sources", response_class=HTMLResponse)
def source_list(request: Request, actor: OptionalActor) -> HTMLResponse:
    """The bibliography; coding references (SNOMED CT, ICD-10, CPT) only for staff."""
    staff = actor is not None and actor.is_staff
    return render(request, "sources.html", {"sources": {
        key: src for key, src in sources().items() if staff or src.get("audience", "all") == "all"}})


@router.get("/conditions", response_class=HTMLResponse)
def conditions(request: Request) -> HTMLResponse:
    pages = condition_pages()
    return render(request, "conditions/list.html", {
        "treated": [p for p in pages if p.treated_here], "others": [p for p in pages if not p.treated_here]})


@router.get("/conditions/{slug}", response_class=HTMLResponse)
def condition(slug: Annotated[str, Path(max_length=80)], request: Request) -> HTMLResponse:
    page = condition_page(slug)
    if page is None:
        raise NotFound("no such condition page")
    return render(request, "conditions/page.html", {"c": page})
