"""Booking: slot search over the stored rota; book, reschedule, cancel and mark no-shows.

The pure core (:mod:`hindfoot.scheduling.availability`) answers every question; this module
loads its inputs with one query per table for the window asked about, and writes the answer.

No double booking, ever. Every write that puts an appointment on a practitioner's diary first
takes a per-practitioner lock *inside the transaction*, then re-checks the time against what is
committed, then inserts:

* PostgreSQL: ``pg_advisory_xact_lock(key)``, key derived from the practitioner's id; released at
  commit or rollback. Bookings for different practitioners never wait for each other.
* SQLite: a no-op ``UPDATE`` of the practitioner row opens the write transaction (``BEGIN
  IMMEDIATE`` semantics: one writer at a time), so the check and the insert see the same data.

The partial unique index on (practitioner, start) stays as the last line of defence; if it ever
fires, the loser gets a :class:`~hindfoot.errors.Conflict` naming the slot, never a 500.

Services flush and never commit; times are UTC instants, shown on the clinic's clocks.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.passwords import hash_password
from hindfoot.auth.policy import require_admin, require_staff
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    CarePlan,
    CarePlanActivity,
    ClinicService,
    Location,
    Organization,
    Patient,
    Practitioner,
    Schedule,
    Sex,
    UserAccount,
)
from hindfoot.errors import AccessDenied, Conflict, InvalidInput, NotFound
from hindfoot.scheduling import availability as core
from hindfoot.scheduling.catalogue import CATALOGUE, Role, Service, get_service

__all__ = [
    "FREED_STATUSES",
    "AppointmentNotice",
    "ClinicData",
    "CutoffPassed",
    "SlotOption",
    "book_appointment",
    "book_series",
    "calendar_view",
    "cancel_appointment",
    "clinic_for",
    "load_calendar",
    "mark_no_show",
    "no_show_stats",
    "notice_for",
    "plan_series",
    "register_patient",
    "reschedule_appointment",
    "search_slots",
    "services_for",
]

FREED_STATUSES = ("cancelled", "noshow", "entered-in-error")
"""Statuses that free the time again (the same list as the partial unique index)."""

PATIENT_MIN_NOTICE = timedelta(hours=1)
"""Patients book online at least this far ahead; staff may book any future time."""

DEFAULT_HORIZON_DAYS = 90


class CutoffPassed(Conflict):
    code = "cutoff_passed"


# --------------------------------------------------------------------------- services


def services_for(db: Session, organization_id: uuid.UUID) -> Mapping[str, Service]:
    """The clinic's services by code, in booking-page order, inactive ones included.

    The one place slot search, booking checks, series and pages learn what a service is, how
    long it takes and who provides it. An organisation that has never edited its services has
    no rows and gets the default catalogue. Appointments store their own end time, so changing
    a duration here changes new bookings only.
    """
    rows = db.scalars(
        select(ClinicService)
        .where(ClinicService.organization_id == organization_id)
        .order_by(ClinicService.position, ClinicService.code)
    ).all()
    if not rows:
        return CATALOGUE
    return {r.code: service_from_row(r) for r in rows}


def service_from_row(row: ClinicService) -> Service:
    return Service(
        code=row.code, name=row.name, description=row.description or row.name,
        duration_minutes=row.duration_minutes, roles=frozenset(Role(r) for r in row.roles if r in Role.__members__),
        active=row.active,
    )


def _bookable(db: Session, org: Organization, code: str) -> Service:
    """A service that may be booked now: known to this clinic and active (unknown → 422 on ``service``)."""
    svc = get_service(code, services_for(db, org.id))
    if not svc.active:
        raise InvalidInput(f"{svc.name} is not offered at the moment", field="service")
    return svc


def service_named(db: Session, organization_id: uuid.UUID, code: str) -> Service | None:
    """The service an existing appointment was booked for (retired or default ones included)."""
    return services_for(db, organization_id).get(code) or CATALOGUE.get(code)


# --------------------------------------------------------------------------- loading


@dataclass
class ClinicData:
    """One window of the rota, indexed: the calendar plus the rows pages need to name things."""

    organization: Organization
    calendar: core.ClinicCalendar
    practitioners: dict[uuid.UUID, Practitioner]
    locations: dict[uuid.UUID, Location]

    @property
    def zone(self) -> ZoneInfo:
        return self.calendar.zone


def clinic_for(db: Session, actor: Actor | None) -> Organization:
    """The actor's clinic; for someone not signed in (a new patient), the clinic this server runs."""
    if actor is not None:
        org = db.get(Organization, actor.organization_id)
    else:
        org = db.scalar(select(Organization).order_by(Organization.created_at, Organization.id).limit(1))
    if org is None:
        raise NotFound("no clinic is set up on this server yet")
    return org


def _utc_bounds(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """A UTC range safely covering local dates first..last (a day's margin either side)."""
    lo = datetime.combine(first - timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=2), time(0), tzinfo=zone).astimezone(UTC)
    return lo, hi


def load_calendar(
    db: Session,
    org: Organization,
    first: date,
    last: date,
    *,
    practitioner_ids: Sequence[uuid.UUID] | None = None,
) -> ClinicData:
    """Load rules, exceptions and live bookings for local dates first..last: one query per table.

    ``practitioner_ids`` narrows every query to those people (the booking check needs only one).
    Inactive practitioners, admins and inactive locations drop out of the calendar, so they are
    never offered and never bookable.
    """
    zone = ZoneInfo(org.timezone)
    lo, hi = _utc_bounds(zone, first, last)
    org_pracs = select(Practitioner.id).where(Practitioner.organization_id == org.id)
    org_locs = select(Location.id).where(Location.organization_id == org.id)

    prac_q = select(Practitioner).where(
        Practitioner.organization_id == org.id, Practitioner.active, Practitioner.role != "admin"
    )
    if practitioner_ids is not None:
        prac_q = prac_q.where(Practitioner.id.in_(practitioner_ids))
    practitioners = {p.id: p for p in db.scalars(prac_q)}

    locations = {
        loc.id: loc
        for loc in db.scalars(select(Location).where(Location.organization_id == org.id, Location.active))
    }

    rule_q = (
        select(AvailabilityRule, Schedule.practitioner_id, Schedule.location_id)
        .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
        .where(
            Schedule.active,
            Schedule.location_id.in_(org_locs),
            Schedule.practitioner_id.in_(org_pracs),
            or_(AvailabilityRule.valid_from.is_(None), AvailabilityRule.valid_from <= last),
            or_(AvailabilityRule.valid_to.is_(None), AvailabilityRule.valid_to >= first),
        )
    )
    if practitioner_ids is not None:
        rule_q = rule_q.where(Schedule.practitioner_id.in_(practitioner_ids))
    rules = [
        core.AvailabilityRule(
            practitioner_id=pid, location_id=lid, weekday=r.weekday, start=r.start_time, end=r.end_time,
            services=frozenset(r.services or ()), valid_from=r.valid_from, valid_to=r.valid_to,
        )
        for r, pid, lid in db.execute(rule_q)
        if lid in locations
    ]

    exc_q = select(AvailabilityException).where(
        AvailabilityException.start < hi,
        AvailabilityException.end > lo,
        or_(AvailabilityException.practitioner_id.in_(org_pracs), AvailabilityException.location_id.in_(org_locs)),
    )
    if practitioner_ids is not None:
        exc_q = exc_q.where(
            or_(AvailabilityException.practitioner_id.in_(practitioner_ids),
                AvailabilityException.practitioner_id.is_(None))
        )
    exceptions = [
        core.AvailabilityException(
            start=e.start, end=e.end, practitioner_id=e.practitioner_id, location_id=e.location_id,
            reason=e.reason,
        )
        for e in db.scalars(exc_q)
    ]

    appt_q = select(
        Appointment.id, Appointment.practitioner_id, Appointment.location_id, Appointment.start, Appointment.end
    ).where(
        Appointment.start < hi,
        Appointment.end > lo,
        Appointment.status.not_in(FREED_STATUSES),
        Appointment.practitioner_id.in_(org_pracs),
    )
    if practitioner_ids is not None:
        appt_q = appt_q.where(Appointment.practitioner_id.in_(practitioner_ids))
    bookings = [
        core.Booking(start=s, end=e, practitioner_id=pid, location_id=lid, id=aid)
        for aid, pid, lid, s, e in db.execute(appt_q)
    ]

    calendar = core.ClinicCalendar(
        timezone=zone,
        practitioners={pid: p.role for pid, p in practitioners.items()},
        rules=rules,
        exceptions=exceptions,
        bookings=bookings,
    )
    return ClinicData(org, calendar, practitioners, locations)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SlotOption:
    """A free slot with the people and place it belongs to, ready to show."""

    slot: core.Slot
    practitioner: Practitioner
    location: Location

    @property
    def local_start(self) -> datetime:
        return self.slot.local_start

    @property
    def local_end(self) -> datetime:
        return self.slot.local_end


def search_slots(
    db: Session,
    actor: Actor | None,
    service: str,
    *,
    location_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
    start_date: date | None = None,
    days: int | None = None,
    limit: int = 30,
    now: datetime | None = None,
) -> tuple[Service, list[SlotOption]]:
    """Free slots for a service: the next ``limit`` from now, or those between two dates.

    Anywhere, at one location, or with one practitioner. No patient data is read, so someone
    not yet signed in may search (a new patient books without a referral).
    """
    now = now or utcnow()
    org = clinic_for(db, actor)
    svc = _bookable(db, org, service)
    zone = ZoneInfo(org.timezone)
    min_notice = PATIENT_MIN_NOTICE if actor is None or actor.role == "patient" else timedelta(0)
    today = now.astimezone(zone).date()
    if start_date is None:
        first, last = today, today + timedelta(days=(days or DEFAULT_HORIZON_DAYS) - 1)
    else:
        if days is None:
            days = 14
        first, last = max(start_date, today), start_date + timedelta(days=days - 1)
    if days is not None and not 0 < days <= core.MAX_SEARCH_DAYS:
        raise InvalidInput(f"days must be 1 to {core.MAX_SEARCH_DAYS}", field="days")
    if last < first:
        return svc, []
    data = load_calendar(
        db, org, first, last, practitioner_ids=[practitioner_id] if practitioner_id else None
    )
    if location_id is not None and location_id not in data.locations:
        raise InvalidInput("no such location", field="location_id")
    if practitioner_id is not None and practitioner_id not in data.practitioners:
        raise InvalidInput("no such practitioner", field="practitioner_id")
    if start_date is None:
        slots = core.next_available(
            data.calendar, svc, now=now, count=limit, location_id=location_id,
            practitioner_id=practitioner_id, horizon_days=(last - first).days + 1, min_notice=min_notice,
        )
    else:
        slots = core.find_slots(
            data.calendar, svc, start_date=first, end_date=last, now=now, location_id=location_id,
            practitioner_id=practitioner_id, min_notice=min_notice,
        )[:limit]
    return svc, [
        SlotOption(s, data.practitioners[s.practitioner_id], data.locations[s.location_id])  # type: ignore[index]
        for s in slots
    ]


# --------------------------------------------------------------------------- locking and checks


def _lock_practitioners(db: Session, practitioner_ids: Iterable[uuid.UUID]) -> None:
    """Serialise writes to these practitioners' diaries until the transaction ends.

    Locks are taken in a fixed order so two reschedules between the same two people cannot
    deadlock.
    """
    ids = sorted(set(practitioner_ids))
    if db.get_bind().dialect.name == "postgresql":
        for pid in ids:
            key = int.from_bytes(pid.bytes[:8], "big", signed=True)
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        for pid in ids:
            # Any write takes SQLite's single writer lock for the rest of the transaction.
            db.execute(text("UPDATE practitioner SET active = active WHERE id = :id"), {"id": pid.hex})


def _practitioner(db: Session, org: Organization, practitioner_id: uuid.UUID) -> Practitioner:
    p = db.get(Practitioner, practitioner_id)
    if p is None or p.organization_id != org.id or not p.active or p.role == "admin":
        raise InvalidInput("no such practitioner to book with", field="practitioner_id")
    return p


def _location(db: Session, org: Organization, location_id: uuid.UUID) -> Location:
    loc = db.get(Location, location_id)
    if loc is None or loc.organization_id != org.id or not loc.active:
        raise InvalidInput("no such location", field="location_id")
    return loc


def _fmt_local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%a %d %b %Y %H:%M")


def _check_time(
    db: Session,
    org: Organization,
    svc: Service,
    practitioner: Practitioner,
    location: Location,
    start: datetime,
    *,
    now: datetime,
    min_notice: timedelta,
    ignore: Sequence[uuid.UUID] = (),
) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise InvalidInput("start must include a time zone (e.g. 2026-03-02T09:00:00Z)", field="start")
    zone = ZoneInfo(org.timezone)
    day = start.astimezone(zone).date()
    data = load_calendar(db, org, day, day, practitioner_ids=[practitioner.id])
    problems = core.slot_problems(
        data.calendar, svc, practitioner_id=practitioner.id, location_id=location.id, start=start,
        now=now, min_notice=min_notice, ignore_booking_ids=ignore,
    )
    if problems:
        raise problems[0]


def _check_patient_free(
    db: Session, patient_id: uuid.UUID, start: datetime, end: datetime, ignore: Sequence[uuid.UUID] = ()
) -> None:
    q = select(Appointment.start).where(
        Appointment.patient_id == patient_id,
        Appointment.status.not_in(FREED_STATUSES),
        Appointment.start < end,
        Appointment.end > start,
    )
    if ignore:
        q = q.where(Appointment.id.not_in(ignore))
    if db.scalar(q.limit(1)) is not None:
        raise Conflict("the patient already has an appointment at that time", field="start")


def _flush_or_conflict(db: Session, what: str) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} was booked by someone else a moment ago: choose another time", field="start") from exc


def _resolve_patient(db: Session, actor: Actor, patient_id: uuid.UUID | None) -> Patient:
    if actor.role == "patient":
        if patient_id is not None and patient_id != actor.patient_id:
            raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                               action=audit.CREATE)
        patient = db.get(Patient, actor.patient_id) if actor.patient_id else None
        if patient is None:
            raise InvalidInput("this account has no patient record to book for", field="patient_id")
        return patient
    require_staff(actor)
    if patient_id is None:
        raise InvalidInput("choose the patient to book for", field="patient_id")
    patient = db.get(Patient, patient_id)
    if patient is None or patient.organization_id != actor.organization_id:
        raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                           patient_id=patient_id if patient else None, action=audit.CREATE)
    return patient


def _get_appointment(db: Session, actor: Actor, appointment_id: uuid.UUID, action: str) -> Appointment:
    appt = db.get(Appointment, appointment_id)
    if appt is not None:
        patient = db.get(Patient, appt.patient_id)
        allowed = patient is not None and (
            actor.patient_id == patient.id if actor.role == "patient"
            else actor.is_staff and patient.organization_id == actor.organization_id
        )
    else:
        allowed = False
    if appt is None or not allowed:
        raise AccessDenied("appointment not found", entity_type="Appointment", entity_id=appointment_id,
                           patient_id=appt.patient_id if appt else None, action=action)
    return appt


# --------------------------------------------------------------------------- book, move, cancel


def book_appointment(
    db: Session,
    actor: Actor,
    *,
    service: str,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    start: datetime,
    patient_id: uuid.UUID | None = None,
    reason: str = "",
    episode_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book one appointment: a patient for themselves, staff for a patient of their clinic."""
    now = now or utcnow()
    patient = _resolve_patient(db, actor, patient_id)
    org = clinic_for(db, actor)
    svc = _bookable(db, org, service)
    practitioner = _practitioner(db, org, practitioner_id)
    location = _location(db, org, location_id)
    min_notice = PATIENT_MIN_NOTICE if actor.role == "patient" else timedelta(0)
    end = start + timedelta(minutes=svc.duration_minutes)

    _lock_practitioners(db, [practitioner.id])
    _check_time(db, org, svc, practitioner, location, start, now=now, min_notice=min_notice)
    _check_patient_free(db, patient.id, start, end)
    appt = Appointment(
        patient_id=patient.id, practitioner_id=practitioner.id, location_id=location.id,
        episode_id=episode_id, service_type=svc.code, status="booked", start=start, end=end,
        reason=reason[:300],
    )
    db.add(appt)
    _flush_or_conflict(db, f"{_fmt_local(start, ZoneInfo(org.timezone))} with {practitioner.display_name}")
    audit.record(db, actor, audit.CREATE, "Appointment", appt.id, patient_id=patient.id,
                 description=f"booked {svc.code} {start.isoformat()}")
    return appt


def _enforce_cutoff(actor: Actor, appt: Appointment, now: datetime, cutoff: timedelta, verb: str) -> None:
    if appt.status in FREED_STATUSES or appt.status == "fulfilled":
        raise Conflict(f"this appointment is {appt.status} and cannot be {verb}", field="status")
    if appt.start <= now:
        raise Conflict(f"this appointment has already started and cannot be {verb}", field="start")
    if actor.role == "patient" and appt.start - now < cutoff:
        hours = int(cutoff.total_seconds() // 3600)
        raise CutoffPassed(
            f"appointments can be {verb} online up to {hours} hours before; please phone the clinic",
            field="start",
        )


def cancel_appointment(
    db: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    *,
    reason: str = "",
    cutoff: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> Appointment:
    """Cancel: patients up to the clinic's cut-off before the visit, staff at any time before it."""
    now = now or utcnow()
    appt = _get_appointment(db, actor, appointment_id, audit.UPDATE)
    _enforce_cutoff(actor, appt, now, cutoff, "cancelled")
    appt.status = "cancelled"
    appt.cancelled_at = now
    appt.cancellation_reason = (reason or ("cancelled by patient" if actor.role == "patient" else "cancelled by clinic"))[:300]
    appt.ical_sequence += 1
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description=f"cancelled: {appt.cancellation_reason}")
    return appt


def reschedule_appointment(
    db: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    *,
    start: datetime,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    cutoff: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment (same service), re-checked like a new booking; it cannot clash with itself."""
    now = now or utcnow()
    appt = _get_appointment(db, actor, appointment_id, audit.UPDATE)
    _enforce_cutoff(actor, appt, now, cutoff, "moved")
    org = clinic_for(db, actor)
    svc = service_named(db, org.id, appt.service_type)
    if svc is None:
        raise Conflict("this appointment's service is no longer offered: book a new one", field="service")
    # A moved appointment keeps the length it was booked with, whatever the service says today.
    booked_minutes = max(1, int((appt.end - appt.start) / timedelta(minutes=1)))
    svc = svc.model_copy(update={"duration_minutes": booked_minutes})
    practitioner = _practitioner(db, org, practitioner_id or appt.practitioner_id)
    location = _location(db, org, location_id or appt.location_id)
    min_notice = PATIENT_MIN_NOTICE if actor.role == "patient" else timedelta(0)
    end = start + timedelta(minutes=svc.duration_minutes)

    _lock_practitioners(db, {appt.practitioner_id, practitioner.id})
    _check_time(db, org, svc, practitioner, location, start, now=now, min_notice=min_notice, ignore=[appt.id])
    _check_patient_free(db, appt.patient_id, start, end, ignore=[appt.id])
    before = appt.start
    appt.start, appt.end = start, end
    appt.practitioner_id, appt.location_id = practitioner.id, location.id
    appt.ical_sequence += 1
    appt.reminder_sent_at = None
    _flush_or_conflict(db, f"{_fmt_local(start, ZoneInfo(org.timezone))} with {practitioner.display_name}")
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description=f"moved from {before.isoformat()} to {start.isoformat()}")
    return appt


def mark_no_show(db: Session, actor: Actor, appointment_id: uuid.UUID, *, now: datetime | None = None) -> Appointment:
    """Staff record that the patient did not come (only once the visit has started)."""
    require_staff(actor)
    now = now or utcnow()
    appt = _get_appointment(db, actor, appointment_id, audit.UPDATE)
    if appt.status not in ("booked", "arrived", "checked-in"):
        raise Conflict(f"a {appt.status} appointment cannot be marked as a no-show", field="status")
    if appt.start > now:
        raise Conflict("a visit that has not started yet cannot be a no-show", field="start")
    appt.status = "noshow"
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description="marked no-show")
    return appt


def list_patient_appointments(db: Session, actor: Actor, patient_id: uuid.UUID | None = None) -> list[Appointment]:
    """A patient's appointments, soonest first (patients: their own)."""
    pid = actor.patient_id if actor.role == "patient" else patient_id
    patient = _resolve_patient(db, actor, pid) if pid else None
    if patient is None:
        raise InvalidInput("choose the patient", field="patient_id")
    rows = list(db.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.start)
    ))
    audit.record(db, actor, audit.READ, "Appointment", patient_id=patient.id,
                 description=f"appointment list: {len(rows)}")
    return rows


def get_appointment(db: Session, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    appt = _get_appointment(db, actor, appointment_id, audit.READ)
    audit.record(db, actor, audit.READ, "Appointment", appt.id, patient_id=appt.patient_id)
    return appt


# --------------------------------------------------------------------------- new patients


def register_patient(
    db: Session,
    *,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex: str,
    email: str,
    password: str,
    phone: str | None = None,
    today: date | None = None,
) -> UserAccount:
    """Create a Patient and their sign-in (role patient) for a direct booking: no referral needed."""
    today = today or date.today()
    given_name, family_name, email = given_name.strip(), family_name.strip(), email.strip().lower()
    if not given_name:
        raise InvalidInput("enter your first name", field="given_name")
    if not family_name:
        raise InvalidInput("enter your last name", field="family_name")
    if not (date(today.year - 120, 1, 1) <= birth_date <= today):
        raise InvalidInput("enter your real date of birth", field="birth_date")
    if sex not in Sex.__members__:
        raise InvalidInput("choose one of the options", field="sex")
    if "@" not in email or "." not in email.rsplit("@", 1)[-1] or len(email) > 200:
        raise InvalidInput("enter an email address like name@example.com", field="email")
    if len(password) < 10:
        raise InvalidInput("choose a password of at least 10 characters", field="password")
    if db.scalar(select(UserAccount.id).where(func.lower(UserAccount.email) == email)) is not None:
        raise Conflict("an account with this email already exists: sign in to book", field="email")
    org = clinic_for(db, None)
    patient = Patient(
        organization_id=org.id, identifier=f"HF-W{secrets.token_hex(4).upper()}", given_name=given_name[:100],
        family_name=family_name[:100], birth_date=birth_date, sex=sex, email=email, phone=phone,
    )
    db.add(patient)
    db.flush()
    account = UserAccount(
        email=email, password_hash=hash_password(password), role="patient", organization_id=org.id,
        patient_id=patient.id, display_name=patient.display_name,
    )
    db.add(account)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict("an account with this email already exists: sign in to book", field="email") from exc
    audit.record(db, None, audit.CREATE, "Patient", patient.id, patient_id=patient.id,
                 description="self-registered to book an appointment")
    return account


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class AppointmentNotice:
    """Everything an e-mail about one appointment says; built from rows, sent without the DB."""

    kind: str  # confirmed | rescheduled | cancelled | reminder
    appointment_id: uuid.UUID
    to_email: str | None
    patient_name: str
    service_name: str
    practitioner_name: str
    location_name: str
    location_address: str
    start: datetime
    end: datetime
    timezone: str
    sequence: int
    clinic_name: str
    clinic_email: str | None
    clinic_phone: str | None


def notice_for(db: Session, appt: Appointment, kind: str) -> AppointmentNotice:
    patient = db.get(Patient, appt.patient_id)
    practitioner = db.get(Practitioner, appt.practitioner_id)
    location = db.get(Location, appt.location_id)
    assert patient is not None and practitioner is not None and location is not None
    org = db.get(Organization, patient.organization_id)
    assert org is not None
    email = patient.email or db.scalar(select(UserAccount.email).where(UserAccount.patient_id == patient.id))
    svc = service_named(db, org.id, appt.service_type)
    # A cancellation goes out with the sequence it had before cancelling; build_cancellation bumps it.
    sequence = appt.ical_sequence - 1 if kind == "cancelled" else appt.ical_sequence
    return AppointmentNotice(
        kind=kind, appointment_id=appt.id, to_email=email, patient_name=patient.display_name,
        service_name=svc.name if svc else appt.service_type, practitioner_name=practitioner.display_name,
        location_name=location.name,
        location_address=", ".join(p for p in (location.address_line, location.city, location.postcode) if p),
        start=appt.start, end=appt.end, timezone=org.timezone, sequence=max(sequence, 0),
        clinic_name=org.name, clinic_email=org.email, clinic_phone=org.phone,
    )


# --------------------------------------------------------------------------- staff: calendar


@dataclass
class CalendarDay:
    day: date
    windows: list[tuple[datetime, datetime, Practitioner, Location]] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class CalendarView:
    first: date
    last: date
    zone: ZoneInfo
    days: list[CalendarDay]
    practitioners: dict[uuid.UUID, Practitioner]
    locations: dict[uuid.UUID, Location]
    patients: dict[uuid.UUID, Patient]


def calendar_view(
    db: Session,
    actor: Actor,
    first: date,
    days: int = 7,
    *,
    location_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
) -> CalendarView:
    """A day or week of the diary for one location or one practitioner (or everyone)."""
    require_staff(actor)
    if not 1 <= days <= 31:
        raise InvalidInput("show 1 to 31 days", field="days")
    org = clinic_for(db, actor)
    last = first + timedelta(days=days - 1)
    data = load_calendar(db, org, first, last, practitioner_ids=[practitioner_id] if practitioner_id else None)
    zone = data.zone
    lo = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    q = (
        select(Appointment, Patient)
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(Patient.organization_id == org.id, Appointment.start >= lo, Appointment.start < hi)
        .order_by(Appointment.start, Appointment.id)
    )
    if location_id:
        q = q.where(Appointment.location_id == location_id)
    if practitioner_id:
        q = q.where(Appointment.practitioner_id == practitioner_id)
    rows = db.execute(q).all()
    by_day = {first + timedelta(days=i): CalendarDay(first + timedelta(days=i)) for i in range(days)}
    patients: dict[uuid.UUID, Patient] = {}
    for appt, patient in rows:
        patients[patient.id] = patient
        d = appt.start.astimezone(zone).date()
        if d in by_day:
            by_day[d].appointments.append(appt)
    for rule in data.calendar.rules:
        if location_id and rule.location_id != location_id:
            continue
        if practitioner_id and rule.practitioner_id != practitioner_id:
            continue
        for d, cd in by_day.items():
            if rule.weekday == d.weekday() and rule.valid_on(d):
                cd.windows.append((
                    datetime.combine(d, rule.start, tzinfo=zone), datetime.combine(d, rule.end, tzinfo=zone),
                    data.practitioners[rule.practitioner_id], data.locations[rule.location_id],  # type: ignore[index]
                ))
    for cd in by_day.values():
        cd.windows.sort(key=lambda w: (w[0], w[2].family_name))
    audit.record(db, actor, audit.READ, "Appointment",
                 description=f"calendar {first.isoformat()} +{days}d: {len(rows)} appointments")
    return CalendarView(first, last, zone, list(by_day.values()), data.practitioners, data.locations, patients)


@dataclass
class NoShowStats:
    by_patient: list[tuple[Patient, int, int]]  # patient, no-shows, cancellations
    by_practitioner: list[tuple[Practitioner, int, int]]


def no_show_stats(db: Session, actor: Actor, *, limit: int = 50) -> NoShowStats:
    """No-show and cancellation counts per patient and per clinician, most no-shows first."""
    require_staff(actor)
    rows = db.execute(
        select(Appointment.patient_id, Appointment.practitioner_id, Appointment.status, func.count())
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(Patient.organization_id == actor.organization_id, Appointment.status.in_(("noshow", "cancelled")))
        .group_by(Appointment.patient_id, Appointment.practitioner_id, Appointment.status)
    ).all()
    pat: Counter[tuple[uuid.UUID, str]] = Counter()
    prac: Counter[tuple[uuid.UUID, str]] = Counter()
    for pid, rid, status, n in rows:
        pat[(pid, status)] += n
        prac[(rid, status)] += n
    patient_ids = {k[0] for k in pat}
    practitioner_ids = {k[0] for k in prac}
    patients = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(patient_ids)))} if patient_ids else {}
    practitioners = (
        {p.id: p for p in db.scalars(select(Practitioner).where(Practitioner.id.in_(practitioner_ids)))}
        if practitioner_ids else {}
    )
    by_patient = sorted(
        ((patients[i], pat[(i, "noshow")], pat[(i, "cancelled")]) for i in patient_ids),
        key=lambda t: (-t[1], -t[2], t[0].family_name),
    )[:limit]
    by_practitioner = sorted(
        ((practitioners[i], prac[(i, "noshow")], prac[(i, "cancelled")]) for i in practitioner_ids),
        key=lambda t: (-t[1], -t[2], t[0].family_name),
    )
    audit.record(db, actor, audit.READ, "Appointment", description="no-show and cancellation counts")
    return NoShowStats(by_patient, by_practitioner)


# --------------------------------------------------------------------------- staff: rota


def add_rule(
    db: Session,
    actor: Actor,
    *,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    weekday: int,
    start: time,
    end: time,
    services: Sequence[str] = (),
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> AvailabilityRule:
    """A weekly opening for a practitioner at a location (creates their schedule there if new)."""
    require_admin(actor)
    org = clinic_for(db, actor)
    practitioner = _practitioner(db, org, practitioner_id)
    location = _location(db, org, location_id)
    if not 0 <= weekday <= 6:
        raise InvalidInput("weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
    if start >= end:
        raise InvalidInput("the opening must end after it starts", field="end")
    if valid_from and valid_to and valid_from > valid_to:
        raise InvalidInput("valid_to is before valid_from", field="valid_to")
    catalogue = services_for(db, org.id)
    for code in services:
        svc = get_service(code, catalogue)
        if not svc.provided_by(practitioner.role):
            raise InvalidInput(f"{svc.name} is not provided by a {practitioner.role_label.lower()}", field="services")
    schedule = db.scalar(select(Schedule).where(
        Schedule.practitioner_id == practitioner.id, Schedule.location_id == location.id))
    if schedule is None:
        schedule = Schedule(practitioner_id=practitioner.id, location_id=location.id,
                            comment=f"{practitioner.display_name} at {location.name}")
        db.add(schedule)
        db.flush()
    schedule.active = True
    rule = AvailabilityRule(schedule_id=schedule.id, weekday=weekday, start_time=start, end_time=end,
                            services=list(services), valid_from=valid_from, valid_to=valid_to)
    db.add(rule)
    db.flush()
    audit.record(db, actor, audit.CREATE, "AvailabilityRule", rule.id,
                 description=f"{practitioner.display_name} at {location.name} weekday {weekday} {start}-{end}")
    return rule


def delete_rule(db: Session, actor: Actor, rule_id: uuid.UUID) -> None:
    require_admin(actor)
    row = db.execute(
        select(AvailabilityRule, Practitioner.organization_id)
        .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
        .join(Practitioner, Schedule.practitioner_id == Practitioner.id)
        .where(AvailabilityRule.id == rule_id)
    ).first()
    if row is None or row[1] != actor.organization_id:
        raise NotFound("no such availability rule")
    db.delete(row[0])
    db.flush()
    audit.record(db, actor, audit.DELETE, "AvailabilityRule", rule_id)


def list_rota(db: Session, actor: Actor) -> tuple[list[tuple[AvailabilityRule, Practitioner, Location]], list[AvailabilityException]]:
    require_staff(actor)
    rules = [
        (r, p, loc) for r, p, loc in db.execute(
            select(AvailabilityRule, Practitioner, Location)
            .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
            .join(Practitioner, Schedule.practitioner_id == Practitioner.id)
            .join(Location, Schedule.location_id == Location.id)
            .where(Practitioner.organization_id == actor.organization_id)
            .order_by(Practitioner.family_name, AvailabilityRule.weekday, AvailabilityRule.start_time)
        ).all()
    ]
    org_pracs = select(Practitioner.id).where(Practitioner.organization_id == actor.organization_id)
    org_locs = select(Location.id).where(Location.organization_id == actor.organization_id)
    exceptions = list(db.scalars(
        select(AvailabilityException)
        .where(or_(AvailabilityException.practitioner_id.in_(org_pracs), AvailabilityException.location_id.in_(org_locs)),
               AvailabilityException.end > utcnow() - timedelta(days=1))
        .order_by(AvailabilityException.start)
    ))
    return rules, exceptions


def add_exception(
    db: Session,
    actor: Actor,
    *,
    start: datetime,
    end: datetime,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    reason: str = "",
) -> AvailabilityException:
    """Leave (a practitioner), a closure (a location), or a practitioner away from one location."""
    require_admin(actor)
    org = clinic_for(db, actor)
    if practitioner_id is None and location_id is None:
        raise InvalidInput("choose a practitioner (leave) or a location (closure)", field="practitioner_id")
    if practitioner_id is not None:
        _practitioner(db, org, practitioner_id)
    if location_id is not None:
        _location(db, org, location_id)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInput("include a time zone", field=name)
    if end <= start:
        raise InvalidInput("the exception must end after it starts", field="end")
    exc = AvailabilityException(practitioner_id=practitioner_id, location_id=location_id, start=start, end=end,
                                reason=reason[:200])
    db.add(exc)
    db.flush()
    audit.record(db, actor, audit.CREATE, "AvailabilityException", exc.id, description=reason[:200])
    return exc


def delete_exception(db: Session, actor: Actor, exception_id: uuid.UUID) -> None:
    require_admin(actor)
    exc = db.get(AvailabilityException, exception_id)
    if exc is None:
        raise NotFound("no such exception")
    owners = []
    if exc.practitioner_id:
        owners.append(db.get(Practitioner, exc.practitioner_id))
    if exc.location_id:
        owners.append(db.get(Location, exc.location_id))  # type: ignore[arg-type]
    if not owners or any(o is None or o.organization_id != actor.organization_id for o in owners):
        raise NotFound("no such exception")
    db.delete(exc)
    db.flush()
    audit.record(db, actor, audit.DELETE, "AvailabilityException", exception_id)


# --------------------------------------------------------------------------- staff: series


@dataclass(frozen=True)
class SeriesDefault:
    """A series suggested by the patient's recovery plan (dressings every other day, say)."""

    service: str
    first: date
    until: date
    every_days: int | None
    weekdays: tuple[int, ...]
    source: str


_PLAN_SERIES = {
    "dressings_every_other_day": ("nurse_dressing", 2),
}


def series_default(db: Session, actor: Actor, patient_id: uuid.UUID) -> SeriesDefault | None:
    """The dressings window of the patient's active recovery plan, when there is one."""
    require_staff(actor)
    patient = _resolve_patient(db, actor, patient_id)
    row = db.execute(
        select(CarePlanActivity, CarePlan.title)
        .join(CarePlan, CarePlanActivity.care_plan_id == CarePlan.id)
        .where(CarePlan.patient_id == patient.id, CarePlan.kind == "recovery", CarePlan.status == "active",
               CarePlanActivity.code.in_(list(_PLAN_SERIES)))
        .order_by(CarePlan.period_start.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    activity, title = row
    service, every = _PLAN_SERIES[activity.code]
    first = activity.earliest or activity.typical
    until = activity.latest or activity.typical
    if first is None or until is None:
        return None
    return SeriesDefault(service, first, until, every, (), f"{title}: {activity.title}")


def plan_series(
    db: Session,
    actor: Actor,
    *,
    patient_id: uuid.UUID,
    service: str,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    first: datetime,
    every_days: int | None = None,
    weekdays: Sequence[int] = (),
    every_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> core.SeriesPlan:
    """Expand and check a series without writing anything (for the review screen)."""
    require_staff(actor)
    now = now or utcnow()
    _resolve_patient(db, actor, patient_id)
    org = clinic_for(db, actor)
    practitioner = _practitioner(db, org, practitioner_id)
    _location(db, org, location_id)
    svc = _bookable(db, org, service)
    try:
        recurrence = core.Recurrence(every_days=every_days, weekdays=frozenset(weekdays), every_weeks=every_weeks)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="every_days") from exc
    zone = ZoneInfo(org.timezone)
    local_first = first.astimezone(zone).replace(tzinfo=None) if first.tzinfo else first
    dates = core.expand_series(local_first, recurrence, count=count, until=until)
    data = load_calendar(db, org, dates[0].date(), dates[-1].date(), practitioner_ids=[practitioner.id])
    return core.plan_series(
        data.calendar, svc, practitioner_id=practitioner.id, location_id=location_id, first=local_first,
        recurrence=recurrence, now=now, count=count, until=until,
    )


def book_series(
    db: Session,
    actor: Actor,
    *,
    patient_id: uuid.UUID,
    service: str,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    first: datetime,
    every_days: int | None = None,
    weekdays: Sequence[int] = (),
    every_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> list[Appointment]:
    """Book a whole series or nothing: any clash (with the diary or within the series) refuses it."""
    require_staff(actor)
    now = now or utcnow()
    _lock_practitioners(db, [practitioner_id])
    plan = plan_series(
        db, actor, patient_id=patient_id, service=service, practitioner_id=practitioner_id,
        location_id=location_id, first=first, every_days=every_days, weekdays=weekdays,
        every_weeks=every_weeks, count=count, until=until, now=now,
    )
    if not plan.ok:
        clash = plan.clashes[0]
        problem = clash.problems[0]
        more = f" (and {len(plan.clashes) - 1} more)" if len(plan.clashes) > 1 else ""
        raise type(problem)(
            problem.problem,
            f"Occurrence {clash.index + 1} on {clash.local_start.strftime('%a %d %b %Y %H:%M')}: "
            f"{problem.message}{more}",
            occurrence=clash.index,
        )
    series_id = uuid.uuid4()
    appts = []
    for occ in plan.occurrences:
        _check_patient_free(db, patient_id, occ.start, occ.end)
        appt = Appointment(
            patient_id=patient_id, practitioner_id=practitioner_id, location_id=location_id,
            service_type=service, status="booked", start=occ.start, end=occ.end, reason=reason[:300],
            series_id=series_id,
        )
        db.add(appt)
        appts.append(appt)
    _flush_or_conflict(db, "A time in this series")
    audit.record(db, actor, audit.CREATE, "Appointment", series_id, patient_id=patient_id,
                 description=f"series of {len(appts)} {service}")
    return appts


# --------------------------------------------------------------------------- reminders


def due_reminders(db: Session, *, now: datetime, within: timedelta) -> list[uuid.UUID]:
    """Booked appointments starting within ``within`` from now that have had no reminder yet."""
    return list(db.scalars(
        select(Appointment.id).where(
            Appointment.status == "booked",
            Appointment.reminder_sent_at.is_(None),
            Appointment.start > now,
            Appointment.start <= now + within,
        ).order_by(Appointment.start)
    ))


def claim_reminder(db: Session, appointment_id: uuid.UUID, *, now: datetime) -> Appointment | None:
    """Mark the reminder as sent, atomically: only one run (of any number at once) wins the row."""
    result = db.execute(
        Appointment.__table__.update()  # type: ignore[attr-defined]
        .where(Appointment.id == appointment_id, Appointment.reminder_sent_at.is_(None),
               Appointment.status == "booked")
        .values(reminder_sent_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    appt = db.get(Appointment, appointment_id)
    if appt is not None:
        db.refresh(appt)
    return appt


def release_reminder(db: Session, appointment_id: uuid.UUID) -> None:
    """Sending failed: let a later run try again."""
    db.execute(
        Appointment.__table__.update()  # type: ignore[attr-defined]
        .where(Appointment.id == appointment_id).values(reminder_sent_at=None)
    )
