"""Waitlist pages: the front desk's list (add, remove, offer free times), a patient's own entries, and the
emailed offer's page where the first to claim a freed time books it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import Location, Practitioner
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.deps import AppSettings, CurrentActor, DbSession, OptionalActor
from hindfoot.errors import Conflict, HindfootError
from hindfoot.scheduling import clinic, notices, notifications, online, waitlist
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render
from hindfoot.web.routes.patients import pick_choices

router = APIRouter()

FIELDS = ("patient_id", "service", "practitioner_id", "location_id", "earliest", "latest", "note")
LABELS = {"patient_id": "Patient", "service": "Appointment", "practitioner_id": "With", "location_id": "Where",
          "earliest": "From", "latest": "Until", "note": "Note"}
_OPTIONAL = ("patient_id", "practitioner_id", "location_id", "earliest", "latest")  # empty: not given
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class JoinForm(BaseModel):
    """The waitlist form, checked whole so every problem is named at once (the service checks again)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    patient_id: uuid.UUID | None = None
    service: str = Field(min_length=1, max_length=40)
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    earliest: date | None = None
    latest: date | None = None
    note: str = Field(default="", max_length=300)


def _page(request: Request, db: Session, actor: Actor, *, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, message: str | None = None, status_code: int = 200) -> HTMLResponse:
    form = form or {}
    org_id = actor.organization_id
    staff = actor.is_front_desk
    services = online.offered_to(db, actor, org_id)
    ctx: dict[str, Any] = {
        "entries": waitlist.list_entries(db, actor), "form": form, "errors": errors or {}, "message": message,
        "staff": staff, "services": [(code, s.name) for code, s in services.items()],
        "practitioners": [(str(p.id), f"{p.display_name} ({p.role_label})") for p in db.scalars(
            select(Practitioner).where(Practitioner.organization_id == org_id, Practitioner.active,
                                       Practitioner.role.not_in(NON_CLINICAL_ROLES))
            .order_by(Practitioner.family_name))],
        "locations": [(str(loc.id), loc.name) for loc in db.scalars(
            select(Location).where(Location.organization_id == org_id, Location.active).order_by(Location.name))],
        "choices": pick_choices(db, actor, form.get("patient_q", ""), form.get("patient_id", "")) if staff else [],
        "service_names": {code: s.name for code, s in clinic.services_for(db, org_id).items()},
    }
    return render(request, "waitlist/list.html", ctx, status_code=status_code)


@router.get("/waitlist", response_class=HTMLResponse)
def waitlist_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    form = {k: request.query_params.get(k, "")[:100] for k in ("patient_id", "patient_q", "service")}
    return _page(request, db, actor, form=form)


@router.post("/waitlist", response_class=HTMLResponse)
def join_submit(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    form = {k: raw.get(k, "").strip() for k in (*FIELDS, "patient_q")}
    if raw.get("action") == "find":  # no script: show the patients matching what was typed, keep the rest
        return _page(request, db, actor, form=form)
    try:
        data = JoinForm.model_validate({k: (v or None) if k in _OPTIONAL else v for k, v in form.items()
                                        if k in FIELDS})
    except ValidationError as exc:
        return _page(request, db, actor, form=form, errors=errors_from(exc, LABELS), status_code=422)
    try:
        entry = waitlist.join(db, actor, service=data.service, patient_id=data.patient_id,
                              practitioner_id=data.practitioner_id, location_id=data.location_id,
                              earliest=data.earliest, latest=data.latest, note=data.note)
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _page(request, db, actor, form=form, errors=errors_from(exc, LABELS), status_code=exc.status_code)
    return RedirectResponse(f"/waitlist?added={entry.id}", status_code=303)


@router.post("/waitlist/offer", response_class=HTMLResponse)
def offer_free_times_page(request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
                     tasks: BackgroundTasks) -> HTMLResponse:
    offers = waitlist.offer_open_times(db, actor)
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    n = len(offers)
    return _page(request, db, actor, message=(
        f"{n} free time{'' if n == 1 else 's'} offered by email to the waiting patients." if n
        else "No free time fits anyone waiting without an offer already standing."))


@router.post("/waitlist/{entry_id}/remove", response_class=HTMLResponse)
def remove(entry_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    try:
        entry = waitlist.remove(db, actor, entry_id)
    except Conflict as exc:
        db.rollback()
        return _page(request, db, actor, message=exc.message, status_code=409)
    return _page(request, db, actor, message="Taken off the waitlist." if entry.status == "removed" else None)


# --------------------------------------------------------------------------- the emailed offer


def _offer_page(request: Request, view: waitlist.OfferView | None, *, error: str | None = None,
                booked: Any = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "waitlist/offer.html", {"view": view, "error": error, "booked": booked},
                  status_code=status_code)


@router.get("/waitlist/offers/{token}", response_class=HTMLResponse)
def offer_page(token: Token, request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    return _offer_page(request, waitlist.offer_for_token(db, token))


@router.post("/waitlist/offers/{token}", response_class=HTMLResponse)
def claim(token: Token, request: Request, db: DbSession, actor: OptionalActor, settings: AppSettings,
          tasks: BackgroundTasks) -> HTMLResponse:
    try:
        appt = waitlist.claim(db, token)
    except Conflict as exc:
        db.rollback()
        return _offer_page(request, waitlist.offer_for_token(db, token), error=exc.message, status_code=409)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "confirmed"))
    return _offer_page(request, waitlist.offer_for_token(db, token), booked=appt)
