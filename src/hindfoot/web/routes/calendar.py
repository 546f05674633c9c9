"""Staff pages: the day/week calendar per location or practitioner, moving a visit, my clinic today,
booking a series, and no-show/cancellation counts. The rota and the clinic's services and locations
are `calendar_setup.py`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.bounds import SaneDate
from hindfoot.db.models import Location, Patient, Practitioner
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import HindfootError, InvalidInput
from hindfoot.scheduling import (
    booking,
    clinic,
    notices,
    notifications,
    series,
    waitlist,
)
from hindfoot.scheduling import calendar as diary
from hindfoot.scheduling import search as slot_search
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_F = Annotated[str, Form(max_length=300)]


def _uuid(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("not a valid id", field=field) from None


def clinic_people(db: DbSession, actor: Actor) -> dict[str, Any]:
    return {
        "locations": list(db.scalars(select(Location).where(
            Location.organization_id == actor.organization_id, Location.active).order_by(Location.name))),
        "practitioners": list(db.scalars(select(Practitioner).where(
            Practitioner.organization_id == actor.organization_id, Practitioner.active,
            Practitioner.role.not_in(NON_CLINICAL_ROLES)).order_by(Practitioner.family_name))),
    }


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
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
        "back": str(request.url.path) + ("?" + str(request.url.query) if request.url.query else ""), **clinic_people(db, actor),
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
    people = clinic_people(db, actor)
    errors: dict[str, str] = {}
    try:
        the_day = date.fromisoformat(day) if day else date.today()
    except ValueError:
        errors["day"] = "Date: enter a real date"
        the_day = date.today()
    moving = None
    move_id = uuid_or_none(move)
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


def uuid_or_none(value: str) -> uuid.UUID | None:
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
            db, actor, appointment_id, start=start, practitioner_id=uuid_or_none(raw.get("practitioner_id", "")),
            location_id=uuid_or_none(raw.get("location_id", "")), cutoff=timedelta(hours=settings.booking_cutoff_hours))
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
def no_shows_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    stats = diary.no_show_stats(db, actor)
    return render(request, "calendar/no_shows.html", {"stats": stats})



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
        "practitioner_options": [(str(p.id), f"{p.display_name} ({p.role_label})") for p in clinic_people(db, actor)["practitioners"]],
        "location_options": [(str(loc.id), loc.name) for loc in clinic_people(db, actor)["locations"]],
        "choices": pick_choices(db, actor, form.get("patient_q", ""), form.get("patient_id", "")),
        "closed_options": [("keep", "Show them as clashes"), ("next_open", "Move each to the next day they work there"),
                           ("skip", "Leave those dates out")],
        "booked_appts": booked_appts, "alternatives": alternatives,
        "alternative_url": lambda o: "/book/confirm?" + urlencode({
            "service": form.get("service", ""), "practitioner_id": str(o.practitioner.id),
            "location_id": str(o.location.id), "start": o.slot.start.isoformat(), "patient_id": form.get("patient_id", "")}),
        "services": clinic.services_for(db, actor.organization_id), "weekdays": WEEKDAYS,
        **clinic_people(db, actor),
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
