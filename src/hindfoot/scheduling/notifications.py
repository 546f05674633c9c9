"""Appointment e-mails: confirmation (with an iCalendar invite), change, cancellation, reminder.

Built from an :class:`~hindfoot.scheduling.notices.AppointmentNotice` (no database here) and sent
over SMTP after the booking has committed: a confirmation must never describe a booking that
then rolled back. A failed send is logged, not raised: the booking itself stands.

Reminders (`hindfoot reminders send`, from cron) are sent at most once per visit: each one is
claimed by setting ``reminder_sent_at`` in its own committed transaction before the message
goes out; only a send that fails releases the claim for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hindfoot.audit import service as audit
from hindfoot.notifications.email import Attachment, EmailError, OutgoingEmail, send
from hindfoot.scheduling import notices, reminders
from hindfoot.scheduling.ical import (
    Attendee,
    CalendarAppointment,
    appointment_uid,
    build_cancellation,
    build_invite,
    build_series_invite,
)
from hindfoot.scheduling.notices import AppointmentNotice
from hindfoot.settings import Settings

log = logging.getLogger(__name__)

_SUBJECTS = {
    "confirmed": "Appointment confirmed",
    "rescheduled": "Appointment moved",
    "cancelled": "Appointment cancelled",
    "reminder": "Reminder: your appointment",
}


def calendar_item(settings: Settings, notice: AppointmentNotice) -> CalendarAppointment:
    organizer_email = notice.clinic_email or parseaddr(settings.smtp_sender)[1] or "no-reply@hindfoot.local"
    return CalendarAppointment(
        uid=appointment_uid(notice.appointment_id),
        start=notice.start,
        end=notice.end,
        summary=f"{notice.service_name} with {notice.practitioner_name}",
        location=f"{notice.location_name}, {notice.location_address}".strip(", "),
        organizer=Attendee(organizer_email, notice.clinic_name),
        attendees=(Attendee(notice.to_email, notice.patient_name),) if notice.to_email else (),
        description=(
            f"{notice.service_name} at {notice.location_name}. "
            f"To change or cancel: {settings.base_url.rstrip('/')}/appointments/{notice.appointment_id}"
        ),
        sequence=notice.sequence,
    )


def build_email(settings: Settings, notice: AppointmentNotice) -> OutgoingEmail:
    if not notice.to_email:
        raise ValueError("the patient has no e-mail address")
    zone = ZoneInfo(notice.timezone)
    when = notice.start.astimezone(zone).strftime("%A %d %B %Y at %H:%M")
    manage = f"{settings.base_url.rstrip('/')}/appointments/{notice.appointment_id}"
    cutoff = settings.booking_cutoff_hours
    lines = [f"Dear {notice.patient_name},", ""]
    if notice.kind == "cancelled":
        lines += [f"Your {notice.service_name.lower()} on {when} at {notice.location_name} has been cancelled.",
                  "", f"To book again: {settings.base_url.rstrip('/')}/book"]
    else:
        intro = {
            "confirmed": "Your appointment is booked:",
            "rescheduled": "Your appointment has been moved. The new time is:",
            "reminder": "This is a reminder of your appointment:",
        }[notice.kind]
        lines += [
            intro, "",
            f"  {notice.service_name} with {notice.practitioner_name}",
            f"  {when} ({zone.key} time)",
            f"  {notice.location_name}, {notice.location_address}",
            "",
            "Bring any scans or reports you already have. No referral is needed.",
            f"To change or cancel (online up to {cutoff} hours before): {manage}",
        ]
    if notice.clinic_phone:
        lines += ["", f"Questions? Call us on {notice.clinic_phone}."]
    lines += ["", notice.clinic_name]
    item = calendar_item(settings, notice)
    if notice.kind == "cancelled":
        attachment = Attachment("cancel.ics", build_cancellation(item), params={"method": "CANCEL"})
    else:
        attachment = Attachment("invite.ics", build_invite(item), params={"method": "REQUEST"})
    return OutgoingEmail(
        to=notice.to_email,
        subject=f"{_SUBJECTS[notice.kind]}: {notice.start.astimezone(zone).strftime('%a %d %b %H:%M')}, "
        f"{notice.location_name}",
        text="\n".join(lines) + "\n",
        attachments=(attachment,),
    )


def build_series_email(settings: Settings, series: list[AppointmentNotice]) -> OutgoingEmail:
    """One confirmation for a booked series: every date in the text, one calendar file with them all."""
    first = series[0] if series else None
    if first is None or not first.to_email:
        raise ValueError("no appointments, or the patient has no e-mail address")
    to = first.to_email
    zone = ZoneInfo(first.timezone)
    lines = [f"Dear {first.patient_name},", "",
             f"Your {len(series)} appointments are booked ({first.service_name} with {first.practitioner_name}, "
             f"{first.location_name}, {first.location_address}):", ""]
    lines += [f"  {n.start.astimezone(zone).strftime('%a %d %B %Y at %H:%M')}" for n in series]
    lines += ["", f"All times are {zone.key} time. The attached calendar file adds them all at once.",
              f"To change one: {settings.base_url.rstrip('/')}/appointments"]
    if first.clinic_phone:
        lines += ["", f"Questions? Call us on {first.clinic_phone}."]
    lines += ["", first.clinic_name]
    attachment = Attachment("appointments.ics", build_series_invite([calendar_item(settings, n) for n in series]),
                            params={"method": "REQUEST"})
    return OutgoingEmail(
        to=to, subject=f"{len(series)} appointments booked: from "
        f"{first.start.astimezone(zone).strftime('%a %d %b')}, {first.location_name}",
        text="\n".join(lines) + "\n", attachments=(attachment,))


def deliver_series(settings: Settings, series: list[AppointmentNotice]) -> bool:
    """Send a series' one confirmation; True when the SMTP server took it. Failures are logged."""
    if not series or not series[0].to_email:
        return False
    try:
        send(settings, build_series_email(settings, series))
    except EmailError as exc:
        log.warning("series of %d: confirmation e-mail not sent: %s", len(series), exc)
        return False
    return True


def deliver(settings: Settings, notice: AppointmentNotice) -> bool:
    """Send one appointment e-mail; True when the SMTP server took it. Failures are logged."""
    if not notice.to_email:
        return False
    try:
        send(settings, build_email(settings, notice))
    except EmailError as exc:
        log.warning("appointment %s: %s e-mail not sent: %s", notice.appointment_id, notice.kind, exc)
        return False
    return True


@dataclass(frozen=True)
class ReminderRun:
    due: int
    sent: int
    failed: int
    skipped: int


def send_reminders(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime, within: timedelta
) -> ReminderRun:
    """Send every due reminder once. Safe to run from cron at any interval, even twice at once."""
    with factory() as db:
        due = reminders.due_reminders(db, now=now, within=within)
    sent = failed = skipped = 0
    for appointment_id in due:
        with factory() as db:
            appt = reminders.claim_reminder(db, appointment_id, now=now)
            if appt is None:
                db.rollback()
                skipped += 1  # another run got there first, or it was cancelled meanwhile
                continue
            notice = notices.notice_for(db, appt, "reminder")
            audit.record(db, None, audit.EXECUTE, "Appointment", appt.id, patient_id=appt.patient_id,
                         description="reminder e-mail")
            db.commit()
        if notice.to_email and deliver(settings, notice):
            sent += 1
            continue
        with factory() as db:
            reminders.release_reminder(db, appointment_id)
            db.commit()
        failed += 1
    return ReminderRun(len(due), sent, failed, skipped)
