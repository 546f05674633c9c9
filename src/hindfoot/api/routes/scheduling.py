"""Booking API: services, slot search, appointments (book, move, cancel, no-show), series, rota,
and the clinic's set-up (services and locations: admins write, staff read).

E-mails go out as background tasks, which Starlette runs after the response, i.e. after the
request's unit of work has committed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.bounds import SaneAwareDatetime, SaneDate, SaneDatetime
from hindfoot.deps import AppSettings, CurrentActor, DbSession, OptionalActor
from hindfoot.errors import NotAuthenticated
from hindfoot.scheduling import (
    booking,
    clinic,
    clinic_setup,
    notices,
    notifications,
    online,
    rota,
    series,
    waitlist,
)
from hindfoot.scheduling import calendar as diary
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.catalogue import Service
from hindfoot.settings import Settings

router = APIRouter(tags=["scheduling"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


ServiceCodeField = Annotated[str, Field(min_length=1, max_length=40)]


class ServiceRead(BaseModel):
    code: str
    name: str
    description: str
    duration_minutes: int
    roles: list[str]
    active: bool = True


class ServiceCreate(_Body):
    code: str = Field(max_length=40, description="lower-case letters, digits and underscores")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    duration_minutes: int
    roles: list[str] = Field(max_length=10)
    active: bool = True


class ServiceUpdate(_Body):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    duration_minutes: int | None = None
    roles: list[str] | None = Field(default=None, max_length=10)
    active: bool | None = None


class LocationAdminRead(BaseModel):
    id: uuid.UUID
    name: str
    address_line: str
    city: str
    postcode: str
    phone: str | None
    description: str
    active: bool

    model_config = ConfigDict(from_attributes=True)


class LocationCreate(_Body):
    name: str = Field(max_length=200)
    address_line: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=500)
    active: bool = True


class LocationUpdate(_Body):
    name: str | None = Field(default=None, max_length=200)
    address_line: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class SlotRead(BaseModel):
    start: datetime
    end: datetime
    local_start: str
    service: str
    practitioner_id: uuid.UUID
    practitioner: str
    location_id: uuid.UUID
    location: str


class SlotList(BaseModel):
    service: ServiceRead
    items: list[SlotRead]


class AppointmentRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    service_type: str
    status: str
    start: datetime
    end: datetime
    reason: str
    series_id: uuid.UUID | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    checked_in_at: datetime | None = None
    seen_at: datetime | None = None
    triage: str | None = None

    model_config = ConfigDict(from_attributes=True)


class AppointmentCreate(_Body):
    service: ServiceCodeField
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    start: SaneAwareDatetime
    patient_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    reason: str = Field(default="", max_length=300)


class AppointmentCancel(_Body):
    reason: str = Field(default="", max_length=300)


class AppointmentMove(_Body):
    start: SaneAwareDatetime
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None


class SeriesCreate(_Body):
    patient_id: uuid.UUID
    service: ServiceCodeField
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    first: SaneDatetime = Field(description="First appointment; a naive value is the clinic's wall-clock time.")
    every_days: int | None = Field(default=None, ge=1, le=28)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=list, max_length=7)
    every_weeks: int = Field(default=1, ge=1, le=8)
    count: int | None = Field(default=None, ge=1, le=366)
    until: SaneDate | None = None
    reason: str = Field(default="", max_length=300)
    closed_days: Literal["keep", "next_open", "skip"] = Field(
        default="keep", description="a date the clinician does not work there: keep it as a clash, move it to the "
        "next open day at the same time, or skip it")


class OccurrenceRead(BaseModel):
    index: int
    start: datetime
    end: datetime
    ok: bool
    problems: list[dict[str, str]]


class RuleCreate(_Body):
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    weekday: int = Field(ge=0, le=6)
    start: time
    end: time
    services: list[ServiceCodeField] = Field(default_factory=list, max_length=50)
    valid_from: SaneDate | None = None
    valid_to: SaneDate | None = None


class ExceptionCreate(_Body):
    start: SaneAwareDatetime
    end: SaneAwareDatetime
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    reason: str = Field(default="", max_length=200)


class Created(BaseModel):
    id: uuid.UUID


def _service_read(s: Service) -> ServiceRead:
    return ServiceRead(code=s.code, name=s.name, description=s.description, duration_minutes=s.duration_minutes,
                       roles=sorted(r.value for r in s.roles), active=s.active)


def _cutoff(settings: Settings) -> timedelta:
    return timedelta(hours=settings.booking_cutoff_hours)


@router.get("/services")
def list_services(db: DbSession, actor: OptionalActor, include_inactive: bool = False) -> list[ServiceRead]:
    """The services one can book (public); staff may ask for retired ones too."""
    if include_inactive:
        if actor is None:
            raise NotAuthenticated("sign in to see retired services")
        return [_service_read(s) for s in clinic_setup.list_services(db, actor)]
    org = clinic.clinic_for(db, actor)
    return [_service_read(s) for s in clinic.services_for(db, org.id).values() if s.active]


@router.post("/services", status_code=201)
def create_service(body: ServiceCreate, db: DbSession, actor: CurrentActor) -> ServiceRead:
    fields = clinic_setup.ServiceFields(name=body.name, description=body.description,
                                        duration_minutes=body.duration_minutes, roles=body.roles, active=body.active)
    return _service_read(clinic_setup.create_service(db, actor, body.code, fields))


@router.patch("/services/{code}")
def update_service(code: Annotated[str, Path(max_length=40)], body: ServiceUpdate, db: DbSession,
                   actor: CurrentActor) -> ServiceRead:
    fields = clinic_setup.ServiceFields(**body.model_dump(exclude_unset=True))
    return _service_read(clinic_setup.update_service(db, actor, code, fields))


# GET /api/locations (public, active ones; ?include_inactive=true for staff) lives in clinic.py.


@router.post("/locations", status_code=201)
def create_location(body: LocationCreate, db: DbSession, actor: CurrentActor) -> LocationAdminRead:
    loc = clinic_setup.create_location(db, actor, clinic_setup.LocationFields(**body.model_dump()))
    return LocationAdminRead.model_validate(loc)


@router.patch("/locations/{location_id}")
def update_location(location_id: uuid.UUID, body: LocationUpdate, db: DbSession,
                    actor: CurrentActor) -> LocationAdminRead:
    fields = clinic_setup.LocationFields(**body.model_dump(exclude_unset=True))
    return LocationAdminRead.model_validate(clinic_setup.update_location(db, actor, location_id, fields))


@router.get("/slots")
def search_slots(
    db: DbSession,
    actor: OptionalActor,
    service: Annotated[str, Query(max_length=40)],
    location_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
    start_date: SaneDate | None = None,
    days: Annotated[int | None, Query(ge=1, le=366)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 30,
) -> SlotList:
    svc, options = slot_search.search_slots(
        db, actor, service, location_id=location_id, practitioner_id=practitioner_id,
        start_date=start_date, days=days, limit=limit,
    )
    return SlotList(
        service=_service_read(svc),
        items=[
            SlotRead(start=o.slot.start, end=o.slot.end, local_start=o.local_start.isoformat(),
                     service=svc.code, practitioner_id=o.practitioner.id,
                     practitioner=o.practitioner.display_name, location_id=o.location.id, location=o.location.name)
            for o in options
        ],
    )


@router.post("/appointments", status_code=201)
def book(
    body: AppointmentCreate, db: DbSession, actor: CurrentActor, settings: AppSettings, tasks: BackgroundTasks
) -> AppointmentRead:
    online.check_online(db, actor, actor.organization_id, body.service)
    appt = booking.book_appointment(
        db, actor, service=body.service, practitioner_id=body.practitioner_id,
        location_id=body.location_id, start=body.start, patient_id=body.patient_id, reason=body.reason,
        episode_id=body.episode_id,
    )
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "confirmed"))
    return AppointmentRead.model_validate(appt)


@router.get("/appointments")
def list_appointments(
    db: DbSession, actor: CurrentActor, patient_id: uuid.UUID | None = None
) -> list[AppointmentRead]:
    rows = booking.list_patient_appointments(db, actor, patient_id)
    return [AppointmentRead.model_validate(a) for a in rows]


@router.get("/appointments/{appointment_id}")
def get_appointment(appointment_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> AppointmentRead:
    return AppointmentRead.model_validate(booking.get_appointment(db, actor, appointment_id))


@router.post("/appointments/{appointment_id}/cancel")
def cancel(
    appointment_id: uuid.UUID, body: AppointmentCancel, db: DbSession, actor: CurrentActor,
    settings: AppSettings, tasks: BackgroundTasks, request: Request,
) -> AppointmentRead:
    """Cancel; the freed time is offered to the first matching patients on the waitlist (by email)."""
    appt = booking.cancel_appointment(db, actor, appointment_id, reason=body.reason,
                                                 cutoff=_cutoff(settings))
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "cancelled"))
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    return AppointmentRead.model_validate(appt)


@router.post("/appointments/{appointment_id}/reschedule")
def reschedule(
    appointment_id: uuid.UUID, body: AppointmentMove, db: DbSession, actor: CurrentActor,
    settings: AppSettings, tasks: BackgroundTasks, request: Request,
) -> AppointmentRead:
    """Move; the time it left is offered to the waitlist (by email)."""
    appt = booking.reschedule_appointment(
        db, actor, appointment_id, start=body.start, practitioner_id=body.practitioner_id,
        location_id=body.location_id, cutoff=_cutoff(settings),
    )
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "rescheduled"))
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    return AppointmentRead.model_validate(appt)


@router.post("/appointments/{appointment_id}/check-in")
def check_in(appointment_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> AppointmentRead:
    """The patient has arrived (status ``arrived``, with the time)."""
    return AppointmentRead.model_validate(booking.check_in(db, actor, appointment_id))


@router.post("/appointments/{appointment_id}/seen")
def seen(appointment_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> AppointmentRead:
    """The clinician has seen the patient (status ``fulfilled``, with the time)."""
    return AppointmentRead.model_validate(booking.mark_seen(db, actor, appointment_id))


@router.post("/appointments/{appointment_id}/no-show")
def no_show(appointment_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> AppointmentRead:
    return AppointmentRead.model_validate(booking.mark_no_show(db, actor, appointment_id))


def _series_kwargs(body: SeriesCreate) -> dict[str, object]:
    return dict(
        patient_id=body.patient_id, service=body.service, practitioner_id=body.practitioner_id,
        location_id=body.location_id, first=body.first, every_days=body.every_days, weekdays=body.weekdays,
        every_weeks=body.every_weeks, count=body.count, until=body.until, closed_days=body.closed_days,
    )


@router.post("/appointment-series/check")
def check_series(body: SeriesCreate, db: DbSession, actor: CurrentActor) -> list[OccurrenceRead]:
    plan = series.plan_series(db, actor, **_series_kwargs(body))  # type: ignore[arg-type]
    return [
        OccurrenceRead(index=o.index, start=o.start, end=o.end, ok=o.ok,
                       problems=[{"code": p.code, "message": p.message} for p in o.problems])
        for o in plan.occurrences
    ]


@router.post("/appointment-series", status_code=201)
def book_series(body: SeriesCreate, db: DbSession, actor: CurrentActor, settings: AppSettings,
                tasks: BackgroundTasks) -> list[AppointmentRead]:
    """Book all or nothing; the patient gets one email listing every date with one calendar file for them all."""
    appts = series.book_series(db, actor, reason=body.reason, **_series_kwargs(body))  # type: ignore[arg-type]
    tasks.add_task(notifications.deliver_series, settings, [notices.notice_for(db, a, "confirmed") for a in appts])
    return [AppointmentRead.model_validate(a) for a in appts]


@router.get("/scheduling/no-shows")
def no_shows(db: DbSession, actor: CurrentActor) -> dict[str, list[dict[str, object]]]:
    stats = diary.no_show_stats(db, actor)
    return {
        "by_patient": [{"patient_id": str(p.id), "name": p.display_name, "no_shows": n, "cancellations": c}
                       for p, n, c in stats.by_patient],
        "by_practitioner": [{"practitioner_id": str(p.id), "name": p.display_name, "no_shows": n,
                             "cancellations": c} for p, n, c in stats.by_practitioner],
    }


@router.post("/availability/rules", status_code=201)
def add_rule(body: RuleCreate, db: DbSession, actor: CurrentActor, settings: AppSettings, tasks: BackgroundTasks,
             request: Request) -> Created:
    """A weekly opening; the times it opens are offered to the waitlist (by email)."""
    rule = rota.add_rule(
        db, actor, practitioner_id=body.practitioner_id, location_id=body.location_id, weekday=body.weekday,
        start=body.start, end=body.end, services=list(body.services), valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    if waitlist.offer_open_times(db, actor):
        tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    return Created(id=rule.id)


@router.delete("/availability/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> None:
    rota.delete_rule(db, actor, rule_id)


@router.post("/availability/exceptions", status_code=201)
def add_exception(body: ExceptionCreate, db: DbSession, actor: CurrentActor) -> Created:
    exc = rota.add_exception(
        db, actor, start=body.start, end=body.end, practitioner_id=body.practitioner_id,
        location_id=body.location_id, reason=body.reason,
    )
    return Created(id=exc.id)


@router.delete("/availability/exceptions/{exception_id}", status_code=204)
def delete_exception(exception_id: uuid.UUID, db: DbSession, actor: CurrentActor, settings: AppSettings,
                     tasks: BackgroundTasks, request: Request) -> None:
    """Leave or a closure called off: the days it frees are offered to the waitlist (by email)."""
    rota.delete_exception(db, actor, exception_id)
    if waitlist.offer_open_times(db, actor):
        tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
