"""Staff pages: the day/week calendar per location or practitioner, the weekly rota with leave and
closures, the clinic's services and locations (admins edit, clinicians read), booking a series, and
no-show/cancellation counts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk, require_staff
from hindfoot.bounds import SaneDate
from hindfoot.db.models import Location, Patient, Practitioner
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import HindfootError, InvalidInput
from hindfoot.scheduling import (
    booking,
    clinic,
    clinic_setup,
    notices,
    notifications,
    series,
    waitlist,
)
from hindfoot.scheduling import calendar as diary
from hindfoot.scheduling import rota as rota_service
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.catalogue import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES, PROVIDER_ROLES
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _uuid(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("not a valid id", field=field) from None


def _people(db: DbSession, actor: Actor) -> dict[str, Any]:
    return {
        "locations": list(db.scalars(select(Location).where(
            Location.organization_id == actor.organization_id, Location.active).order_by(Location.name))),
        "practitioners": list(db.scalars(select(Practitioner).where(
            Practitioner.organization_id == actor.organization_id, Practitioner.active,
            Practitioner.role.not_in(NON_CLINICAL_ROLES)).order_by(Practitioner.family_name))),
    }


@router.get("/calendar", response_class=HTMLResponse)
def calendar(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    view: Annotated[str, Query(pattern="^(day|week)$")] = "week",
    day: SaneDate | None = None,
    location_id: Annotated[str | None, Query(max_length=40)] = None,
    practitioner_id: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    require_front_desk(actor)
    day = day or date.today()
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    days = 7 if view == "week" else 1
    loc, prac = _uuid(location_id, "location_id"), _uuid(practitioner_id, "practitioner_id")
    cal = diary.calendar_view(db, actor, first, days, location_id=loc, practitioner_id=prac)
    step = timedelta(days=days)
    query = {"view": view, "location_id": location_id or "", "practitioner_id": practitioner_id or ""}
    return render(request, "calendar/calendar.html", {
        "cal": cal, "view": view, "day": day, "location_id": loc, "practitioner_id": prac,
        "prev_day": first - step, "next_day": first + step, "query": query,
        "services": clinic.services_for(db, actor.organization_id),
        "now": datetime.now(UTC), "soon": datetime.now(UTC) + booking.ARRIVAL_WINDOW,
        "back": str(request.url.path) + ("?" + str(request.url.query) if request.url.query else ""), **_people(db, actor),
    })


@router.get("/calendar/grid", response_class=HTMLResponse)
def day_grid(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    day: Annotated[str, Query(max_length=40)] = "",
    location_id: Annotated[str, Query(max_length=40)] = "",
    service: Annotated[str, Query(max_length=40)] = "",
    move: Annotated[str, Query(max_length=40)] = "",
    moved: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The front desk's day at one location: a column per clinician, a row per time; booked visits show who
    and their state, a free time for the chosen service is one click from booking it. `move`: an appointment
    being moved; its free times (same service) become "Move here" buttons, and visits can be dragged."""
    return _grid_page(request, db, actor, day=day, location_id=location_id, service=service, move=move,
                      message="Moved; the patient is emailed the new time." if moved else None)


def _grid_page(request: Request, db: Session, actor: Actor, *, day: str, location_id: str, service: str,
               move: str = "", message: str | None = None, error: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    require_front_desk(actor)
    people = _people(db, actor)
    errors: dict[str, str] = {}
    try:
        the_day = date.fromisoformat(day) if day else date.today()
    except ValueError:
        errors["day"] = "Date: enter a real date"
        the_day = date.today()
    moving = None
    move_id = _uuid_or_none(move)
    if move_id is not None:
        moving = booking.get_appointment(db, actor, move_id)  # 404 (audited) for anyone else's
        if moving.status not in ("booked", "arrived"):
            moving = None
    locations = people["locations"]
    loc = next((x for x in locations if str(x.id) == location_id), locations[0] if locations else None)
    services = {c: svc for c, svc in clinic.services_for(db, actor.organization_id).items() if svc.active}
    code = moving.service_type if moving is not None and moving.service_type in services else (
        service if service in services else next(iter(services), ""))
    rows: list[dict[str, Any]] = []
    columns: list[Practitioner] = []
    if loc is not None and code:
        cal = diary.calendar_view(db, actor, the_day, 1, location_id=loc.id)
        _svc, free = slot_search.search_slots(db, actor, code, location_id=loc.id, start_date=the_day, days=1,
                                              limit=500)
        zone = cal.zone
        booked = [a for d in cal.days for a in d.appointments if a.status not in clinic.FREED_STATUSES]
        ids = {a.practitioner_id for a in booked} | {o.practitioner.id for o in free} | {
            w[2].id for d in cal.days for w in d.windows}
        columns = sorted((p for p in people["practitioners"] if p.id in ids), key=lambda p: p.family_name)
        cells: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
        for a in booked:
            cells[(a.start.astimezone(zone).strftime("%H:%M"), a.practitioner_id)] = {"appt": a}
        for o in free:
            cells.setdefault((o.local_start.strftime("%H:%M"), o.practitioner.id), {"free": o})
        for time_text in sorted({t for t, _ in cells}):
            rows.append({"time": time_text, "cells": [cells.get((time_text, p.id)) for p in columns]})
        patients = dict(cal.patients)
    else:
        patients = {}
    mover = db.get(Patient, moving.patient_id) if moving is not None else None
    if mover is not None:
        patients[mover.id] = mover
    form = {"day": day or the_day.isoformat(), "location_id": str(loc.id) if loc else "", "service": code}
    here = "/calendar/grid?" + urlencode({"day": the_day.isoformat(), "location_id": form["location_id"],
                                          "service": code})
    return render(request, "calendar/grid.html", {
        "day": the_day, "location": loc, "service": code, "moving": moving, "message": message, "error": error,
        "location_options": [(str(x.id), x.name) for x in locations],
        "service_options": [(c, svc.name) for c, svc in services.items()],
        "columns": columns, "rows": rows, "patients": patients, "errors": errors, "form": form,
        "now": datetime.now(UTC), "soon": datetime.now(UTC) + booking.ARRIVAL_WINDOW,
        "back": here, "here": here,
        "prev_day": the_day - timedelta(days=1), "next_day": the_day + timedelta(days=1),
        "book_url": lambda o: "/book/confirm?" + urlencode({
            "service": code, "practitioner_id": str(o.practitioner.id), "location_id": str(o.location.id),
            "start": o.slot.start.isoformat()}),
    }, status_code=422 if errors else status_code)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.post("/appointments/{appointment_id}/move", response_class=HTMLResponse)
def move_appointment(appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                     settings: AppSettings, tasks: BackgroundTasks, raw: RawForm) -> Response:
    """Move a visit from the grid (a drag, or "Move" then "Move here"): checked like a new booking; the patient
    is emailed the new time and the time it left is offered to the waitlist."""
    require_front_desk(actor)
    day, location_id, service = raw.get("day", ""), raw.get("location_id", ""), raw.get("service", "")
    try:
        start = datetime.fromisoformat(raw.get("start", ""))
        if start.tzinfo is None:
            raise ValueError("no time zone")
    except ValueError:
        return _grid_page(request, db, actor, day=day, location_id=location_id, service=service,
                          move=str(appointment_id), error="Choose a free time to move the visit to.", status_code=422)
    try:
        appt = booking.reschedule_appointment(
            db, actor, appointment_id, start=start, practitioner_id=_uuid_or_none(raw.get("practitioner_id", "")),
            location_id=_uuid_or_none(raw.get("location_id", "")), cutoff=timedelta(hours=settings.booking_cutoff_hours))
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _grid_page(request, db, actor, day=day, location_id=location_id, service=service,
                          move=str(appointment_id), error=f"Not moved: {exc.message}", status_code=exc.status_code)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "rescheduled"))
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    zone = ZoneInfo(clinic.clinic_for(db, actor).timezone)
    return RedirectResponse("/calendar/grid?" + urlencode({
        "day": appt.start.astimezone(zone).date().isoformat(), "location_id": str(appt.location_id),
        "service": appt.service_type, "moved": str(appt.id)}), status_code=303)


@router.get("/today", response_class=HTMLResponse)
def my_clinic_today(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """A clinician's landing page: today's patients in time order, who has arrived, who was triaged urgent."""
    require_front_desk(actor)
    today = date.today()
    cal = diary.calendar_view(db, actor, today, 1, practitioner_id=actor.practitioner_id)
    now = datetime.now(UTC)
    appointments = [a for d in cal.days for a in d.appointments]
    return render(request, "calendar/today.html", {
        "cal": cal, "appointments": appointments, "day": today, "now": now,
        "soon": now + booking.ARRIVAL_WINDOW, "back": "/today", "mine": actor.practitioner_id is not None,
        "services": clinic.services_for(db, actor.organization_id),
        "waiting": sum(1 for a in appointments if a.status == "arrived"),
    })


@router.get("/calendar/no-shows", response_class=HTMLResponse)
def no_shows(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    stats = diary.no_show_stats(db, actor)
    return render(request, "calendar/no_shows.html", {"stats": stats})


RULE_LABELS = {"practitioner_id": "Practitioner", "location_id": "Location", "weekday": "Day", "start": "From",
               "end": "To", "services": "Only these services"}
EXC_LABELS = {"practitioner_id": "Practitioner (leave)", "location_id": "Location (closure)", "start": "From",
              "end": "To", "reason": "Reason"}


def _rota_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
               rule_form: dict[str, Any] | None = None, rule_errors: dict[str, str] | None = None,
               exc_form: dict[str, Any] | None = None, exc_errors: dict[str, str] | None = None,
               status_code: int = 200) -> HTMLResponse:
    rules, exceptions = rota_service.list_rota(db, actor)
    people = _people(db, actor)
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


_F = Annotated[str, Form(max_length=300)]


def _time(value: str, field: str, label: str, errors: dict[str, str]) -> time | None:
    try:
        return time.fromisoformat(value)
    except ValueError:
        errors[field] = f"{label}: enter a time as HH:MM, like 09:00"
        return None


@router.post("/calendar/rota/rules", response_class=HTMLResponse)
def add_rule(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm, settings: AppSettings,
             tasks: BackgroundTasks, services: Annotated[list[str] | None, Form()] = None) -> Response:
    """A weekly opening; every problem is named by its field and what was typed is kept."""
    form: dict[str, Any] = {k: raw.get(k, "").strip() for k in ("practitioner_id", "location_id", "weekday", "start",
                                                                 "end")}
    form["services"] = services or []
    errors: dict[str, str] = {}
    prac, loc = _uuid_or_none(form["practitioner_id"]), _uuid_or_none(form["location_id"])
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
def delete_rule(rule_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    return _rota_action(request, db, actor, lambda: rota_service.delete_rule(db, actor, rule_id))


@router.post("/calendar/rota/exceptions", response_class=HTMLResponse)
def add_exception(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
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
                practitioner_id=_uuid_or_none(form["practitioner_id"]),
                location_id=_uuid_or_none(form["location_id"]), reason=form["reason"])
        except HindfootError as exc:
            if exc.status_code in (403, 404):
                raise
            db.rollback()
            errors = errors_from(exc, EXC_LABELS)
    if errors:
        return _rota_page(request, db, actor, exc_form=form, exc_errors=errors, status_code=422)
    return RedirectResponse("/calendar/rota", status_code=303)


@router.post("/calendar/rota/exceptions/{exception_id}/delete", response_class=HTMLResponse)
def delete_exception(exception_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
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


SERIES_LABELS = {"patient_id": "Patient", "service": "Service", "practitioner_id": "With", "location_id": "Where",
                 "first_date": "First date", "time": "Time", "every_days": "Every N days", "weekdays": "Weekly on",
                 "count": "How many", "until": "Until", "closed_days": "Dates they do not work there"}


def _series_page(request: Request, db: DbSession, actor: Actor, form: dict[str, str], *,
                 plan: Any = None, error: str | None = None, booked: int = 0, booked_appts: Any = (),
                 alternatives: Any = (), errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    from hindfoot.web.routes.patients import pick_choices

    return render(request, "calendar/series.html", {
        "form": form, "plan": plan, "error": error, "booked": booked, "errors": errors or {},
        "labels": SERIES_LABELS,
        "service_options": [(c, svc.name) for c, svc in clinic.services_for(db, actor.organization_id).items()
                            if svc.active],
        "weekday_names": WEEKDAYS,
        "practitioner_options": [(str(p.id), f"{p.display_name} ({p.role_label})") for p in _people(db, actor)["practitioners"]],
        "location_options": [(str(loc.id), loc.name) for loc in _people(db, actor)["locations"]],
        "choices": pick_choices(db, actor, form.get("patient_q", ""), form.get("patient_id", "")),
        "closed_options": [("keep", "Show them as clashes"), ("next_open", "Move each to the next day they work there"),
                           ("skip", "Leave those dates out")],
        "booked_appts": booked_appts, "alternatives": alternatives,
        "alternative_url": lambda o: "/book/confirm?" + urlencode({
            "service": form.get("service", ""), "practitioner_id": str(o.practitioner.id),
            "location_id": str(o.location.id), "start": o.slot.start.isoformat(), "patient_id": form.get("patient_id", "")}),
        "services": clinic.services_for(db, actor.organization_id), "weekdays": WEEKDAYS,
        **_people(db, actor),
    }, status_code=status_code)


def _email_series(db: Session, settings: Any, tasks: BackgroundTasks, appts: list[Any]) -> None:
    if appts:  # one email: every date, one calendar file
        tasks.add_task(notifications.deliver_series, settings, [notices.notice_for(db, a, "confirmed") for a in appts])


@router.get("/calendar/series", response_class=HTMLResponse)
def series_form(
    request: Request, db: DbSession, actor: CurrentActor,
    patient_id: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    require_front_desk(actor)
    form: dict[str, str] = {"service": "nurse_dressing", "every_days": "2", "time": "09:00", "count": "6",
                            "closed_days": "next_open"}
    pid = _uuid(patient_id, "patient_id")
    if pid:
        form["patient_id"] = str(pid)
        default = series.series_default(db, actor, pid)
        if default is not None:
            form.update(service=default.service, first_date=default.first.isoformat(),
                        until=default.until.isoformat(), every_days=str(default.every_days or ""), count="")
            form["note"] = f"Suggested from the recovery plan ({default.source})."
    return _series_page(request, db, actor, form)


@router.post("/calendar/series", response_class=HTMLResponse)
def series_submit(
    request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings, tasks: BackgroundTasks,
    patient_id: _F = "", service: _F = "",
    practitioner_id: _F = "", location_id: _F = "", first_date: _F = "",
    time_of_day: Annotated[str, Form(alias="time", max_length=300)] = "09:00",
    every_days: _F = "", weekdays: Annotated[list[str] | None, Form()] = None, count: _F = "", until: _F = "",
    action: _F = "check", patient_q: _F = "", closed_days: _F = "next_open",
) -> Response:
    form = {"patient_id": patient_id, "service": service, "practitioner_id": practitioner_id,
            "location_id": location_id, "first_date": first_date, "time": time_of_day, "every_days": every_days,
            "count": count, "until": until, "weekdays": ",".join(w.strip()[:2] for w in (weekdays or [])[:7]),
            "patient_q": patient_q, "closed_days": closed_days}
    if action == "find":  # no script: the patients matching what was typed, the rest kept
        return _series_page(request, db, actor, form)
    try:
        try:
            day_one = date.fromisoformat(first_date)
        except ValueError:
            raise InvalidInput("enter a real date", field="first_date") from None
        try:
            first = datetime.combine(day_one, time.fromisoformat(time_of_day))
        except ValueError:
            raise InvalidInput("enter a time as HH:MM, like 09:00", field="time") from None
        for name, value, top in (("every_days", every_days, 28), ("count", count, 366)):
            if value and (not value.isdigit() or not 1 <= int(value) <= top):
                raise InvalidInput(f"a whole number from 1 to {top}", field=name)
        days = [w.strip() for w in weekdays or []]
        if len(days) > 7 or any(d not in {"0", "1", "2", "3", "4", "5", "6"} for d in days):
            raise InvalidInput("choose days from Monday to Sunday", field="weekdays")
        if until:
            try:
                date.fromisoformat(until)
            except ValueError:
                raise InvalidInput("enter a real date", field="until") from None
        kwargs: dict[str, Any] = dict(
            patient_id=_uuid(patient_id, "patient_id"), service=service,
            practitioner_id=_uuid(practitioner_id, "practitioner_id"), location_id=_uuid(location_id, "location_id"),
            first=first, every_days=int(every_days) if every_days else None, weekdays=[int(d) for d in days],
            count=int(count) if count else None, until=date.fromisoformat(until) if until else None,
            closed_days=closed_days,
        )
        if kwargs["patient_id"] is None:
            raise InvalidInput("choose the patient", field="patient_id")
        if kwargs["practitioner_id"] is None or kwargs["location_id"] is None:
            raise InvalidInput("choose who and where", field="practitioner_id")
        if action == "book":
            appts = series.book_series(db, actor, **kwargs)
            _email_series(db, settings, tasks, appts)
            return _series_page(request, db, actor, form, booked=len(appts), booked_appts=appts)
        if action == "book_fitting":
            plan = series.plan_series(db, actor, **kwargs)
            alts = series.alternatives(db, actor, plan, service=service, practitioner_id=kwargs["practitioner_id"],
                                       location_id=kwargs["location_id"])
            appts = series.book_series(db, actor, **kwargs, fitting_only=True)
            _email_series(db, settings, tasks, appts)
            return _series_page(request, db, actor, form, booked=len(appts), booked_appts=appts, alternatives=alts)
        plan = series.plan_series(db, actor, **kwargs)
        return _series_page(request, db, actor, form, plan=plan)
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        if exc.field in SERIES_LABELS:  # named by its field, everything typed kept
            return _series_page(request, db, actor, form, errors=errors_from(exc, SERIES_LABELS),
                                status_code=exc.status_code)
        return _series_page(request, db, actor, form, error=exc.message, status_code=exc.status_code)
