"""Questionnaire reminders by email: one per episode and time point, ever.

`pending` lists the (patient, episode, time point) whose questionnaires are open (due or overdue)
and not all answered, for patients with an email address and no reminder sent yet for that time
point. `send` records the reminder first (the unique (episode, time point) row) and then emails, so
a second run, or a second process racing this one, cannot send it again; if the SMTP server
refuses, the row is withdrawn and the next run tries again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.db.base import utcnow
from hindfoot.db.models import EpisodeOfCare, OutcomeReminder, Patient
from hindfoot.notifications.email import OutgoingEmail, send
from hindfoot.outcomes.due_list import DueRow, due_rows
from hindfoot.outcomes.vocabulary import INSTRUMENT_TITLES, TIMEPOINT_LABELS
from hindfoot.settings import Settings

__all__ = ["Reminder", "pending", "send_reminder"]


@dataclass(frozen=True)
class Reminder:
    patient_id: uuid.UUID
    episode_id: uuid.UUID
    email: str
    given_name: str
    timepoint: str
    instruments: tuple[str, ...]
    due: date


def pending(db: Session, today: date) -> list[Reminder]:
    patients = db.scalars(
        select(Patient).where(Patient.active, Patient.email.is_not(None))
        .where(select(EpisodeOfCare.id).where(EpisodeOfCare.patient_id == Patient.id,
                                              EpisodeOfCare.status.in_(("active", "planned", "waitlist", "onhold")))
               .exists())
        .order_by(Patient.id)
    ).all()
    sent = set(db.execute(select(OutcomeReminder.episode_id, OutcomeReminder.timepoint)).all())
    out: list[Reminder] = []
    for patient in patients:
        groups: dict[tuple[uuid.UUID, str], list[DueRow]] = {}
        for row in due_rows(db, patient, today):
            if row.status in ("due", "overdue", "in-progress"):
                groups.setdefault((row.episode_id, row.timepoint), []).append(row)
        for (episode_id, timepoint), rows in groups.items():
            if (episode_id, timepoint) in sent:
                continue
            out.append(Reminder(patient.id, episode_id, str(patient.email), patient.given_name, timepoint,
                                tuple(r.instrument for r in rows), min(r.due for r in rows)))
    return out


def _message(settings: Settings, r: Reminder) -> OutgoingEmail:
    link = settings.base_url.rstrip("/") + "/login?next=/questionnaires"
    names = ", ".join(INSTRUMENT_TITLES[i] for i in r.instruments)
    label = TIMEPOINT_LABELS.get(r.timepoint, r.timepoint).lower()
    text = (
        f"Dear {r.given_name},\n\n"
        f"Your {label} questionnaires are ready: {names}.\n"
        f"They take about ten minutes, and you can save and come back at any time.\n\n"
        f"Sign in to fill them in: {link}\n\n"
        "Your answers help your clinician see how your ankle is recovering.\n\n"
        "hindfoot clinic\n"
    )
    return OutgoingEmail(to=r.email, subject=f"Your {label} ankle questionnaires are ready", text=text)


def send_reminder(db: Session, settings: Settings, r: Reminder) -> OutcomeReminder:
    """Record, then send. Raises EmailError (with the row withdrawn) when SMTP fails."""
    row = OutcomeReminder(patient_id=r.patient_id, episode_id=r.episode_id, timepoint=r.timepoint, email=r.email,
                          instruments=",".join(r.instruments), message_id="", sent_at=utcnow())
    db.add(row)
    db.flush()  # the unique (episode, time point) row: a second sender stops here
    try:
        row.message_id = send(settings, _message(settings, r))[:200]
    except Exception:
        db.delete(row)
        db.flush()
        raise
    audit.record(db, None, audit.EXECUTE, "OutcomeReminder", row.id, patient_id=r.patient_id,
                 description=f"{r.timepoint} questionnaire reminder emailed ({row.instruments})")
    db.flush()
    return row
