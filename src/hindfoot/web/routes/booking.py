"""Booking pages: choose a visit and a time, confirm (creating an account if new), then manage it.

Plain GET forms and links, so the pages work without JavaScript. Refusals re-render the form
with the reason (the slot just went, the time is past the online cut-off...).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from hindfoot.auth import verify
from hindfoot.auth.actor import Actor
from hindfoot.notifications.email import EmailError, OutgoingEmail, send
from hindfoot.db.models import Appointment, Location, Patient, Practitioner
from hindfoot.db.models.patient import Sex
from hindfoot.deps import AppSettings, CurrentActor, DbSession, OptionalActor, client_ip, start_session
from hindfoot.errors import HindfootError, InvalidInput, NotFound
from hindfoot.scheduling import booking, clinic, notices, notifications, registration
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.catalogue import Service, ServiceCode
from hindfoot.settings import Settings
from hindfoot.web.rendering import render

router = APIRouter()
logger = logging.getLogger(__name__)


def _uuid(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("not a valid id", field=field) from None


def _service_code(value: str | None, services: Mapping[str, Service]) -> str:
    """The chosen service when the clinic offers it; else a new consultation (or its first service)."""
    offered = [code for code, s in services.items() if s.active]
    if value in offered:
        return value  # type: ignore[return-value]
    if not offered:
        raise NotFound("no appointments can be booked online at the moment: please phone the clinic")
    default = ServiceCode.new_consultation.value
    return default if default in offered else offered[0]


def _services(db: DbSession, actor: Actor | None) -> Mapping[str, Service]:
    return clinic.services_for(db, clinic.clinic_for(db, actor).id)


def _cutoff(settings: Settings) -> timedelta:
    return timedelta(hours=settings.booking_cutoff_hours)


def _choices(db: DbSession, actor: Actor | None, svc: Service) -> tuple[list[Location], list[Practitioner]]:
    org = clinic.clinic_for(db, actor)
    locations = list(db.scalars(
        select(Location).where(Location.organization_id == org.id, Location.active).order_by(Location.name)))
    practitioners = [
        p for p in db.scalars(select(Practitioner).where(
            Practitioner.organization_id == org.id, Practitioner.active).order_by(Practitioner.family_name))
        if svc.provided_by(p.role)
    ]
    return locations, practitioners


@router.get("/book", response_class=HTMLResponse)
def book(
    request: Request,
    db: DbSession,
    actor: OptionalActor,
    service: Annotated[str | None, Query(max_length=40)] = None,
    reason: Annotated[str | None, Query(max_length=300)] = None,
    assessment: Annotated[str | None, Query(max_length=80)] = None,
    location_id: Annotated[str | None, Query(max_length=40)] = None,
    practitioner_id: Annotated[str | None, Query(max_length=40)] = None,
    start_date: date | None = None,
    reschedule: Annotated[str | None, Query(max_length=40)] = None,
    patient_id: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    # The symptom check links here with ?reason=<service code or words>; either way we keep it.
    services = _services(db, actor)
    code = _service_code(service or (reason if reason in services else None), services)
    reason_text = "" if reason in services else (reason or "")
    loc = _uuid(location_id, "location_id")
    prac = _uuid(practitioner_id, "practitioner_id")
    locations, practitioners = _choices(db, actor, services[code])
    if loc and loc not in {location.id for location in locations}:
        loc = None  # closed since the link was made: search every open location
    if prac and prac not in {p.id for p in practitioners}:
        prac = None  # the chosen clinician does not provide the newly chosen service
    svc, options = slot_search.search_slots(
        db, actor, code, location_id=loc, practitioner_id=prac, start_date=start_date,
        days=14 if start_date else None, limit=40,
    )
    days: dict[date, list[slot_search.SlotOption]] = {}
    for o in options:
        days.setdefault(o.local_start.date(), []).append(o)
    carry = {k: v for k, v in {"reason": reason_text, "assessment": assessment or "", "reschedule": reschedule or "",
                               "patient_id": patient_id or ""}.items() if v}
    return render(request, "booking/book.html", {
        "services": [s for s in services.values() if s.active], "service": svc, "locations": locations,
        "practitioners": practitioners, "location_id": loc, "practitioner_id": prac, "days": days,
        "start_date": start_date, "reason": reason_text, "assessment": assessment or "", "carry": carry,
        "reschedule": reschedule or "", "patient_id": patient_id or "",
        "confirm_url": lambda o: "/book/confirm?" + urlencode({
            "service": svc.code, "practitioner_id": str(o.practitioner.id), "location_id": str(o.location.id),
            "start": o.slot.start.isoformat(), **carry}),
    })


def _parse_start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("not a valid time", field="start") from None
    if start.tzinfo is None:
        raise InvalidInput("the time needs a time zone", field="start")
    return start


def _confirm_context(db: DbSession, actor: Actor | None, params: dict[str, str]) -> dict[str, Any]:
    services = _services(db, actor)
    code = _service_code(params.get("service"), services)
    org = clinic.clinic_for(db, actor)
    prac_id, loc_id = _uuid(params.get("practitioner_id"), "practitioner_id"), _uuid(params.get("location_id"), "location_id")
    prac = db.get(Practitioner, prac_id) if prac_id else None
    loc = db.get(Location, loc_id) if loc_id else None
    if prac is None or loc is None or prac.organization_id != org.id or loc.organization_id != org.id:
        raise InvalidInput("that time is no longer offered: choose another", field="start")
    start = _parse_start(params.get("start", ""))
    svc = services[code]
    patients: list[Patient] = []
    patient = None
    if actor is not None and actor.is_staff:
        pid = _uuid(params.get("patient_id"), "patient_id")
        if pid:
            patient = db.get(Patient, pid)
            if patient is None or patient.organization_id != actor.organization_id:
                raise InvalidInput("no such patient", field="patient_id")
        else:
            patients = list(db.scalars(select(Patient).where(Patient.organization_id == actor.organization_id)
                                       .order_by(Patient.family_name, Patient.given_name).limit(500)))
    return {
        "service": svc, "practitioner": prac, "location": loc, "start": start,
        "end": start + timedelta(minutes=svc.duration_minutes), "zone": org.timezone, "params": params,
        "patient": patient, "patients": patients, "sexes": [s.value for s in Sex],
        "reschedule": params.get("reschedule", ""),
    }


_CONFIRM_KEYS = ("service", "practitioner_id", "location_id", "start", "reason", "assessment", "reschedule",
                 "patient_id")


@router.get("/book/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    params = {k: request.query_params.get(k, "")[:300] for k in _CONFIRM_KEYS}
    ctx = _confirm_context(db, actor, params)
    ctx.update(error=None, form={}, next_url=str(request.url.path) + "?" + str(request.url.query))
    return render(request, "booking/confirm.html", ctx)


_F = Annotated[str, Form(max_length=300)]


@router.post("/book/confirm", response_class=HTMLResponse)
def confirm_submit(
    request: Request, db: DbSession, actor: OptionalActor, settings: AppSettings, tasks: BackgroundTasks,
    service: _F = "", practitioner_id: _F = "", location_id: _F = "", start: _F = "", reason: _F = "",
    assessment: _F = "", reschedule: _F = "", patient_id: _F = "", patient_choice: _F = "",
    given_name: _F = "", family_name: _F = "", birth_date: _F = "", sex: _F = "", email: _F = "",
    password: Annotated[str, Form(max_length=500)] = "", phone: _F = "",
) -> Response:
    form = {"given_name": given_name, "family_name": family_name, "birth_date": birth_date, "sex": sex,
            "email": email, "password": password, "phone": phone, "patient_choice": patient_choice}
    params = {"service": service, "practitioner_id": practitioner_id, "location_id": location_id, "start": start,
              "reason": reason, "assessment": assessment, "reschedule": reschedule, "patient_id": patient_id}
    try:
        ctx = _confirm_context(db, actor, params)
        new_account = None
        who = actor
        if who is None:
            try:
                birth = date.fromisoformat(form.get("birth_date", ""))
            except ValueError:
                raise InvalidInput("enter your date of birth", field="birth_date") from None
            fields = {"given_name": form.get("given_name", ""), "family_name": form.get("family_name", ""),
                      "birth_date": birth, "sex": form.get("sex", ""), "email": form.get("email", ""),
                      "password": form.get("password", "")}
            registration.check_fields(**fields)
            if registration.existing_account(db, fields["email"]) is not None:
                # The same checks and answer as a new patient's booking; the account's owner hears of it.
                registration.check_booking_for_existing(
                    db, service=ctx["service"].code, practitioner_id=ctx["practitioner"].id,
                    location_id=ctx["location"].id, start=ctx["start"], password=fields["password"])
                when = f"{ctx['start']:%d %b %Y %H:%M} UTC"
                tasks.add_task(_send_quietly, settings, verify.existing_account_mail(
                    settings, fields["email"].strip().lower(), clinic=clinic.clinic_for(db, None).name, when=when))
                return _check_your_email(fields["email"])
            new_account = registration.register_patient(db, **fields, phone=form.get("phone") or None, active=False)
            who = Actor.from_account(new_account, source_ip=client_ip(request), path=request.url.path)
        reason = params["reason"] or (f"symptom check {params['assessment']}" if params["assessment"] else "")
        if params["reschedule"]:
            appt = booking.reschedule_appointment(
                db, who, _uuid(params["reschedule"], "reschedule"), start=ctx["start"],  # type: ignore[arg-type]
                practitioner_id=ctx["practitioner"].id, location_id=ctx["location"].id, cutoff=_cutoff(settings))
            kind = "rescheduled"
        else:
            appt = booking.book_appointment(
                db, who, service=ctx["service"].code, practitioner_id=ctx["practitioner"].id,
                location_id=ctx["location"].id, start=ctx["start"], reason=reason,
                patient_id=_uuid(params["patient_id"] or form.get("patient_choice"), "patient_id")
                if who.is_staff else None,
            )
            kind = "confirmed"
    except HindfootError as exc:
        db.rollback()
        try:
            ctx = _confirm_context(db, actor, params)
        except HindfootError:
            return RedirectResponse("/book?" + urlencode({"service": params["service"]}), status_code=303)
        form.pop("password")
        ctx.update(error=exc.message, error_field=exc.field, form=form,
                   next_url="/book/confirm?" + urlencode({k: v for k, v in params.items() if v}))
        return render(request, "booking/confirm.html", ctx, status_code=exc.status_code)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, kind))
    if new_account is not None:
        # Signed in only once the email is confirmed: the answer is the same for an email with an account.
        tasks.add_task(_send_quietly, settings, verify.confirmation_mail(
            settings, new_account, clinic=clinic.clinic_for(db, None).name))
        return _check_your_email(new_account.email)
    return RedirectResponse(f"/appointments/{appt.id}?done={kind}", status_code=303)


def _check_your_email(email: str) -> Response:
    return RedirectResponse("/book/sent?" + urlencode({"email": email.strip().lower()}), status_code=303)


def _send_quietly(settings: Settings, mail: OutgoingEmail) -> None:
    try:
        send(settings, mail)
    except EmailError:
        logger.warning("booking email to a new patient not sent", exc_info=True)


@router.get("/book/sent", response_class=HTMLResponse)
def booking_sent(request: Request, email: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return render(request, "booking/sent.html", {"email": email})


@router.get("/book/verify")
def verify_email(request: Request, db: DbSession, settings: AppSettings,
                 token: Annotated[str, Query(max_length=500)] = "") -> Response:
    """A new patient's confirmation link: the account starts working and this browser is signed in."""
    try:
        account = verify.confirm(db, settings, token, source_ip=client_ip(request))
    except InvalidInput as exc:
        return render(request, "booking/sent.html", {"email": "", "error": exc.message}, status_code=400)
    start_session(request, db, account)
    newest = db.scalar(select(Appointment.id).where(Appointment.patient_id == account.patient_id)
                       .order_by(Appointment.created_at.desc()).limit(1))
    return RedirectResponse(f"/appointments/{newest}?done=confirmed" if newest else "/appointments", status_code=303)


@router.get("/appointments", response_class=HTMLResponse)
def my_appointments(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    if actor.is_staff:
        return RedirectResponse("/calendar", status_code=303)
    rows = booking.list_patient_appointments(db, actor)
    return render(request, "booking/list.html", _listing(db, rows, _services(db, actor)))


def _listing(db: DbSession, rows: list[Any], services: Mapping[str, Service]) -> dict[str, Any]:
    pracs = {p.id: p for p in db.scalars(select(Practitioner).where(
        Practitioner.id.in_({a.practitioner_id for a in rows})))} if rows else {}
    locs = {loc.id: loc for loc in db.scalars(select(Location).where(
        Location.id.in_({a.location_id for a in rows})))} if rows else {}
    now = datetime.now().astimezone()
    return {"upcoming": [a for a in rows if a.start >= now and a.status == "booked"],
            "past": [a for a in rows if not (a.start >= now and a.status == "booked")][::-1],
            "practitioners": pracs, "locations": locs, "services": services}


def _detail(request: Request, db: DbSession, actor: Actor, settings: Settings, appointment_id: uuid.UUID,
            *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    appt = booking.get_appointment(db, actor, appointment_id)
    now = datetime.now().astimezone()
    cutoff = _cutoff(settings)
    changeable = appt.status == "booked" and appt.start > now and (
        actor.is_staff or appt.start - now >= cutoff)
    return render(request, "booking/detail.html", {
        "appt": appt, "practitioner": db.get(Practitioner, appt.practitioner_id),
        "location": db.get(Location, appt.location_id), "patient": db.get(Patient, appt.patient_id),
        "service": clinic.service_named(db, actor.organization_id, appt.service_type),
        "changeable": changeable, "cutoff_hours": settings.booking_cutoff_hours,
        "done": request.query_params.get("done"), "error": error,
        "no_show_allowed": actor.is_staff and appt.status == "booked" and appt.start <= now,
        "reschedule_url": "/book?" + urlencode({"service": appt.service_type, "reschedule": str(appt.id),
                                                "location_id": str(appt.location_id)}),
    }, status_code=status_code)


@router.get("/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                     settings: AppSettings) -> HTMLResponse:
    return _detail(request, db, actor, settings, appointment_id)


@router.post("/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
def cancel(
    appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
    tasks: BackgroundTasks, reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        appt = booking.cancel_appointment(db, actor, appointment_id, reason=reason,
                                                     cutoff=_cutoff(settings))
    except HindfootError as exc:
        if exc.status_code == 404:
            raise
        db.rollback()
        return _detail(request, db, actor, settings, appointment_id, error=exc.message,
                       status_code=exc.status_code)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "cancelled"))
    return RedirectResponse(f"/appointments/{appt.id}?done=cancelled", status_code=303)


@router.post("/appointments/{appointment_id}/no-show", response_class=HTMLResponse)
def no_show(appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
            settings: AppSettings) -> Response:
    try:
        booking.mark_no_show(db, actor, appointment_id)
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _detail(request, db, actor, settings, appointment_id, error=exc.message,
                       status_code=exc.status_code)
    return RedirectResponse(f"/appointments/{appointment_id}?done=noshow", status_code=303)
