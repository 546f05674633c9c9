"""Reminder bookkeeping: which appointments are due one, and claiming each exactly once.

:func:`hindfoot.scheduling.notifications.send_reminders` drives these and sends the e-mails.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.db.models import Appointment


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
