"""Server-side symptom-check interviews: rows in assessment_interview, their answers, and saving a
finished check to the patient's record (also when it is shared with a booking).

    start_interview(db, actor, ...)              # a row in assessment_interview
    answer_interview(db, actor, id, finding, value) / get_interview(...) / back(...)
    check_disposition(db, actor, id) / attach_check(db, actor, id)

Anyone may run an anonymous interview (nothing about a person is stored); an interview started by a
signed-in patient belongs to that patient (others get an audited 404) and its answers are saved to
the patient's record as history Observations when it finishes. Services flush, the request commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hindfoot.assessment import interview
from hindfoot.assessment.findings_store import Value, _write_findings
from hindfoot.assessment.schemas import AssessmentResult
from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_read_patient
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    AssessmentInterview,
    EpisodeOfCare,
    Observation,
    PathwayEvent,
    Patient,
)
from hindfoot.errors import AccessDenied, InvalidInput, NotFound
from hindfoot.knowledge.loader import load_kb
from hindfoot.patients import service as patients_service

LATERALITIES = ("left", "right", "bilateral")


@dataclass
class InterviewView:
    """One interview as the API and the pages show it."""

    row: AssessmentInterview
    state: interview.InterviewState
    step: interview.InterviewStep
    saved_now: int = 0  # observations written by this request

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    @property
    def done(self) -> bool:
        return self.step.done

    @property
    def result(self) -> AssessmentResult:
        return self.step.result

    def answers(self) -> dict[str, str]:
        return {a.finding: a.answer for a in self.state.answers}


def _state(row: AssessmentInterview) -> interview.InterviewState:
    return interview.InterviewState.model_validate(row.state)


def _view(row: AssessmentInterview, state: interview.InterviewState | None = None) -> InterviewView:
    state = state or _state(row)
    return InterviewView(row=row, state=state, step=interview.next_step(state))


def start_interview(
    db: Session,
    actor: Actor | None,
    *,
    setting: Literal["self", "clinic"] = "self",
    age: int | None = None,
    sex: Literal["female", "male"] | None = None,
    sport: str | None = None,
    laterality: str | None = None,
) -> InterviewView:
    """A new interview. A signed-in patient's interview belongs to them (and is audited)."""
    if laterality is not None and laterality not in LATERALITIES:
        raise InvalidInput(f"unknown side {laterality!r} (expected one of: {', '.join(LATERALITIES)})",
                           field="laterality")
    row_id = uuid.uuid4()
    state = interview.start(setting, age=age, sex=sex, sport=sport, id=str(row_id))
    patient_id = actor.patient_id if actor is not None and actor.role == "patient" else None
    row = AssessmentInterview(id=row_id, patient_id=patient_id, state=state.model_dump(mode="json"),
                              laterality=laterality)
    db.add(row)
    db.flush()
    if patient_id is not None:
        audit.record(db, actor, audit.CREATE, "AssessmentInterview", row.id, patient_id=patient_id,
                     description="symptom check started")
    return _view(row, state)


def _load(db: Session, actor: Actor | None, interview_id: uuid.UUID, action: str) -> AssessmentInterview:
    row = db.get(AssessmentInterview, interview_id)
    if row is None:
        raise NotFound("interview not found")
    if row.patient_id is not None:
        patient = db.get(Patient, row.patient_id)
        if actor is None or patient is None or not can_read_patient(actor, patient):
            raise AccessDenied("interview not found", entity_type="AssessmentInterview", entity_id=interview_id,
                               patient_id=row.patient_id, action=action)
    return row


def get_interview(db: Session, actor: Actor | None, interview_id: uuid.UUID) -> InterviewView:
    row = _load(db, actor, interview_id, audit.READ)
    if row.patient_id is not None:
        audit.record(db, actor, audit.READ, "AssessmentInterview", row.id, patient_id=row.patient_id,
                     description="symptom check viewed")
    return _view(row)


def _store(db: Session, actor: Actor | None, row: AssessmentInterview, state: interview.InterviewState,
           description: str) -> InterviewView:
    row.state = state.model_dump(mode="json")
    row.updated_at = utcnow()
    view = _view(row, state)
    if row.patient_id is not None:
        audit.record(db, actor, audit.UPDATE, "AssessmentInterview", row.id, patient_id=row.patient_id,
                     description=description)
        if view.done and actor is not None and actor.patient_id == row.patient_id:
            view.saved_now = _save_self_check(db, actor, row, state)
    db.flush()
    return view


def answer_interview(
    db: Session, actor: Actor | None, interview_id: uuid.UUID, finding: str, value: Any, also: Sequence[str] = ()
) -> InterviewView:
    """Record one answer (present / absent / unknown, also yes / no / dont_know / not_sure). `also`: the
    other answers ticked on the current question when it allows several (where it hurts)."""
    row = _load(db, actor, interview_id, audit.UPDATE)
    state = _state(row)
    if also:
        q = _view(row, state).step.question
        options = {f for f, _ in q.choices} if q is not None and q.multiple else set()
        if finding not in options or not set(also) <= options:
            raise InvalidInput("several answers are only for the current question that allows them, "
                               "each one of its answers", field="also")
    state = interview.answer(state, finding, value, also=also)
    return _store(db, actor, row, state, f"symptom check answer: {', '.join((finding, *also))}")


def back(db: Session, actor: Actor | None, interview_id: uuid.UUID) -> InterviewView:
    """Take back the last answer (the "Back" button)."""
    row = _load(db, actor, interview_id, audit.UPDATE)
    state = _state(row)
    if not state.answers:
        return _view(row, state)
    state = state.without_last_question()
    return _store(db, actor, row, state, "symptom check: last answer taken back")


def purge_anonymous_interviews(db: Session, *, untouched_since: datetime) -> int:
    """Delete the anonymous symptom checks (no signed-in patient) last changed before `untouched_since`;
    returns how many. A signed-in patient's checks are part of their record and are kept."""
    result = db.execute(
        delete(AssessmentInterview)
        .where(AssessmentInterview.patient_id.is_(None), AssessmentInterview.updated_at < untouched_since)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _self_check_episode(db: Session, actor: Actor, row: AssessmentInterview) -> EpisodeOfCare:
    """The episode a patient's symptom check goes to: the one already used, else their open enquiry
    episode, else a new enquiry episode (with its PathwayEvent)."""
    if row.episode_id is not None:
        episode = db.get(EpisodeOfCare, row.episode_id)
        if episode is not None and episode.patient_id == row.patient_id:
            return episode
    episode = db.scalars(
        select(EpisodeOfCare)
        .where(EpisodeOfCare.patient_id == row.patient_id, EpisodeOfCare.stage == "enquiry",
               EpisodeOfCare.status == "active")
        .order_by(EpisodeOfCare.period_start.desc(), EpisodeOfCare.created_at.desc())
    ).first()
    if episode is None:
        patient = db.get(Patient, row.patient_id)
        assert patient is not None
        side = row.laterality or "right"
        episode = EpisodeOfCare(
            patient_id=patient.id, organization_id=patient.organization_id,
            title="Ankle or heel pain (online symptom check)", laterality=side, stage="enquiry",
            period_start=date.today(),
        )
        db.add(episode)
        db.flush()
        db.add(PathwayEvent(episode_id=episode.id, from_stage=None, to_stage="enquiry",
                            reason="opened by the patient's online symptom check", recorded_by_id=actor.user_id))
        audit.record(db, actor, audit.CREATE, "EpisodeOfCare", episode.id, patient_id=patient.id,
                     description="enquiry episode opened by a symptom check"
                                 + ("" if row.laterality else " (side not given)"))
    row.episode_id = episode.id
    return episode


def _save_self_check(db: Session, actor: Actor, row: AssessmentInterview, state: interview.InterviewState) -> int:
    """Save a finished check's yes/no answers as history Observations on the patient's episode."""
    kb = load_kb()
    # the patient may write only their own record: the interview row is theirs (checked by _load)
    patients_service.get_patient(db, actor, row.patient_id)  # type: ignore[arg-type]
    episode = _self_check_episode(db, actor, row)
    answers: dict[str, Value] = {a.finding: a.answer for a in state.answers}
    summary = _write_findings(db, actor, episode, answers, withdraw_unknown=False, kb=kb,
                              note="patient's online symptom check")
    row.saved_at = utcnow()
    if summary.created:
        audit.record(db, actor, audit.CREATE, "Observation", None, patient_id=row.patient_id,
                     description=f"symptom check saved to episode {episode.id}: " + ", ".join(summary.created))
    return len(summary.created)


# --------------------------------------------------------------------------- a check that travels with a booking

TRIAGE_CATEGORY = "triage"
TRIAGE_CODE = "symptom_check_triage"


def check_disposition(db: Session, actor: Actor | None, interview_id: uuid.UUID) -> str | None:
    """The triage of a finished symptom check this person may see (None: unfinished or not theirs)."""
    try:
        view = _view(_load(db, actor, interview_id, audit.READ))
    except NotFound:
        return None
    return str(view.result.disposition) if view.done else None


def attach_check(db: Session, actor: Actor, interview_id: uuid.UUID) -> tuple[str, int] | None:
    """A patient shares the symptom check they did before booking (they consented on the booking page).

    An anonymous check becomes theirs; its yes/no answers are stored on their record as history findings
    and its disposition as a provisional triage observation, both on their enquiry episode. Returns the
    triage and how many findings were newly stored, or None when there is no finished check to share.
    A check that belongs to someone else is refused (audited 404).
    """
    if actor.patient_id is None:
        raise InvalidInput("only a patient can share their own symptom check", field="share_check")
    row = _load(db, actor, interview_id, audit.UPDATE)
    state = _state(row)
    view = _view(row, state)
    if not view.done:
        return None
    row.patient_id = actor.patient_id
    created = _save_self_check(db, actor, row, state)
    episode = db.get(EpisodeOfCare, row.episode_id)
    disposition = str(view.result.disposition)
    if episode is not None:
        db.add(Observation(
            patient_id=actor.patient_id, episode_id=episode.id, category=TRIAGE_CATEGORY, code=TRIAGE_CODE,
            value_string=disposition, effective_at=utcnow(),
            note="provisional triage from the patient's online symptom check, shared when booking",
        ))
    db.flush()
    audit.record(db, actor, audit.CREATE, "Observation", None, patient_id=actor.patient_id,
                 description=f"symptom check {row.id} shared with a booking: triage {disposition}, {created} findings")
    return disposition, created
