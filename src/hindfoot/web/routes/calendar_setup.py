"""Staff pages that set the calendar up: the weekly rota with leave and closures (`/calendar/rota`), and
the clinic's services and locations (admins edit, clinicians read). The diary itself and series
bookings are `calendar.py`."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_staff
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import HindfootError, InvalidInput
from hindfoot.scheduling import clinic, clinic_setup, waitlist
from hindfoot.scheduling import rota as rota_service
from hindfoot.scheduling.catalogue import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES, PROVIDER_ROLES
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render
from hindfoot.web.routes.calendar import WEEKDAYS, clinic_people, uuid_or_none

router = APIRouter()


RULE_LABELS = {"practitioner_id": "Practitioner", "location_id": "Location", "weekday": "Day", "start": "From",
               "end": "To", "services": "Only these services"}
EXC_LABELS = {"practitioner_id": "Practitioner (leave)", "location_id": "Location (closure)", "start": "From",
              "end": "To", "reason": "Reason"}


def _rota_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
               rule_form: dict[str, Any] | None = None, rule_errors: dict[str, str] | None = None,
               exc_form: dict[str, Any] | None = None, exc_errors: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    rules, exceptions = rota_service.list_rota(db, actor)
    people = clinic_people(db, actor)
    services = clinic.services_for(db, actor.organization_id)
    return render(request, "calendar/rota.html", {
        "rules": rules, "exceptions": exceptions, "weekdays": WEEKDAYS, "error": error,
        "services": services,
        "names": {p.id: p.display_name for p in people["practitioners"]} | {loc.id: loc.name for loc in people["locations"]},
        "rule_form": rule_form or {"start": "09:00", "end": "13:00"}, "rule_errors": rule_errors or {},
        "exc_form": exc_form or {}, "exc_errors": exc_errors or {}, "rule_labels": RULE_LABELS,
        "exc_labels": EXC_LABELS,
        "practitioner_options": [(str(p.id), p.display_name) for p in people["practitioners"]],
        "location_options": [(str(loc.id), loc.name) for loc in people["locations"]],
        "weekday_options": [(str(i), d) for i, d in enumerate(WEEKDAYS)],
        **people,
    }, status_code=status_code)


@router.get("/calendar/rota", response_class=HTMLResponse)
def rota(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    require_staff(actor)
    return _rota_page(request, db, actor)


def _rota_action(request: Request, db: Session, actor: Actor, action: Any) -> Response:
    try:
        action()
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _rota_page(request, db, actor, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/calendar/rota", status_code=303)



def _time(value: str, field: str, label: str, errors: dict[str, str]) -> time | None:
    try:
        return time.fromisoformat(value)
    except ValueError:
        errors[field] = f"{label}: enter a time as HH:MM, like 09:00"
        return None


@router.post("/calendar/rota/rules", response_class=HTMLResponse)
def add_rule_page(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm, settings: AppSettings,
             tasks: BackgroundTasks, services: Annotated[list[str] | None, Form()] = None) -> Response:
    """A weekly opening; every problem is named by its field and what was typed is kept."""
    form: dict[str, Any] = {k: raw.get(k, "").strip() for k in ("practitioner_id", "location_id", "weekday", "start",
                                                                 "end")}
    form["services"] = services or []
    errors: dict[str, str] = {}
    prac, loc = uuid_or_none(form["practitioner_id"]), uuid_or_none(form["location_id"])
    if prac is None:
        errors["practitioner_id"] = "Choose the practitioner"
    if loc is None:
        errors["location_id"] = "Choose the location"
    if form["weekday"] not in {str(i) for i in range(7)}:
        errors["weekday"] = "Choose the day"
    t1 = _time(form["start"], "start", "From", errors)
    t2 = _time(form["end"], "end", "To", errors)
    if not errors:
        try:
            rota_service.add_rule(db, actor, practitioner_id=prac, location_id=loc,  # type: ignore[arg-type]
                                  weekday=int(form["weekday"]), start=t1, end=t2,  # type: ignore[arg-type]
                                  services=form["services"])
        except HindfootError as exc:
            if exc.status_code in (403, 404):
                raise
            db.rollback()
            errors = errors_from(exc, RULE_LABELS)
    if errors:
        return _rota_page(request, db, actor, rule_form=form, rule_errors=errors, status_code=422)
    _offer_new_times(request, db, actor, settings, tasks)
    return RedirectResponse("/calendar/rota", status_code=303)


def _offer_new_times(request: Request, db: Session, actor: Actor, settings: Any, tasks: BackgroundTasks) -> None:
    """New opening hours (or leave called off): the times that opened go to the waitlist, by email."""
    if waitlist.offer_open_times(db, actor):
        tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)


@router.post("/calendar/rota/rules/{rule_id}/delete", response_class=HTMLResponse)
def delete_rule_page(rule_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    return _rota_action(request, db, actor, lambda: rota_service.delete_rule(db, actor, rule_id))


@router.post("/calendar/rota/exceptions", response_class=HTMLResponse)
def add_exception_page(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    """Leave (a practitioner) or a closure (a location); problems named by field, what was typed kept."""
    form = {k: raw.get(k, "").strip() for k in ("practitioner_id", "location_id", "start", "end", "reason")}
    errors: dict[str, str] = {}
    zone = ZoneInfo(clinic.clinic_for(db, actor).timezone)
    when: dict[str, datetime] = {}
    for name, label in (("start", "From"), ("end", "To")):
        try:
            when[name] = datetime.fromisoformat(form[name]).replace(tzinfo=zone)
        except ValueError:
            errors[name] = f"{label}: enter a date and time"
    if len(form["reason"]) > 200:
        errors["reason"] = f"Reason: at most 200 characters (you typed {len(form['reason'])})"
    if not errors:
        try:
            rota_service.add_exception(
                db, actor, start=when["start"], end=when["end"],
                practitioner_id=uuid_or_none(form["practitioner_id"]),
                location_id=uuid_or_none(form["location_id"]), reason=form["reason"])
        except HindfootError as exc:
            if exc.status_code in (403, 404):
                raise
            db.rollback()
            errors = errors_from(exc, EXC_LABELS)
    if errors:
        return _rota_page(request, db, actor, exc_form=form, exc_errors=errors, status_code=422)
    return RedirectResponse("/calendar/rota", status_code=303)


@router.post("/calendar/rota/exceptions/{exception_id}/delete", response_class=HTMLResponse)
def delete_exception_page(exception_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                     settings: AppSettings, tasks: BackgroundTasks) -> Response:
    def act() -> None:
        rota_service.delete_exception(db, actor, exception_id)
        _offer_new_times(request, db, actor, settings, tasks)  # leave called off: those days open again

    return _rota_action(request, db, actor, act)


# --------------------------------------------------------------------------- services and locations

_ROLE_LABELS = {r.value: r.value.replace("_", " ").capitalize() for r in PROVIDER_ROLES}


def _setup_page(request: Request, db: DbSession, actor: Actor, template: str, *, error: str | None = None,
                error_field: str | None = None, error_key: str | None = None, form: dict[str, Any] | None = None,
                status_code: int = 200) -> HTMLResponse:
    return render(request, f"calendar/{template}", {
        "services": clinic_setup.list_services(db, actor), "locations": clinic_setup.list_locations(db, actor),
        "roles": _ROLE_LABELS, "min_duration": MIN_DURATION_MINUTES, "max_duration": MAX_DURATION_MINUTES,
        "error": error, "error_field": error_field, "error_key": error_key, "form": form or {},
        "errors": {(error_field or "form"): error} if error else {},
        "saved": request.query_params.get("saved", ""),
    }, status_code=status_code)


def _setup_action(request: Request, db: DbSession, actor: Actor, template: str, key: str, form: dict[str, Any],
                  action: Any, done: str) -> Response:
    """Run an admin change; a refusal re-renders the page with the reason next to the form it came from."""
    try:
        saved = action()
    except HindfootError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        db.rollback()
        return _setup_page(request, db, actor, template, error=exc.message, error_field=exc.field, error_key=key,
                           form=form, status_code=exc.status_code)  # the message shows by its field
    return RedirectResponse(f"{done}?saved={saved}", status_code=303)


def _minutes(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("enter the length as a whole number of minutes", field="duration_minutes") from None


@router.get("/calendar/services", response_class=HTMLResponse)
def services_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    require_staff(actor)
    return _setup_page(request, db, actor, "services.html")


_Roles = Annotated[list[str] | None, Form()]


@router.post("/calendar/services", response_class=HTMLResponse)
def add_service(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm, roles: _Roles = None) -> Response:
    code, name, description, duration_minutes = (raw.get(k, "").strip() for k in (
        "code", "name", "description", "duration_minutes"))
    form = {"code": code, "name": name, "description": description, "duration_minutes": duration_minutes,
            "roles": roles or []}

    def act() -> str:
        fields = clinic_setup.ServiceFields(name=name, description=description,
                                            duration_minutes=_minutes(duration_minutes), roles=roles or [])
        return clinic_setup.create_service(db, actor, code, fields).code

    return _setup_action(request, db, actor, "services.html", "new", form, act, "/calendar/services")


@router.post("/calendar/services/{code}", response_class=HTMLResponse)
def edit_service(
    code: Annotated[str, Path(max_length=40)], request: Request, db: DbSession, actor: CurrentActor, raw: RawForm,
    roles: _Roles = None,
) -> Response:
    name, description, duration_minutes, active, online, online_shown = (raw.get(k, "").strip() for k in (
        "name", "description", "duration_minutes", "active", "online", "online_shown"))
    form = {"name": name, "description": description, "duration_minutes": duration_minutes,
            "roles": roles or [], "active": bool(active), "online": bool(online)}

    def act() -> str:
        fields = clinic_setup.ServiceFields(name=name, description=description,
                                            duration_minutes=_minutes(duration_minutes), roles=roles or [],
                                            active=bool(active),
                                            online=bool(online) if online_shown else None)  # older forms: unchanged
        return clinic_setup.update_service(db, actor, code, fields).code

    return _setup_action(request, db, actor, "services.html", code, form, act, "/calendar/services")


@router.get("/calendar/locations", response_class=HTMLResponse)
def locations_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    require_staff(actor)
    return _setup_page(request, db, actor, "locations.html")


_LOCATION_KEYS = ("name", "address_line", "city", "postcode", "phone", "description")


def _location_fields(name: str, address_line: str, city: str, postcode: str, phone: str, description: str,
                     active: bool | None) -> clinic_setup.LocationFields:
    return clinic_setup.LocationFields(name=name, address_line=address_line, city=city, postcode=postcode,
                                       phone=phone, description=description, active=active)


@router.post("/calendar/locations", response_class=HTMLResponse)
def add_location(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    name, address_line, city, postcode, phone, description = (raw.get(k, "").strip() for k in _LOCATION_KEYS)
    form = {"name": name, "address_line": address_line, "city": city, "postcode": postcode, "phone": phone,
            "description": description}

    def act() -> str:
        fields = _location_fields(name, address_line, city, postcode, phone, description, True)
        return str(clinic_setup.create_location(db, actor, fields).id)

    return _setup_action(request, db, actor, "locations.html", "new", form, act, "/calendar/locations")


@router.post("/calendar/locations/{location_id}", response_class=HTMLResponse)
def edit_location(
    location_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm,
) -> Response:
    name, address_line, city, postcode, phone, description = (raw.get(k, "").strip() for k in _LOCATION_KEYS)
    active = raw.get("active", "")
    form = {"name": name, "address_line": address_line, "city": city, "postcode": postcode, "phone": phone,
            "description": description, "active": bool(active)}

    def act() -> str:
        fields = _location_fields(name, address_line, city, postcode, phone, description, bool(active))
        return str(clinic_setup.update_location(db, actor, location_id, fields).id)

    return _setup_action(request, db, actor, "locations.html", str(location_id), form, act, "/calendar/locations")

