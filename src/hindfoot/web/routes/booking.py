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

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from hindfoot.assessment import service as assessment_service
from hindfoot.auth import verify
from hindfoot.auth.actor import Actor
from hindfoot.bounds import MAX_YEAR, MIN_YEAR, check_date
from hindfoot.db.models import Appointment, Location, Patient, Practitioner
from hindfoot.db.models.patient import Sex
from hindfoot.deps import (
    AppSettings,
    CurrentActor,
    DbSession,
    OptionalActor,
    client_ip,
    start_session,
)
from hindfoot.errors import HindfootError, InvalidInput, NotFound
from hindfoot.knowledge.loader import load_kb
from hindfoot.notifications.email import EmailError, OutgoingEmail, send
from hindfoot.patients.schemas import SelfRegistration
from hindfoot.scheduling import (
    booking,
    clinic,
    notices,
    notifications,
    online,
    registration,
    waitlist,
)
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.catalogue import Service, ServiceCode
from hindfoot.settings import Settings
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render
from hindfoot.web.routes.assessment import SESSION_KEY as CHECK_SESSION_KEY

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
    """Every service the clinic has (for naming existing appointments)."""
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


URGENT_HOURS = 48
REASON_WORDS = {
    "urgent": "Your symptom check advised being seen soon",
    "self_care": "Your symptom check suggested looking after it yourself first",
}


def _reason_label(reason: str) -> str:
    """What the patient sees for a reason: a condition in their words, never a raw id."""
    if reason in REASON_WORDS:
        return REASON_WORDS[reason]
    condition = load_kb().condition_by_id.get(reason)
    if condition is not None:
        return f"Possible {condition.patient.name[:1].lower()}{condition.patient.name[1:]}"
    return reason


def _check_id(request: Request, given: str = "") -> uuid.UUID | None:
    """The symptom check this browser did: linked from its result (``assessment=<id>``, unguessable) or
    kept in the session."""
    raw = given or request.session.get(CHECK_SESSION_KEY)
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _parse_day(value: str, field: str, errors: dict[str, str], label: str) -> date | None:
    if not value:
        return None
    try:
        return check_date(date.fromisoformat(value))
    except ValueError:
        errors[field] = (
            f"{label}: enter a real date from {MIN_YEAR} to {MAX_YEAR}, like {date.today().isoformat()}"
        )
        return None


@router.get("/book", response_class=HTMLResponse)
def book_page(
    request: Request,
    db: DbSession,
    actor: OptionalActor,
    settings: AppSettings,
    service: Annotated[str, Query(max_length=40)] = "",
    reason: Annotated[str, Query(max_length=300)] = "",
    assessment: Annotated[str, Query(max_length=80)] = "",
    location_id: Annotated[str, Query(max_length=40)] = "",
    practitioner_id: Annotated[str, Query(max_length=40)] = "",
    start_date: Annotated[str, Query(max_length=40)] = "",
    reschedule: Annotated[str, Query(max_length=40)] = "",
    patient_id: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """Every combination of the filters works; a filter that cannot be read is named on the form and
    the search runs without it, so nothing chosen is lost."""
    org = clinic.clinic_for(db, actor)
    services = online.offered_to(db, actor, org.id)
    if not services:
        raise NotFound("no appointments can be booked online at the moment: please phone the clinic")
    code = _service_code(service or (reason if reason in services else None), services)
    reason_text = "" if reason in services else reason
    errors: dict[str, str] = {}
    first_day = _parse_day(start_date.strip(), "start_date", errors, "From date")
    if first_day is not None and first_day < date.today():
        first_day = None  # a day gone by: search from today
    loc = _optional_uuid(location_id, "location_id", errors, "Location")
    prac = _optional_uuid(practitioner_id, "practitioner_id", errors, "Clinician")
    locations, practitioners = _choices(db, actor, services[code])
    if loc and loc not in {location.id for location in locations}:
        loc = None  # closed since the link was made: search every open location
    if prac and prac not in {p.id for p in practitioners}:
        prac = None  # the chosen clinician does not provide the newly chosen service
    check_id = _check_id(request, assessment) if not reschedule else None
    triage = assessment_service.check_disposition(db, actor, check_id) if check_id else None
    urgent = (triage in ("urgent", "emergency") or reason == "urgent") and not reschedule and not first_day
    if urgent:
        svc, options = slot_search.search_slots(
            db, actor, code, location_id=loc, practitioner_id=prac, days=3, limit=40)
        until = datetime.now().astimezone() + timedelta(hours=URGENT_HOURS)
        options = [o for o in options if o.slot.start <= until]
    else:
        svc, options = slot_search.search_slots(
            db, actor, code, location_id=loc, practitioner_id=prac, start_date=first_day,
            days=14 if first_day else None, limit=40,
        )
    days: dict[date, list[slot_search.SlotOption]] = {}
    for o in options:
        days.setdefault(o.local_start.date(), []).append(o)
    carry = {k: v for k, v in {"reason": reason_text, "assessment": assessment, "reschedule": reschedule,
                               "patient_id": patient_id}.items() if v}
    form = {"service": svc.code, "location_id": str(loc or ""), "practitioner_id": str(prac or ""),
            "start_date": start_date}
    return render(request, "booking/book.html", {
        "services": list(services.values()), "service": svc, "locations": locations,
        "practitioners": practitioners, "location_id": loc, "practitioner_id": prac, "days": days,
        "start_date": first_day, "reason": _reason_label(reason_text) if reason_text else "", "carry": carry,
        "reschedule": reschedule, "patient_id": patient_id, "errors": errors, "form": form,
        "urgent": urgent, "triage": triage, "urgent_hours": URGENT_HOURS, "clinic": org,
        "confirm_url": lambda o: "/book/confirm?" + urlencode({
            "service": svc.code, "practitioner_id": str(o.practitioner.id), "location_id": str(o.location.id),
            "start": o.slot.start.isoformat(), **carry}),
    }, status_code=422 if errors else 200)


def _optional_uuid(value: str, field: str, errors: dict[str, str], label: str) -> uuid.UUID | None:
    try:
        return _uuid(value.strip(), field)
    except InvalidInput:
        errors[field] = f"{label}: that choice is no longer offered; choose again"
        return None


def _parse_start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("not a valid time", field="start") from None
    if start.tzinfo is None:
        raise InvalidInput("the time needs a time zone", field="start")
    return start


def _confirm_context(db: DbSession, actor: Actor | None, params: dict[str, str]) -> dict[str, Any]:
    org = clinic.clinic_for(db, actor)
    services = online.offered_to(db, actor, org.id)
    if not services:
        raise NotFound("no appointments can be booked online at the moment: please phone the clinic")
    code = _service_code(params.get("service"), services)
    prac_id, loc_id = _uuid(params.get("practitioner_id"), "practitioner_id"), _uuid(params.get("location_id"), "location_id")
    prac = db.get(Practitioner, prac_id) if prac_id else None
    loc = db.get(Location, loc_id) if loc_id else None
    if prac is None or loc is None or prac.organization_id != org.id or loc.organization_id != org.id:
        raise InvalidInput("that time is no longer offered: choose another", field="start")
    start = _parse_start(params.get("start", ""))
    svc = services[code]
    patients: list[Patient] = []
    picked: list[tuple[str, str]] = []
    patient = None
    if actor is not None and actor.is_front_desk:
        pid = _uuid(params.get("patient_id"), "patient_id")
        if pid:
            patient = db.get(Patient, pid)
            if patient is None or patient.organization_id != actor.organization_id:
                raise InvalidInput("no such patient", field="patient_id")
        else:  # the front desk finds the patient by typing (the picker), not in a list of everyone
            from hindfoot.web.routes.patients import pick_choices

            picked = pick_choices(db, actor, params.get("patient_q", ""), params.get("patient_choice", ""))
    return {
        "service": svc, "practitioner": prac, "location": loc, "start": start,
        "end": start + timedelta(minutes=svc.duration_minutes), "zone": org.timezone, "params": params,
        "patient": patient, "patients": patients,
        "sexes": [(s.value, s.value.capitalize()) for s in Sex],
        "reschedule": params.get("reschedule", ""),
        "patient_options": picked,
    }


_CONFIRM_KEYS = ("service", "practitioner_id", "location_id", "start", "reason", "assessment", "reschedule",
                 "patient_id")
_REGISTRATION = ("given_name", "family_name", "birth_date", "sex", "email", "phone", "password")
LABELS = {"given_name": "First name", "family_name": "Last name", "birth_date": "Date of birth", "sex": "Sex",
          "email": "Email", "phone": "Phone number", "password": "Password", "patient_choice": "Patient",
          "start": "Time", "service": "Appointment", "share_check": "Share your symptom check"}


def _check_offer(request: Request, db: DbSession, actor: Actor | None, params: dict[str, str]) -> str | None:
    """The triage of the symptom check this browser finished, when it can travel with the booking."""
    check_id = _check_id(request, params["assessment"])
    if check_id is None or params["reschedule"] or (actor is not None and actor.is_front_desk):
        return None
    return assessment_service.check_disposition(db, actor, check_id)


@router.get("/book/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    params = {k: request.query_params.get(k, "")[:300] for k in _CONFIRM_KEYS}
    ctx = _confirm_context(db, actor, params)
    ctx.update(errors={}, form={"share_check": "yes"},
               next_url=str(request.url.path) + "?" + str(request.url.query),
               check_triage=_check_offer(request, db, actor, params))
    return render(request, "booking/confirm.html", ctx)


@router.post("/book/confirm", response_class=HTMLResponse)
def confirm_submit(
    request: Request, db: DbSession, actor: OptionalActor, settings: AppSettings, tasks: BackgroundTasks,
    raw: RawForm,
) -> Response:
    params = {k: raw.get(k, "").strip()[:300] for k in _CONFIRM_KEYS}
    form = {k: raw.get(k, "") for k in (*_REGISTRATION, "patient_choice", "share_check", "patient_q")}
    for k in _REGISTRATION:
        if k != "password":
            form[k] = form[k].strip()
    picker = {"patient_q": form["patient_q"].strip()[:100], "patient_choice": form["patient_choice"].strip()[:40]}
    check_triage = _check_offer(request, db, actor, params)
    if raw.get("action") == "find":  # no script: the patients matching what was typed, the rest kept
        ctx = _confirm_context(db, actor, {**params, **picker})
        form.pop("password")
        ctx.update(errors={}, form=form, check_triage=check_triage,
                   next_url="/book/confirm?" + urlencode({k: v for k, v in params.items() if v}))
        return render(request, "booking/confirm.html", ctx)
    try:
        ctx = _confirm_context(db, actor, params)
        new_account = None
        who = actor
        if who is None:
            try:
                reg = SelfRegistration.model_validate({k: form[k] for k in _REGISTRATION if form[k]})
            except ValidationError as exc:
                raise _FormProblem(errors_from(exc, LABELS)) from None
            fields: dict[str, Any] = {"given_name": reg.given_name, "family_name": reg.family_name, "birth_date": reg.birth_date,
                      "sex": reg.sex.value, "email": reg.email, "password": reg.password}
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
            new_account = registration.register_patient(db, **fields, phone=reg.phone, active=False)
            who = Actor.from_account(new_account, source_ip=client_ip(request), path=request.url.path)
        reason = _reason_label(params["reason"]) if params["reason"] else ""
        if params["reschedule"]:
            appt = booking.reschedule_appointment(
                db, who, _uuid(params["reschedule"], "reschedule"), start=ctx["start"],  # type: ignore[arg-type]
                practitioner_id=ctx["practitioner"].id, location_id=ctx["location"].id, cutoff=_cutoff(settings))
            kind = "rescheduled"
        else:
            if who.is_front_desk and not (params["patient_id"] or form["patient_choice"]):
                raise InvalidInput("choose the patient", field="patient_choice")
            appt = booking.book_appointment(
                db, who, service=ctx["service"].code, practitioner_id=ctx["practitioner"].id,
                location_id=ctx["location"].id, start=ctx["start"], reason=reason[:300],
                patient_id=_uuid(params["patient_id"] or form["patient_choice"], "patient_id")
                if who.is_front_desk else None,
            )
            kind = "confirmed"
            check_id = _check_id(request, params["assessment"])
            if check_triage and check_id and form["share_check"] == "yes" and who.patient_id is not None:
                shared = assessment_service.attach_check(db, who, check_id)
                if shared is not None:
                    appt.assessment_id, appt.triage = check_id, shared[0]
                    db.flush()
    except (HindfootError, _FormProblem) as exc:
        db.rollback()
        try:
            ctx = _confirm_context(db, actor, {**params, **picker})
        except HindfootError:
            return RedirectResponse("/book?" + urlencode({"service": params["service"]}), status_code=303)
        form.pop("password")
        errors = exc.errors if isinstance(exc, _FormProblem) else errors_from(exc, LABELS)
        if isinstance(exc, HindfootError) and exc.field in _CONFIRM_KEYS:
            errors = {"form": errors.popitem()[1]}  # a problem with the time itself: say so at the top
        ctx.update(errors=errors, form=form, check_triage=check_triage,
                   next_url="/book/confirm?" + urlencode({k: v for k, v in params.items() if v}))
        status = exc.status_code if isinstance(exc, HindfootError) else 422
        return render(request, "booking/confirm.html", ctx, status_code=status)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, kind))
    if kind == "rescheduled":
        tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)  # the time it left
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


class _FormProblem(Exception):
    """Several named problems with what was typed (the page shows each by its field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@router.get("/appointments", response_class=HTMLResponse)
def my_appointments(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    if actor.is_front_desk:
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
            *, error: str | None = None, status_code: int = 200, form: dict[str, str] | None = None,
            errors: dict[str, str] | None = None) -> HTMLResponse:
    appt = booking.get_appointment(db, actor, appointment_id)
    now = datetime.now().astimezone()
    cutoff = _cutoff(settings)
    changeable = appt.status == "booked" and appt.start > now and (
        actor.is_front_desk or appt.start - now >= cutoff)
    return render(request, "booking/detail.html", {
        "appt": appt, "practitioner": db.get(Practitioner, appt.practitioner_id),
        "location": db.get(Location, appt.location_id), "patient": db.get(Patient, appt.patient_id),
        "service": clinic.service_named(db, actor.organization_id, appt.service_type),
        "changeable": changeable, "cutoff_hours": settings.booking_cutoff_hours,
        "done": request.query_params.get("done"), "error": error, "form": form or {}, "errors": errors or {},
        "now": now, "soon": now + booking.ARRIVAL_WINDOW,
        "reschedule_url": "/book?" + urlencode({"service": appt.service_type, "reschedule": str(appt.id),
                                                "location_id": str(appt.location_id)}),
    }, status_code=status_code)


@router.get("/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                     settings: AppSettings) -> HTMLResponse:
    return _detail(request, db, actor, settings, appointment_id)


@router.post("/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
def cancel_page(
    appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
    tasks: BackgroundTasks, raw: RawForm,
) -> Response:
    reason = raw.get("reason", "").strip()
    if len(reason) > 300:  # refused by name, what was typed kept (not cut to fit)
        return _detail(request, db, actor, settings, appointment_id, form={"reason": reason}, status_code=422,
                       errors={"reason": f"Reason for cancelling: at most 300 characters (you typed {len(reason)})"})
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
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)  # the freed time's offers
    return RedirectResponse(f"/appointments/{appt.id}?done=cancelled", status_code=303)


_DESK_ACTIONS = {"check-in": (booking.check_in, "arrived"), "seen": (booking.mark_seen, "seen"),
                 "no-show": (booking.mark_no_show, "noshow")}


@router.post("/appointments/{appointment_id}/desk/{action}", response_class=HTMLResponse)
def desk_action(appointment_id: uuid.UUID, action: Annotated[str, Path(pattern="^(check-in|seen|no-show)$")],
                request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings, raw: RawForm) -> Response:
    """Arrived, seen or did not attend, from the calendar or the appointment page (back to where it came from)."""
    do, done = _DESK_ACTIONS[action]
    try:
        do(db, actor, appointment_id)
    except HindfootError as exc:
        if exc.status_code in (403, 404):
            raise
        db.rollback()
        return _detail(request, db, actor, settings, appointment_id, error=exc.message, status_code=exc.status_code)
    back = raw.get("back", "")
    if back.startswith(("/calendar", "/today")):
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"/appointments/{appointment_id}?done={done}", status_code=303)


@router.post("/appointments/{appointment_id}/no-show", response_class=HTMLResponse)
def no_show_page(appointment_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
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
