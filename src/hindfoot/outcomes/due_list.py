"""A patient's due list: every (episode, time point, instrument) with its status.

Due dates come from the pathway (`due.schedule`): first consultation = the episode's first
encounter (or its start); treatment start = the first move to conservative care (or the first
conservative care plan); surgery = the latest completed arthroscopy or open excision
(`episode_anchors`). A started, unfinished response shows as in progress.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.models import (
    CarePlan,
    Encounter,
    EpisodeOfCare,
    PathwayEvent,
    Patient,
    Procedure,
    QuestionnaireResponse,
)
from hindfoot.outcomes import due
from hindfoot.outcomes.instruments import load_instrument
from hindfoot.outcomes.vocabulary import INSTRUMENT_TITLES, SURGICAL_PROCEDURES, TIMEPOINT_LABELS
from hindfoot.patients import service as patients_service


@dataclass(frozen=True)
class Anchors:
    first_consultation: date
    treatment_start: date | None
    surgery_date: date | None


def episode_anchors(db: Session, episodes: list[EpisodeOfCare]) -> dict[uuid.UUID, Anchors]:
    """Schedule anchors for several episodes in three grouped queries."""
    ids = [e.id for e in episodes]
    if not ids:
        return {}
    first_enc = dict(db.execute(
        select(Encounter.episode_id, func.min(Encounter.start)).where(Encounter.episode_id.in_(ids))
        .group_by(Encounter.episode_id)
    ).all())
    conservative = dict(db.execute(
        select(PathwayEvent.episode_id, func.min(PathwayEvent.recorded_at))
        .where(PathwayEvent.episode_id.in_(ids), PathwayEvent.to_stage == "conservative_care")
        .group_by(PathwayEvent.episode_id)
    ).all())
    plans = dict(db.execute(
        select(CarePlan.episode_id, func.min(CarePlan.period_start))
        .where(CarePlan.episode_id.in_(ids), CarePlan.kind == "conservative")
        .group_by(CarePlan.episode_id)
    ).all())
    surgery = dict(db.execute(
        select(Procedure.episode_id, func.max(Procedure.performed_at))
        .where(Procedure.episode_id.in_(ids), Procedure.code.in_(SURGICAL_PROCEDURES),
               Procedure.status == "completed")
        .group_by(Procedure.episode_id)
    ).all())
    out: dict[uuid.UUID, Anchors] = {}
    for e in episodes:
        first = _as_date(first_enc.get(e.id)) or e.period_start
        first = min(first, e.period_start)
        treat = _as_date(conservative.get(e.id)) or _as_date(plans.get(e.id))
        surg = _as_date(surgery.get(e.id))
        # a schedule never starts after its own treatment: clamp rather than refuse a real record
        first = min(d for d in (first, treat, surg) if d is not None)
        out[e.id] = Anchors(first, treat, surg)
    return out


def _as_date(value: date | datetime | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # SQLite aggregate over a date column
        return date.fromisoformat(value[:10])
    return value


@dataclass
class DueRow:
    episode_id: uuid.UUID
    episode_title: str
    timepoint: str
    timepoint_label: str
    instrument: str
    instrument_title: str
    due: date
    opens: date
    closes: date
    status: str  # upcoming | due | overdue | missed | completed | in-progress
    response_id: uuid.UUID | None = None
    answered: int = 0
    total: int = 0

    @property
    def open(self) -> bool:
        return self.status in ("due", "overdue", "in-progress")


def due_list(db: Session, actor: Actor, patient_id: uuid.UUID, *, today: date | None = None) -> list[DueRow]:
    """Every (episode, time point, instrument) of the patient with its status, audited."""
    patient = patients_service.get_patient(db, actor, patient_id)
    rows = due_rows(db, patient, today or date.today())
    audit.record(db, actor, audit.READ, "QuestionnaireResponse", patient_id=patient.id,
                 description=f"questionnaire due list: {sum(r.open for r in rows)} open")
    return rows


def due_rows(db: Session, patient: Patient, today: date) -> list[DueRow]:
    episodes = list(db.scalars(
        select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id, EpisodeOfCare.status != "cancelled")
        .order_by(EpisodeOfCare.period_start.desc())
    ))
    anchors = episode_anchors(db, episodes)
    responses = list(db.scalars(
        select(QuestionnaireResponse).options(joinedload(QuestionnaireResponse.questionnaire))
        .where(QuestionnaireResponse.patient_id == patient.id)
        .order_by(QuestionnaireResponse.authored_at)
    ))
    by_episode: dict[uuid.UUID | None, list[QuestionnaireResponse]] = defaultdict(list)
    for r in responses:
        by_episode[r.episode_id].append(r)
    out: list[DueRow] = []
    for e in episodes:
        a = anchors[e.id]
        points = due.schedule(a.first_consultation, a.treatment_start, a.surgery_date)
        mine = by_episode.get(e.id, [])
        completed = [
            due.CompletedResponse(r.questionnaire.code, r.authored_at.date())
            for r in mine if r.status == "completed"
        ]
        filled = {(r.questionnaire.code, r.authored_at.date()): r for r in mine if r.status == "completed"}
        pending = {(r.timepoint, r.questionnaire.code): r for r in mine if r.status == "in-progress"}
        for item in due.due_status(points, completed, today):
            row = DueRow(
                episode_id=e.id, episode_title=e.title, timepoint=item.timepoint,
                timepoint_label=TIMEPOINT_LABELS.get(item.timepoint, item.timepoint),
                instrument=item.instrument, instrument_title=INSTRUMENT_TITLES[item.instrument],
                due=item.due, opens=item.opens, closes=item.closes, status=item.status,
            )
            total = len(load_instrument(item.instrument).items)
            if item.status == "completed" and item.completed_on is not None:
                done = filled.get((item.instrument, item.completed_on))
                row.response_id = done.id if done else None
                row.answered = row.total = total
            elif (draft := pending.get((item.timepoint, item.instrument))) is not None and item.status != "missed":
                row.status = "in-progress"
                row.response_id = draft.id
                row.answered = sum(1 for v in draft.answers.values() if v is not None)
                row.total = total
            out.append(row)
    return out
