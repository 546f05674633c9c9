"""The care pathway of one episode: what the record says, where it stands, what comes next.

The pure core (`machine`, `next_steps`) never sees the database; this module builds its
snapshots (`PathwayFacts`, `EpisodeFacts`) from what is stored, and stores what it decides:

* a stage change is an append-only `PathwayEvent` (who, when, why); events are never updated or
  deleted, and a refused move raises `TransitionRefused` (409) with every reason;
* the facts the guards need are ordinary record entries, so they show on the timeline and in
  FHIR exports: a confirmed `Condition` (verification_status), a completed surgical `Procedure`
  (the operation note), and `Observation`s (category "measurement") for the clinician's
  documentation: `surgical_consent`, `conservative_care_failed`, `durable_relief` (boolean; the
  latest entry wins, so consent can be withdrawn) and `rts.status`/`rts.date` for return to sport.

No schema change was needed for any of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    CarePlan,
    Condition,
    Encounter,
    EpisodeOfCare,
    ImagingStudy,
    Observation,
    PathwayEvent,
    Patient,
    Procedure,
)
from hindfoot.db.models.procedure import PROCEDURES as PROCEDURE_NAMES
from hindfoot.errors import Conflict, Denial, InvalidInput
from hindfoot.pathway import machine, next_steps
from hindfoot.pathway.citations import Citation, cite
from hindfoot.pathway.machine import PathwayFacts, Stage, TransitionOption
from hindfoot.pathway.next_steps import EpisodeFacts, Escalation, Recommendation, TreatmentRecord
from hindfoot.patients import service as patients_service

__all__ = [
    "CONSENT",
    "DOCUMENTATION_KINDS",
    "SURGICAL_PROCEDURES",
    "EpisodeData",
    "PathwayView",
    "apply_transition",
    "confirm_diagnosis",
    "document",
    "episode_facts",
    "get_pathway",
    "load_episode_data",
    "pathway_facts",
    "record_consent",
    "record_procedure",
    "record_return_to_sport",
]

CONSENT = "surgical_consent"
CONSERVATIVE_FAILED = "conservative_care_failed"
DURABLE_RELIEF = "durable_relief"
DOCUMENTATION_KINDS = (CONSERVATIVE_FAILED, DURABLE_RELIEF)
SURGICAL_PROCEDURES = (
    "posterior_arthroscopic_excision",
    "posterior_arthroscopic_debridement",
    "open_excision",
)
INJECTION = "image_guided_injection"
RTS_STATUSES = ("returned_previous_level", "returned_higher_level", "returned_lower_level")
FINDING_CATEGORIES = ("history", "exam", "imaging", "tests")
MODALITY_TO_IMAGING = {"XR": "xray", "MR": "mri", "CT": "ct", "NM": "bone_scan"}


# --------------------------------------------------------------------------- reading the record


@dataclass
class EpisodeData:
    """Everything on one episode the pathway looks at, loaded in a fixed number of queries."""

    episode: EpisodeOfCare
    patient: Patient
    observations: list[Observation] = field(default_factory=list)
    imaging: list[ImagingStudy] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    care_plans: list[CarePlan] = field(default_factory=list)
    events: list[PathwayEvent] = field(default_factory=list)
    encounters: list[Encounter] = field(default_factory=list)


def load_episode_data(db: Session, episode: EpisodeOfCare) -> EpisodeData:
    """Seven small queries, no lazy loading (care-plan activities are not needed here)."""
    eid = episode.id
    patient = db.get(Patient, episode.patient_id)
    assert patient is not None  # foreign key

    def rows(model, order):  # type: ignore[no-untyped-def]
        return list(db.scalars(select(model).where(model.episode_id == eid).order_by(order)).all())

    return EpisodeData(
        episode=episode,
        patient=patient,
        observations=rows(Observation, Observation.effective_at),
        imaging=rows(ImagingStudy, ImagingStudy.started_at),
        procedures=rows(Procedure, Procedure.created_at),
        conditions=rows(Condition, Condition.recorded_at),
        care_plans=rows(CarePlan, CarePlan.period_start),
        events=rows(PathwayEvent, PathwayEvent.recorded_at),
        encounters=rows(Encounter, Encounter.start),
    )


def _latest_boolean(data: EpisodeData, code: str) -> bool:
    values = [o.value_boolean for o in data.observations if o.code == code and o.value_boolean is not None]
    return bool(values[-1]) if values else False


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _diagnosis_confirmed(data: EpisodeData) -> bool:
    return any(c.verification_status == "confirmed" and c.clinical_status != "entered-in-error"
               for c in data.conditions)


def _surgery_done(data: EpisodeData) -> bool:
    return any(p.code in SURGICAL_PROCEDURES and p.status == "completed" for p in data.procedures)


def _injections(data: EpisodeData) -> list[Procedure]:
    return [p for p in data.procedures if p.code == INJECTION and p.status == "completed"]


def _returned_to_sport(data: EpisodeData) -> bool:
    statuses = [o.value_string for o in data.observations if o.code == "rts.status" and o.value_string]
    return bool(statuses) and statuses[-1] in RTS_STATUSES


def _treatments(data: EpisodeData, today: date) -> tuple[TreatmentRecord, ...]:
    """First start date of each treatment, from plans, physiotherapy visits and procedures."""
    starts: dict[str, date] = {}

    def started(tid: str, when: date | None) -> None:
        if when is not None and when <= today and (tid not in starts or when < starts[tid]):
            starts[tid] = when

    for plan in data.care_plans:
        if plan.kind == "conservative" and plan.status != "revoked" and plan.period_start <= today:
            # the first-line bundle is prescribed with the plan [S1]
            for tid in ("strapping", "analgesia", "cryotherapy", "physiotherapy"):
                started(tid, plan.period_start)
    for enc in data.encounters:
        if enc.type == "physiotherapy" and enc.status == "finished":
            started("physiotherapy", _day(enc.start))
    for proc in data.procedures:
        if proc.status != "completed":
            continue
        if proc.code == INJECTION:
            started("steroid_injection", _day(proc.performed_at) or _day(proc.created_at))
        elif proc.code in SURGICAL_PROCEDURES:
            started("surgery", _day(proc.performed_at) or _day(proc.created_at))
    return tuple(TreatmentRecord(id=k, started=v) for k, v in sorted(starts.items()))


def episode_facts(data: EpisodeData, today: date) -> EpisodeFacts:
    """The next-step engine's snapshot of the episode on `today`."""
    present: dict[str, bool] = {}
    for o in data.observations:  # ordered by time: the latest statement about a finding wins
        if o.category in FINDING_CATEGORIES and o.value_boolean is not None:
            present[o.code] = o.value_boolean
    imaging = {MODALITY_TO_IMAGING[s.modality] for s in data.imaging
               if s.modality in MODALITY_TO_IMAGING and s.status != "cancelled"}
    injections = _injections(data)
    if injections:
        imaging.add("injection")
    pain = [o.value_quantity for o in data.observations if o.code == "pain.nrs" and o.value_quantity is not None]
    reviews = [e.start for e in data.encounters
               if e.type in ("new_consultation", "follow_up") and e.status == "finished" and e.start.date() <= today]
    level = data.patient.level if data.patient.level in ("recreational", "competitive", "professional") else "recreational"
    return EpisodeFacts(
        today=today,
        stage=Stage(data.episode.stage),
        present=frozenset(k for k, v in present.items() if v),
        absent=frozenset(k for k, v in present.items() if not v),
        imaging_done=frozenset(imaging),  # type: ignore[arg-type]
        treatments=_treatments(data, today),
        injections=len(injections),
        level=level,  # type: ignore[arg-type]
        sport=data.patient.sport,
        confirmed_diagnosis=_diagnosis_confirmed(data),
        durable_relief=_latest_boolean(data, DURABLE_RELIEF),
        severe_pain=bool(pain) and pain[-1] >= 7,
        consent_recorded=_latest_boolean(data, CONSENT),
        last_review=_day(max(reviews)) if reviews else None,
    )


def pathway_facts(data: EpisodeData, today: date, *, override_reason: str | None = None,
                  facts: EpisodeFacts | None = None) -> PathwayFacts:
    """The state machine's snapshot; `override_reason` is the clinician's words for this move."""
    facts = facts or episode_facts(data, today)
    assessed = (
        bool(data.conditions)
        or any(o.category == "exam" for o in data.observations)
        or any(e.to_stage == Stage.ASSESSMENT.value for e in data.events)
        or any(e.type == "new_consultation" and e.status == "finished" for e in data.encounters)
    )
    return PathwayFacts(
        assessment_recorded=assessed,
        confirmed_diagnosis=facts.confirmed_diagnosis,
        conservative_weeks=next_steps.conservative_weeks(facts),
        injection_done=facts.injections > 0,
        conservative_failed=_latest_boolean(data, CONSERVATIVE_FAILED),
        override_reason=override_reason.strip() if override_reason and override_reason.strip() else None,
        consent_recorded=facts.consent_recorded,
        procedure_recorded=_surgery_done(data),
        return_to_sport_recorded=_returned_to_sport(data),
    )


# --------------------------------------------------------------------------- the pathway view


@dataclass
class RecommendationView:
    recommendation: Recommendation
    citations: list[Citation]


@dataclass
class PathwayView:
    """Where the episode is, what may come next (and what blocks it), and what to do and why."""

    episode: EpisodeOfCare
    patient: Patient
    today: date
    facts: EpisodeFacts
    pathway: PathwayFacts
    options: list[TransitionOption]
    recommendations: list[RecommendationView]
    escalation: Escalation
    events: list[PathwayEvent]
    conditions: list[Condition]
    procedures: list[Procedure]
    care_plans: list[CarePlan]

    @property
    def allowed(self) -> list[TransitionOption]:
        return [o for o in self.options if o.allowed]

    @property
    def legal(self) -> list[TransitionOption]:
        """Moves the pathway offers from here (allowed or blocked by a guard), in offer order."""
        return [o for o in self.options if o.target in machine.TRANSITIONS[Stage(self.episode.stage)]]

    @property
    def provisional_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if c.verification_status in ("provisional", "differential")]


def _view(data: EpisodeData, today: date) -> PathwayView:
    facts = episode_facts(data, today)
    pfacts = pathway_facts(data, today, facts=facts)
    recs = next_steps.recommend(facts)
    return PathwayView(
        episode=data.episode,
        patient=data.patient,
        today=today,
        facts=facts,
        pathway=pfacts,
        options=machine.options(Stage(data.episode.stage), pfacts),
        recommendations=[RecommendationView(r, cite(r.sources)) for r in recs],
        escalation=next_steps.escalation(facts),
        events=data.events,
        conditions=data.conditions,
        procedures=data.procedures,
        care_plans=data.care_plans,
    )


def get_pathway(db: Session, actor: Actor, episode_id: uuid.UUID, *, today: date | None = None) -> PathwayView:
    """The pathway panel: patients see their own, staff their organisation's (audited read)."""
    episode = patients_service.get_episode(db, actor, episode_id)
    view = _view(load_episode_data(db, episode), today or date.today())
    audit.record(db, actor, audit.READ, "EpisodeOfCare", episode.id, patient_id=episode.patient_id,
                 description=f"pathway viewed at stage {episode.stage}")
    return view


# --------------------------------------------------------------------------- writes


def apply_transition(
    db: Session,
    actor: Actor,
    episode_id: uuid.UUID,
    to: str,
    *,
    reason: str | None = None,
    override_reason: str | None = None,
    expected_stage: str | None = None,
    today: date | None = None,
) -> PathwayEvent:
    """Move the episode through the machine and append the event; refusals carry every reason.

    `expected_stage` (sent by forms) refuses a move made from a stale page: if someone else
    moved the episode meanwhile, the clinician should see the new stage before deciding.
    """
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.UPDATE)
    db.refresh(episode, with_for_update=True)  # serialise concurrent moves (no-op on SQLite)
    try:
        target = Stage(to)
    except ValueError:
        raise InvalidInput(f"unknown stage {to!r}; allowed: {', '.join(s.value for s in Stage)}", field="to") from None
    current = Stage(episode.stage)
    try:
        if expected_stage is not None and expected_stage != current.value:
            raise machine.TransitionRefused(current, target, (
                f"the episode moved to {current.value} since the page was loaded; review and try again",))
        day = today or date.today()
        data = load_episode_data(db, episode)
        facts = pathway_facts(data, day, override_reason=override_reason)
        decided = machine.transition(current, target, facts, reason=reason)
    except machine.TransitionRefused as exc:  # refused moves go on the audit trail too
        exc.denial = Denial(audit.UPDATE, "EpisodeOfCare", episode.id, episode.patient_id,
                            f"pathway {current.value} -> {target.value} refused: {'; '.join(exc.reasons)}")
        raise
    row = PathwayEvent(
        episode_id=episode.id,
        from_stage=decided.from_stage.value,
        to_stage=decided.to_stage.value,
        reason=decided.reason,
        recorded_at=utcnow(),
        recorded_by_id=actor.user_id,
    )
    db.add(row)
    episode.stage = target.value
    if target is Stage.DISCHARGED:
        episode.status = "finished"
        episode.period_end = day
    db.flush()
    audit.record(
        db, actor, audit.UPDATE, "EpisodeOfCare", episode.id, patient_id=episode.patient_id,
        description=f"pathway {current.value} -> {target.value}" + (" (override)" if decided.override else ""),
    )
    return row


def _observation(db: Session, actor: Actor, episode: EpisodeOfCare, code: str, *, value: bool | None = None,
                 text: str | None = None, note: str = "") -> Observation:
    obs = Observation(
        patient_id=episode.patient_id, episode_id=episode.id, category="measurement", code=code,
        value_boolean=value, value_string=text, effective_at=utcnow(), performer_id=actor.practitioner_id,
        note=note,
    )
    db.add(obs)
    db.flush()
    return obs


def record_consent(db: Session, actor: Actor, episode_id: uuid.UUID, *, given: bool = True,
                   note: str = "") -> Observation:
    """Informed consent for surgery (or its withdrawal: the latest entry counts)."""
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.CREATE)
    obs = _observation(db, actor, episode, CONSENT, value=given, note=note)
    audit.record(db, actor, audit.CREATE, "Observation", obs.id, patient_id=episode.patient_id,
                 description="surgical consent " + ("recorded" if given else "withdrawn"))
    return obs


def document(db: Session, actor: Actor, episode_id: uuid.UUID, kind: str, *, value: bool = True,
             note: str = "") -> Observation:
    """Clinician documentation the guards and rules read: conservative care failed / lasting relief."""
    if kind not in DOCUMENTATION_KINDS:
        raise InvalidInput(f"unknown documentation {kind!r}; allowed: {', '.join(DOCUMENTATION_KINDS)}", field="kind")
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.CREATE)
    obs = _observation(db, actor, episode, kind, value=value, note=note)
    audit.record(db, actor, audit.CREATE, "Observation", obs.id, patient_id=episode.patient_id,
                 description=f"{kind} documented as {str(value).lower()}")
    return obs


def confirm_diagnosis(db: Session, actor: Actor, episode_id: uuid.UUID, *, condition_id: uuid.UUID | None = None,
                      note: str = "") -> Condition:
    """Confirm the episode's working diagnosis (FHIR verificationStatus provisional -> confirmed).

    Without `condition_id` the episode's provisional condition in focus is confirmed (the one
    matching the episode's condition code, else the most recent). No condition at all is a 409:
    assess and record a diagnosis first.
    """
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.UPDATE)
    conditions = list(db.scalars(
        select(Condition).where(Condition.episode_id == episode.id).order_by(Condition.recorded_at.desc())
    ).all())
    if condition_id is not None:
        chosen = next((c for c in conditions if c.id == condition_id), None)
        if chosen is None:
            raise InvalidInput("no such condition on this episode", field="condition_id")
    else:
        open_ = [c for c in conditions if c.verification_status in ("provisional", "differential", "confirmed")]
        focus = [c for c in open_ if c.code == episode.condition_code]
        chosen = (focus or open_ or [None])[0]  # type: ignore[list-item]
        if chosen is None:
            raise Conflict("no diagnosis is recorded on this episode to confirm", field="condition_id")
    if chosen.verification_status in ("refuted", "entered-in-error"):
        raise Conflict(f"the diagnosis is {chosen.verification_status}; record a new one", field="condition_id")
    if chosen.verification_status != "confirmed":
        chosen.verification_status = "confirmed"
        stamp = f"Confirmed by {actor.display_name} on {date.today().isoformat()}."
        chosen.note = " ".join(p for p in (chosen.note, stamp, note.strip()) if p)
        chosen.updated_at = utcnow()
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Condition", chosen.id, patient_id=episode.patient_id,
                 description=f"diagnosis {chosen.code} confirmed")
    return chosen


def record_procedure(db: Session, actor: Actor, episode_id: uuid.UUID, code: str, *, performed_on: date,
                     note: str = "", today: date | None = None) -> Procedure:
    """The operation note (or an injection): a completed Procedure on the episode."""
    if code not in PROCEDURE_NAMES:
        raise InvalidInput(f"unknown procedure {code!r}; allowed: {', '.join(PROCEDURE_NAMES)}", field="code")
    if performed_on > (today or date.today()):
        raise InvalidInput("a procedure cannot be recorded as done in the future", field="performed_on")
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.CREATE)
    proc = Procedure(
        patient_id=episode.patient_id, episode_id=episode.id, code=code, display=PROCEDURE_NAMES[code],
        status="completed", performed_at=datetime.combine(performed_on, time(12), tzinfo=UTC),
        performer_id=actor.practitioner_id, laterality=episode.laterality, note=note,
    )
    db.add(proc)
    # A planned operation on the list is now done: close the "preparation" entry instead of duplicating it.
    for planned in db.scalars(select(Procedure).where(
        Procedure.episode_id == episode.id, Procedure.code == code, Procedure.status == "preparation",
    )):
        planned.status = "not-done"
        planned.note = (planned.note + " Superseded by the operation note.").strip()
    db.flush()
    audit.record(db, actor, audit.CREATE, "Procedure", proc.id, patient_id=episode.patient_id,
                 description=f"procedure {code} recorded for {performed_on.isoformat()}")
    return proc


def record_return_to_sport(db: Session, actor: Actor, episode_id: uuid.UUID, *, status: str = RTS_STATUSES[0],
                           on: date, note: str = "", today: date | None = None) -> Observation:
    """Return to sport, in the same shape the outcome questionnaires use (rts.status + rts.date)."""
    if status not in RTS_STATUSES:
        raise InvalidInput(f"unknown return-to-sport status {status!r}; allowed: {', '.join(RTS_STATUSES)}",
                           field="status")
    if on > (today or date.today()):
        raise InvalidInput("return to sport cannot be dated in the future", field="on")
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.CREATE)
    obs = _observation(db, actor, episode, "rts.status", text=status, note=note)
    _observation(db, actor, episode, "rts.date", text=on.isoformat())
    audit.record(db, actor, audit.CREATE, "Observation", obs.id, patient_id=episode.patient_id,
                 description=f"return to sport documented: {status} on {on.isoformat()}")
    return obs
