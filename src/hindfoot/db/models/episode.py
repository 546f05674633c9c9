"""EpisodeOfCare (one condition episode on one side) and its append-only pathway events."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.practitioner import Practitioner


class PathwayStage(enum.StrEnum):
    enquiry = "enquiry"
    assessment = "assessment"
    investigation = "investigation"
    conservative_care = "conservative_care"
    surgical_listing = "surgical_listing"
    surgery = "surgery"
    post_op = "post_op"
    rehabilitation = "rehabilitation"
    returned_to_sport = "returned_to_sport"
    discharged = "discharged"


STAGE_LABELS = {
    "enquiry": "New enquiry",
    "assessment": "Assessed",
    "investigation": "Investigations",
    "conservative_care": "Conservative care",
    "surgical_listing": "Listed for surgery",
    "surgery": "Surgery",
    "post_op": "Post-op",
    "rehabilitation": "Rehabilitation",
    "returned_to_sport": "Returned to sport",
    "discharged": "Discharged",
}


class Laterality(enum.StrEnum):
    left = "left"
    right = "right"
    bilateral = "bilateral"


class EpisodeOfCare(IdMixin, TimestampMixin, Base):
    __tablename__ = "episode_of_care"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    condition_code: Mapped[str | None] = mapped_column(String(80))  # vocabulary condition id in focus
    laterality: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="active")  # FHIR: planned|waitlist|active|onhold|finished|cancelled
    stage: Mapped[str] = mapped_column(String(30), default="enquiry", index=True)
    period_start: Mapped[date]
    period_end: Mapped[date | None]
    care_manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))

    patient: Mapped[Patient] = relationship(lazy="raise")
    care_manager: Mapped[Practitioner | None] = relationship(lazy="raise")

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


class PathwayEvent(IdMixin, Base):
    """Append-only record of every stage change: who moved the episode, when and why."""

    __tablename__ = "pathway_event"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(30))
    to_stage: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


# ------------------------------------------------------------------ the patient's current episode

_CURRENT_KEYS = ("patient_id", "stage", "period_start")


def refresh_current_episode(conn: Connection, patient_ids: Iterable[uuid.UUID] | None = None) -> None:
    """Set `Patient.current_episode_id` / `current_stage` from the patients' latest episode (by start
    date, then creation time, then id): for these patients, or all of them when None."""
    e = EpisodeOfCare.__table__.c
    latest = (
        select(e.id, e.stage).where(e.patient_id == Patient.__table__.c.id)
        .order_by(e.period_start.desc(), e.created_at.desc(), e.id.desc()).limit(1)
    )
    stmt = update(Patient.__table__).values(
        current_episode_id=latest.with_only_columns(e.id).scalar_subquery(),
        current_stage=latest.with_only_columns(e.stage).scalar_subquery(),
    )
    if patient_ids is None:
        conn.execute(stmt)
        return
    ids = sorted(set(patient_ids))
    for i in range(0, len(ids), 500):
        conn.execute(stmt.where(Patient.__table__.c.id.in_(ids[i: i + 500])))


def _patients_touched(session: Session) -> set[uuid.UUID]:
    touched: set[uuid.UUID] = set()
    for bucket, dirty in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for obj in bucket:
            if not isinstance(obj, EpisodeOfCare):
                continue
            histories = [get_history(obj, key, passive=PASSIVE_NO_INITIALIZE) for key in _CURRENT_KEYS]
            if dirty and not any(h.added or h.deleted for h in histories):
                continue
            patient = histories[0]
            touched.update(v for v in (*patient.added, *patient.unchanged, *patient.deleted) if v is not None)
    return touched


@event.listens_for(Session, "after_flush")
def _note_current_episode(session: Session, _flush_context: Any) -> None:
    touched = _patients_touched(session)
    if touched:
        session.info.setdefault("hindfoot_current_episode", set()).update(touched)


@event.listens_for(Session, "after_flush_postexec")
def _keep_current_episode(session: Session, _flush_context: Any) -> None:
    """Once the flushed episodes are written, point their patients at their latest episode, in the
    same transaction (expiring loaded patients only after the flush has settled their state)."""
    touched = session.info.pop("hindfoot_current_episode", None)
    if not touched:
        return
    refresh_current_episode(session.connection(), touched)
    for obj in session.identity_map.values():  # loaded patients see the new values on their next read
        if isinstance(obj, Patient) and obj.id in touched:
            session.expire(obj, ["current_episode_id", "current_stage"])
