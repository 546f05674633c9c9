"""Booking one appointment: book, reschedule, cancel, mark a no-show, list and read.

Each write checks the time, then locks the practitioner's diary and the patient's appointments and re-checks what a concurrent
booking can have changed (:mod:`.guards`) before it flushes; services flush and never commit. Times are UTC instants, shown on the clinic's clocks.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.base import utcnow
from hindfoot.db.models import Appointment
from hindfoot.errors import Conflict, InvalidInput
from hindfoot.scheduling import guards, waitlist
from hindfoot.scheduling.clinic import FREED_STATUSES, clinic_for, service_named
from hindfoot.scheduling.guards import PATIENT_MIN_NOTICE


class CutoffPassed(Conflict):
    code = "cutoff_passed"


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
    # One query for the clinic, patient, practitioner and location (and on PostgreSQL the clinic's services),
    # read as plain rows and checked as resolve_patient, clinic_for, bookable_service, bookable_practitioner
    # and active_location check them.
    parties = guards.booking_parties(db, actor, service=service, patient_id=patient_id,
                                     practitioner_id=practitioner_id, location_id=location_id)
    org, patient, svc = parties.clinic, parties.patient, parties.service
    practitioner, location = parties.practitioner, parties.location
    min_notice = PATIENT_MIN_NOTICE if actor.role == "patient" else timedelta(0)
    end = start + timedelta(minutes=svc.duration_minutes)

    guards.check_time(db, org, svc, practitioner, location, start, now=now, min_notice=min_notice)
    # The lock, held to the commit, as late as possible; with it, one query for the practitioner's and
    # the patient's clashes (check_patient_free's question too), in the same round trip on PostgreSQL.
    # On PostgreSQL the INSERT goes in the same round trip, written only if the re-check finds nothing.
    appt = Appointment(
        patient_id=patient.id, practitioner_id=practitioner.id, location_id=location.id,
        episode_id=episode_id, service_type=svc.code, status="booked", start=start, end=end,
        reason=reason[:300],
    )
    guards.book_locked(db, org, practitioner, appt,
                       f"{guards.fmt_local(start, ZoneInfo(org.timezone))} with {practitioner.display_name}")
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
    appt = guards.visible_appointment(db, actor, appointment_id, audit.UPDATE)
    _enforce_cutoff(actor, appt, now, cutoff, "cancelled")
    appt.status = "cancelled"
    appt.cancelled_at = now
    appt.cancellation_reason = (reason or ("cancelled by patient" if actor.role == "patient" else "cancelled by clinic"))[:300]
    appt.ical_sequence += 1
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description=f"cancelled: {appt.cancellation_reason}")
    waitlist.offer_freed(db, waitlist.FreedTime.of(appt), now=now)  # emailed after the commit (waitlist.send_pending)
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
    appt = guards.visible_appointment(db, actor, appointment_id, audit.UPDATE)
    _enforce_cutoff(actor, appt, now, cutoff, "moved")
    org = clinic_for(db, actor)
    svc = service_named(db, org.id, appt.service_type)
    if svc is None:
        raise Conflict("this appointment's service is no longer offered: book a new one", field="service")
    # A moved appointment keeps the length it was booked with, whatever the service says today.
    booked_minutes = max(1, int((appt.end - appt.start) / timedelta(minutes=1)))
    svc = svc.model_copy(update={"duration_minutes": booked_minutes})
    practitioner = guards.bookable_practitioner(db, org, practitioner_id or appt.practitioner_id)
    location = guards.active_location(db, org, location_id or appt.location_id)
    min_notice = PATIENT_MIN_NOTICE if actor.role == "patient" else timedelta(0)
    end = start + timedelta(minutes=svc.duration_minutes)

    guards.check_time(db, org, svc, practitioner, location, start, now=now, min_notice=min_notice, ignore=[appt.id])
    guards.check_patient_free(db, appt.patient_id, start, end, ignore=[appt.id])
    guards.lock_and_recheck(db, org, {appt.practitioner_id, practitioner.id}, practitioner, appt.patient_id,
                            start, end, ignore=[appt.id])
    before = appt.start
    freed = waitlist.FreedTime.of(appt)
    appt.start, appt.end = start, end
    appt.practitioner_id, appt.location_id = practitioner.id, location.id
    appt.ical_sequence += 1
    appt.reminder_sent_at = None
    guards.flush_or_conflict(db, f"{guards.fmt_local(start, ZoneInfo(org.timezone))} with {practitioner.display_name}")
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description=f"moved from {before.isoformat()} to {start.isoformat()}")
    waitlist.offer_freed(db, freed, now=now)  # the time it left, emailed after the commit
    return appt


def mark_no_show(db: Session, actor: Actor, appointment_id: uuid.UUID, *, now: datetime | None = None) -> Appointment:
    """Staff record that the patient did not come (only once the visit has started)."""
    require_front_desk(actor)
    now = now or utcnow()
    appt = guards.visible_appointment(db, actor, appointment_id, audit.UPDATE)
    if appt.status not in ("booked", "arrived", "checked-in"):
        raise Conflict(f"a {appt.status} appointment cannot be marked as a no-show", field="status")
    if appt.start > now:
        raise Conflict("a visit that has not started yet cannot be a no-show", field="start")
    appt.status = "noshow"
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description="marked no-show")
    return appt


ARRIVAL_WINDOW = timedelta(hours=12)  # the desk may check a patient in on the day, not for a later visit


def check_in(db: Session, actor: Actor, appointment_id: uuid.UUID, *, now: datetime | None = None) -> Appointment:
    """The desk records that the patient has arrived (FHIR status ``arrived``), with the time."""
    require_front_desk(actor)
    now = now or utcnow()
    appt = guards.visible_appointment(db, actor, appointment_id, audit.UPDATE)
    if appt.status != "booked":
        raise Conflict(f"a {appt.status} appointment cannot be checked in", field="status")
    if appt.start - now > ARRIVAL_WINDOW:
        raise Conflict("this visit is not today: the patient can be checked in on the day", field="start")
    if now - appt.end > ARRIVAL_WINDOW:
        raise Conflict("this visit is over: mark it seen or did not attend", field="start")
    appt.status, appt.checked_in_at = "arrived", now
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description="checked in (arrived)")
    return appt


def mark_seen(db: Session, actor: Actor, appointment_id: uuid.UUID, *, now: datetime | None = None) -> Appointment:
    """The clinician has seen the patient (FHIR status ``fulfilled``), with the time; never a future visit."""
    require_front_desk(actor)
    now = now or utcnow()
    appt = guards.visible_appointment(db, actor, appointment_id, audit.UPDATE)
    if appt.status not in ("booked", "arrived"):
        raise Conflict(f"a {appt.status} appointment cannot be marked seen", field="status")
    if appt.start - now > ARRIVAL_WINDOW:
        raise Conflict("a visit that has not happened yet cannot be marked seen", field="start")
    appt.status, appt.seen_at = "fulfilled", now
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Appointment", appt.id, patient_id=appt.patient_id,
                 description="seen (fulfilled)")
    return appt


def list_patient_appointments(db: Session, actor: Actor, patient_id: uuid.UUID | None = None) -> list[Appointment]:
    """A patient's appointments, soonest first (patients: their own)."""
    pid = actor.patient_id if actor.role == "patient" else patient_id
    patient = guards.resolve_patient(db, actor, pid) if pid else None
    if patient is None:
        raise InvalidInput("choose the patient", field="patient_id")
    rows = list(db.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.start)
    ))
    audit.record(db, actor, audit.READ, "Appointment", patient_id=patient.id,
                 description=f"appointment list: {len(rows)}")
    return rows


def get_appointment(db: Session, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    appt = guards.visible_appointment(db, actor, appointment_id, audit.READ)
    audit.record(db, actor, audit.READ, "Appointment", appt.id, patient_id=appt.patient_id)
    return appt
