"""Decision support around the pure engine: stateless ranking, server-side interviews, and saving
findings and a provisional diagnosis to an episode.

    rank(data) / rank_json(data)                # one case (clinical README format) -> result / its JSON
    start_interview(db, actor, ...)              # a row in assessment_interview
    answer_interview(db, actor, id, finding, value) / step(db, actor, id) / back(...)
    stored_findings(db, episode_id)              # finding id -> True/False (latest stored observation)
    clinician_context(db, actor, patient_id, episode_id)   # patient, episodes, chosen episode, stored findings
    save_clinical_assessment(db, actor, episode_id, answers, condition=None)

Who may do what: anyone may rank a case or run an anonymous interview (nothing about a person is
stored); an interview started by a signed-in patient belongs to that patient (others get an audited
404) and its answers are saved to the patient's record as history Observations when it finishes;
only staff of the patient's organisation save clinical assessments. Every read and write of a
patient's data is audited; services flush, the request commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hindfoot.assessment import engine, interview
from hindfoot.assessment.schemas import AssessmentResult, Case, CaseError, parse_case, result_json
from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_read_patient, require_clinical
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    AssessmentInterview,
    Condition,
    EpisodeOfCare,
    Observation,
    PathwayEvent,
    Patient,
)
from hindfoot.errors import AccessDenied, InvalidInput, NotFound
from hindfoot.knowledge.loader import KnowledgeBase, load_kb
from hindfoot.patients import service as patients_service
from hindfoot.patients.codes import FINDING_CATEGORIES, WITHDRAWN

LATERALITIES = ("left", "right", "bilateral")
Value = Literal["present", "absent", "unknown"]


# --------------------------------------------------------------------------- stateless ranking


def _parse(data: Any, kb: KnowledgeBase) -> Case:
    try:
        return parse_case(data, kb)
    except CaseError as exc:
        raise InvalidInput(str(exc), field="case") from None


def rank(data: Any, kb: KnowledgeBase | None = None) -> AssessmentResult:
    """Assess one case dict (`expected` and `note` are ignored). Bad fields or ids: InvalidInput."""
    kb = kb or load_kb()
    return engine.assess(_parse(data, kb), kb)


def rank_json(data: Any, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The public JSON of `rank(data)`: the body of POST /api/assessments."""
    return result_json(rank(data, kb))


# --------------------------------------------------------------------------- demographics


def demographics(patient: Patient, kb: KnowledgeBase | None = None, today: date | None = None) -> dict[str, Any]:
    """Age, sex and sport of a patient as the engine understands them (others become None)."""
    kb = kb or load_kb()
    return {
        "age": max(0, min(120, patient.age_on(today or date.today()))),
        "sex": patient.sex if patient.sex in ("female", "male") else None,
        "sport": patient.sport if patient.sport in kb.sports else None,
    }


# --------------------------------------------------------------------------- interviews


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


# --------------------------------------------------------------------------- stored findings


def _latest_findings(db: Session, episode_id: uuid.UUID) -> dict[str, Observation]:
    """The latest stored finding observation of each finding id on the episode (any status)."""
    rows = db.scalars(
        select(Observation)
        .where(Observation.episode_id == episode_id, Observation.category.in_(FINDING_CATEGORIES))
        .order_by(Observation.effective_at, Observation.created_at)
    ).all()
    return {o.code: o for o in rows}


def stored_findings(db: Session, episode_id: uuid.UUID) -> dict[str, bool]:
    """Finding id -> present (True) / absent (False), from the latest stored observation of each;
    withdrawn findings and observations without a yes/no value are unknown (left out)."""
    return {
        code: bool(o.value_boolean)
        for code, o in _latest_findings(db, episode_id).items()
        if o.status != WITHDRAWN and o.value_boolean is not None
    }


@dataclass
class SaveSummary:
    created: list[str] = field(default_factory=list)  # finding ids newly recorded
    withdrawn: list[str] = field(default_factory=list)  # finding ids set back to unknown
    unchanged: int = 0


def _write_findings(
    db: Session, actor: Actor, episode: EpisodeOfCare, answers: dict[str, Value], *, withdraw_unknown: bool,
    kb: KnowledgeBase, note: str,
) -> SaveSummary:
    """Store only what changed against the episode's latest stored findings."""
    latest = _latest_findings(db, episode.id)
    summary = SaveSummary()
    now = utcnow()
    for fid, value in answers.items():
        finding = kb.finding_by_id[fid]
        current = latest.get(fid)
        stored: Value = (
            "unknown" if current is None or current.status == WITHDRAWN or current.value_boolean is None
            else "present" if current.value_boolean else "absent"
        )
        if value == stored:
            summary.unchanged += 1
            continue
        if value == "unknown":
            if not withdraw_unknown or current is None:
                summary.unchanged += 1
                continue
            for o in db.scalars(select(Observation).where(
                Observation.episode_id == episode.id, Observation.code == fid, Observation.status != WITHDRAWN,
            )):
                o.status = WITHDRAWN
                o.updated_at = now
            summary.withdrawn.append(fid)
            continue
        db.add(Observation(
            patient_id=episode.patient_id, episode_id=episode.id, category=finding.group, code=fid,
            value_boolean=value == "present", effective_at=now, performer_id=actor.practitioner_id, note=note,
        ))
        summary.created.append(fid)
    db.flush()
    return summary


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


# --------------------------------------------------------------------------- clinician panel


@dataclass
class ClinicalContext:
    patient: Patient
    episodes: list[EpisodeOfCare]
    episode: EpisodeOfCare | None
    stored: dict[str, bool]  # finding id -> present / absent (latest stored)
    demographics: dict[str, Any]


def clinician_context(
    db: Session, actor: Actor, patient_id: uuid.UUID, episode_id: uuid.UUID | None = None
) -> ClinicalContext:
    """What the clinician's assessment page needs: the patient, their episodes, the chosen one
    (default: the latest) and its stored findings. Staff only; audited."""
    require_clinical(actor)
    patient = patients_service.get_patient(db, actor, patient_id)
    episodes = list(db.scalars(
        select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)
        .order_by(EpisodeOfCare.period_start.desc(), EpisodeOfCare.created_at.desc())
    ).all())
    episode = episodes[0] if episodes else None
    if episode_id is not None:
        episode = next((e for e in episodes if e.id == episode_id), None)
        if episode is None:
            raise NotFound("episode not found for this patient")
    stored = stored_findings(db, episode.id) if episode is not None else {}
    audit.record(db, actor, audit.READ, "EpisodeOfCare", episode.id if episode else None, patient_id=patient.id,
                 description="decision support opened")
    return ClinicalContext(patient=patient, episodes=episodes, episode=episode, stored=stored,
                           demographics=demographics(patient))


def answers_from(present: list[str] | tuple[str, ...], absent: list[str] | tuple[str, ...],
                 unknown: list[str] | tuple[str, ...] = (), kb: KnowledgeBase | None = None) -> dict[str, Value]:
    """finding id -> value; unknown ids or a finding both present and absent: InvalidInput."""
    kb = kb or load_kb()
    out: dict[str, Value] = {}
    for name, ids, value in (("present", present, "present"), ("absent", absent, "absent"), ("unknown", unknown, "unknown")):
        bad = [f for f in ids if f not in kb.finding_by_id]
        if bad:
            raise InvalidInput(f"unknown finding id(s) in {name}: {', '.join(bad)}", field=name)
        for f in ids:
            if f in out and out[f] != value:
                raise InvalidInput(f"finding {f!r} is given as both {out[f]} and {value}", field=name)
            out[f] = value  # type: ignore[assignment]
    return out


def clinical_case(patient: Patient, answers: dict[str, Value], kb: KnowledgeBase | None = None) -> Case:
    kb = kb or load_kb()
    return Case.model_validate({
        "id": str(patient.id), "setting": "clinic", **demographics(patient, kb),
        "present": [f for f, v in answers.items() if v == "present"],
        "absent": [f for f, v in answers.items() if v == "absent"],
    }, context={"kb": kb})


def assess_for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, answers: dict[str, Value], *, question_limit: int = 8
) -> AssessmentResult:
    """The live panel: rank ALL conditions for these answers and the patient's demographics."""
    require_clinical(actor)
    patient = patients_service.get_patient(db, actor, patient_id)
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id,
                 description="decision support recalculated")
    return engine.assess(clinical_case(patient, answers), question_limit=question_limit)


@dataclass
class ClinicalSave:
    episode: EpisodeOfCare
    summary: SaveSummary
    condition: Condition | None
    condition_created: bool
    result: AssessmentResult


def save_clinical_assessment(
    db: Session, actor: Actor, episode_id: uuid.UUID, answers: dict[str, Value], *, condition: str | None = None,
) -> ClinicalSave:
    """Store the findings that changed (audited) and a provisional Condition (the chosen condition,
    default the leading one) with its SNOMED CT and ICD-10 codes. Staff of the patient's organisation only."""
    kb = load_kb()
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.UPDATE)
    require_clinical(actor)
    if condition is not None and condition not in kb.condition_by_id:
        raise InvalidInput(f"unknown condition id {condition!r}", field="condition")
    patient = db.get(Patient, episode.patient_id)
    assert patient is not None
    summary = _write_findings(db, actor, episode, answers, withdraw_unknown=True, kb=kb,
                              note="recorded in the decision-support panel")
    # rank on everything now stored for the episode (the saved form plus findings not on it)
    merged: dict[str, Value] = {f: ("present" if v else "absent") for f, v in stored_findings(db, episode.id).items()}
    result = engine.assess(clinical_case(patient, merged, kb), kb)
    if summary.created or summary.withdrawn:
        audit.record(
            db, actor, audit.CREATE, "Observation", None, patient_id=patient.id,
            description=f"decision support saved on episode {episode.id}: recorded "
                        + (", ".join(summary.created) or "none")
                        + (f"; withdrawn {', '.join(summary.withdrawn)}" if summary.withdrawn else ""),
        )
    chosen = condition or result.top.condition
    cond = kb.condition_by_id[chosen]
    probability = next(r.probability for r in result.ranking if r.condition == chosen)
    existing = db.scalars(
        select(Condition).where(Condition.episode_id == episode.id, Condition.code == chosen,
                                Condition.verification_status == "provisional")
    ).first()
    created = existing is None
    if existing is None:
        existing = Condition(
            patient_id=patient.id, episode_id=episode.id, code=chosen, display=cond.name[:200],
            snomed_code=cond.codes.snomed[0].code if cond.codes.snomed else None,
            icd10_code=cond.codes.icd10[0].code if cond.codes.icd10 else None,
            verification_status="provisional", laterality=episode.laterality,
            recorder_id=actor.practitioner_id,
            note=f"decision support: probability {probability:.2f}, advised {result.disposition}",
        )
        db.add(existing)
        db.flush()
        audit.record(db, actor, audit.CREATE, "Condition", existing.id, patient_id=patient.id,
                     description=f"provisional condition {chosen} (decision support)")
    else:
        existing.recorded_at = utcnow()
        existing.note = f"decision support: probability {probability:.2f}, advised {result.disposition}"
        audit.record(db, actor, audit.UPDATE, "Condition", existing.id, patient_id=patient.id,
                     description=f"provisional condition {chosen} confirmed again (decision support)")
    db.flush()
    return ClinicalSave(episode=episode, summary=summary, condition=existing, condition_created=created, result=result)


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
