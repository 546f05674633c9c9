"""Outcome questionnaires for one patient: what is due, answering section by section, scores.

A response is a `QuestionnaireResponse` (in-progress while the patient saves and resumes,
completed once submitted); completing it scores it exactly (`scoring`) and stores each score as
an `Observation` (`faos.pain`, `faam.adl`, `pain.nrs`, ...; return to sport as `rts.status` and
`rts.date`) so the chart, the timeline and the registry read one source.

Due dates come from the pathway (`due.schedule`): first consultation = the episode's first
encounter (or its start); treatment start = the first move to conservative care (or the first
conservative care plan); surgery = the latest completed arthroscopy or open excision.

Only the patient themself (or staff of their clinic) may answer; anyone else gets the audited 404.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_write_patient
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    CarePlan,
    Encounter,
    EpisodeOfCare,
    Observation,
    PathwayEvent,
    Patient,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
)
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.outcomes import due, scoring
from hindfoot.outcomes.instruments import (
    Instrument,
    InstrumentError,
    Item,
    Mcid,
    load_instrument,
    load_mcid,
    parse_questionnaire,
)
from hindfoot.patients import service as patients_service

__all__ = [
    "SCORE_CODES",
    "SURGICAL_PROCEDURES",
    "DueRow",
    "PatientOutcomes",
    "ScoreSeries",
    "due_list",
    "episode_anchors",
    "get_response",
    "instrument_of",
    "load_questionnaire_version",
    "patient_outcomes",
    "questionnaire_for",
    "save_answers",
    "start_response",
]

SURGICAL_PROCEDURES: Final = (
    "posterior_arthroscopic_excision",
    "posterior_arthroscopic_debridement",
    "open_excision",
)
SCORE_CODES: Final[dict[str, dict[str, str]]] = {
    "faos": {sub: f"faos.{sub}" for sub in scoring.FAOS_SUBSCALES},
    "faam": {sub: f"faam.{sub}" for sub in scoring.FAAM_SUBSCALES},
    "pain": {"pain": "pain.nrs"},
}
SCORE_LABELS: Final[dict[str, str]] = {
    "faos.symptoms": "FAOS Symptoms",
    "faos.pain": "FAOS Pain",
    "faos.adl": "FAOS Daily living",
    "faos.sport_rec": "FAOS Sport and recreation",
    "faos.qol": "FAOS Quality of life",
    "faam.adl": "FAAM Daily living",
    "faam.sports": "FAAM Sports",
    "pain.nrs": "Pain (0-10)",
}
TIMEPOINT_LABELS: Final = {
    "baseline": "Baseline", "6w": "6 weeks", "3m": "3 months", "6m": "6 months", "12m": "12 months",
}
INSTRUMENT_TITLES: Final = {
    "faos": "Foot and Ankle Outcome Score (FAOS)",
    "faam": "Foot and Ankle Ability Measure (FAAM)",
    "pain": "Pain rating (0-10)",
    "rts": "Return to sport",
}


def mcid_for(code: str) -> Mcid:
    """The MCID of a score code such as `faos.pain` or `pain.nrs`."""
    instrument, _, sub = code.partition(".")
    return load_mcid(instrument)["pain" if instrument == "pain" else sub]


# ------------------------------------------------------------------ questionnaires (definitions)


def questionnaire_for(db: Session, code: str) -> Questionnaire:
    """The newest stored version of an instrument, stored from the shipped file the first time."""
    row = db.scalar(
        select(Questionnaire)
        .where(Questionnaire.code == code, Questionnaire.status == "active")
        .order_by(Questionnaire.created_at.desc(), Questionnaire.version.desc())
        .limit(1)
    )
    if row is not None:
        return row
    instrument = load_instrument(code)  # refuses unknown codes
    import json
    from importlib import resources

    definition = json.loads(
        resources.files("hindfoot.outcomes.instruments").joinpath(f"{code}.json").read_text("utf-8")
    )
    row = Questionnaire(code=code, version=instrument.version or "1", title=instrument.title,
                        status="active", definition=definition)
    db.add(row)
    db.flush()
    return row


def instrument_of(questionnaire: Questionnaire) -> Instrument:
    """The stored definition (a clinic's own wording, if loaded), else the shipped one."""
    try:
        return parse_questionnaire(questionnaire.definition, questionnaire.code)
    except InstrumentError:
        return load_instrument(questionnaire.code)


def load_questionnaire_version(db: Session, instrument: Instrument, definition: dict[str, Any]) -> Questionnaire:
    """Store a checked clinic Questionnaire as the newest version of its instrument.

    The version is the file's own when it is new, else the next free `<version>-n`; responses keep
    pointing at the version they were answered on.
    """
    taken = set(db.scalars(select(Questionnaire.version).where(Questionnaire.code == instrument.code)))
    version = instrument.version or "1"
    if version in taken:
        n = 2
        while f"{version}-{n}" in taken:
            n += 1
        version = f"{version}-{n}"
    row = Questionnaire(code=instrument.code, version=version[:20], title=instrument.title[:200] or instrument.code,
                        status="active", definition=definition)
    db.add(row)
    db.flush()
    return row


# ------------------------------------------------------------------ schedule


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
    rows = _due_rows(db, patient, today or date.today())
    audit.record(db, actor, audit.READ, "QuestionnaireResponse", patient_id=patient.id,
                 description=f"questionnaire due list: {sum(r.open for r in rows)} open")
    return rows


def _due_rows(db: Session, patient: Patient, today: date) -> list[DueRow]:
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


# ------------------------------------------------------------------ answering


def _check_can_answer(db: Session, actor: Actor, patient_id: uuid.UUID, action: str) -> Patient:
    patient = db.get(Patient, patient_id)
    allowed = patient is not None and (
        (actor.role == "patient" and actor.patient_id == patient.id) or can_write_patient(actor, patient)
    )
    if patient is None or not allowed:
        raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                           patient_id=patient_id if patient is not None else None, action=action)
    return patient


def start_response(
    db: Session, actor: Actor, patient_id: uuid.UUID, episode_id: uuid.UUID, instrument: str, timepoint: str,
    *, today: date | None = None,
) -> QuestionnaireResponse:
    """Open (or resume) the response for one due questionnaire; refuses what is not open now."""
    patient = _check_can_answer(db, actor, patient_id, audit.CREATE)
    if instrument not in INSTRUMENT_TITLES:
        raise InvalidInput(f"unknown instrument {instrument!r}", field="instrument")
    if timepoint not in due.TIMEPOINT_IDS:
        raise InvalidInput(f"unknown time point {timepoint!r}", field="timepoint")
    episode = db.get(EpisodeOfCare, episode_id)
    if episode is None or episode.patient_id != patient.id:
        raise InvalidInput("this episode is not the patient's", field="episode_id")
    rows = _due_rows(db, patient, today or date.today())
    row = next((r for r in rows if (r.episode_id, r.timepoint, r.instrument) == (episode_id, timepoint, instrument)),
               None)
    if row is None:
        raise InvalidInput(f"{instrument} is not scheduled at {timepoint} for this episode", field="timepoint")
    if row.status == "in-progress" and row.response_id is not None:
        return get_response(db, actor, row.response_id)
    if row.status not in ("due", "overdue"):
        raise Conflict(f"the {timepoint} {instrument} questionnaire is {row.status}, not open for answers")
    questionnaire = questionnaire_for(db, instrument)
    response = QuestionnaireResponse(
        questionnaire_id=questionnaire.id, patient_id=patient.id, episode_id=episode.id, timepoint=timepoint,
        due_on=row.due, status="in-progress", answers={}, scores={},
    )
    db.add(response)
    db.flush()
    response.questionnaire = questionnaire
    audit.record(db, actor, audit.CREATE, "QuestionnaireResponse", response.id, patient_id=patient.id,
                 description=f"{instrument} {timepoint} started")
    return response


def get_response(db: Session, actor: Actor, response_id: uuid.UUID, *, action: str = audit.READ) -> QuestionnaireResponse:
    response = db.scalar(
        select(QuestionnaireResponse).options(joinedload(QuestionnaireResponse.questionnaire))
        .where(QuestionnaireResponse.id == response_id)
    )
    if response is None:
        raise AccessDenied("questionnaire response not found", entity_type="QuestionnaireResponse",
                           entity_id=response_id, action=action)
    try:
        if action == audit.READ:
            patients_service.get_patient(db, actor, response.patient_id)
        else:
            _check_can_answer(db, actor, response.patient_id, action)
    except AccessDenied as exc:
        raise AccessDenied("questionnaire response not found", entity_type="QuestionnaireResponse",
                           entity_id=response_id, patient_id=response.patient_id, action=action) from exc
    if action == audit.READ:
        audit.record(db, actor, audit.READ, "QuestionnaireResponse", response.id, patient_id=response.patient_id,
                     description=f"{response.questionnaire.code} {response.timepoint} viewed")
    return response


def _check_value(item: Item, value: Any) -> Any:
    """The value to store for `item`, or InvalidInput naming the item."""
    if value is None or value == "":
        return None
    if item.kind == "choice":
        allowed = item.allowed_values or ()
        if isinstance(value, str) and value.isdigit() and int(value) in allowed:
            return int(value)
        if value in allowed and not isinstance(value, bool):
            return value
        raise InvalidInput(f"{item.id}: {value!r} is not one of the answers "
                           f"({', '.join(str(v) for v in allowed)})", field=item.id)
    if item.kind == "integer":
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or (item.min_value is not None and number < item.min_value) or (
            item.max_value is not None and number > item.max_value
        ):
            raise InvalidInput(f"{item.id}: {value!r} is not a whole number from {item.min_value} to "
                               f"{item.max_value}", field=item.id)
        return number
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidInput(f"{item.id}: {value!r} is not a date (YYYY-MM-DD)", field=item.id) from None


def _check_answer_date(db: Session, response: QuestionnaireResponse, item_id: str, day: date, today: date) -> None:
    """A date answer (e.g. the day of return to sport) is not in the future nor before the patient was born:
    such a date would bend the registry's time-to-return curve."""
    if day > today:
        raise InvalidInput(f"{item_id}: a date that has not come yet cannot be an answer", field=item_id)
    patient = db.get(Patient, response.patient_id)
    if patient is not None and day < patient.birth_date:
        raise InvalidInput(f"{item_id}: this date is before your date of birth", field=item_id)


def save_answers(
    db: Session, actor: Actor, response_id: uuid.UUID, answers: dict[str, Any], *, complete: bool = False,
    now: datetime | None = None,
) -> QuestionnaireResponse:
    """Merge answers into an in-progress response; with `complete`, score it and store the scores.

    Nothing changes when an answer is refused: every value (and, to complete, the whole response)
    is checked before the response is touched.
    """
    response = get_response(db, actor, response_id, action=audit.UPDATE)
    if response.status == "completed":
        raise Conflict("this questionnaire is already completed")
    instrument = instrument_of(response.questionnaire)
    items = {i.id: i for i in instrument.items}
    merged = dict(response.answers)
    for item_id, value in answers.items():
        if item_id not in items:
            raise InvalidInput(f"unknown item id {item_id!r} for {instrument.code}", field=item_id)
        checked = _check_value(items[item_id], value)
        if items[item_id].kind == "date" and checked is not None:
            _check_answer_date(db, response, item_id, date.fromisoformat(str(checked)), (now or utcnow()).date())
        if checked is None:
            merged.pop(item_id, None)
        else:
            merged[item_id] = checked
    if instrument.code == "rts" and merged.get("RTS_STATUS") == "not_returned":
        merged.pop("RTS_DATE", None)  # the date is asked only once returned
    observations = _score_observations(response, instrument.code, merged, now or utcnow()) if complete else None
    response.answers = merged
    response.updated_at = utcnow()
    if observations is not None:
        response.status = "completed"
        response.authored_at = now or utcnow()
        db.add_all(observations)
    audit.record(db, actor, audit.UPDATE, "QuestionnaireResponse", response.id, patient_id=response.patient_id,
                 description=f"{instrument.code} {response.timepoint} "
                 + ("completed" if complete else f"saved ({len(merged)} of {len(items)} answered)"))
    db.flush()
    return response


def _score_observations(
    response: QuestionnaireResponse, code: str, answers: dict[str, Any], now: datetime
) -> list[Observation]:
    """Score `answers` (refusing an incomplete or invalid response) and build the score Observations;
    sets `response.scores`."""
    observations: list[Observation] = []

    def obs(obs_code: str, **values: Any) -> None:
        observations.append(Observation(
            patient_id=response.patient_id, episode_id=response.episode_id,
            questionnaire_response_id=response.id, category="score", code=obs_code, effective_at=now, **values,
        ))

    if code == "rts":
        rts = scoring.read_rts(answers)
        if rts is None:
            raise InvalidInput("answer whether you have returned to your sport", field="RTS_STATUS")
        response.scores = {}
        obs("rts.status", value_string=rts.status)
        if rts.returned_on is not None:
            obs("rts.date", value_string=rts.returned_on.isoformat())
    else:
        result = scoring.score(code, answers)
        response.scores = {k: v for k, v in result["scores"].items() if v is not None}
        for sub, value in result["scores"].items():
            if value is not None:
                obs(SCORE_CODES[code][sub], value_quantity=value,
                    value_unit="/10" if code == "pain" else "score")
    return observations


# ------------------------------------------------------------------ the patient's chart


@dataclass
class ScoreSeries:
    code: str
    label: str
    points: list[tuple[date, float, str]]  # (date, value, time point)
    mcid: Mcid
    baseline: float | None

    @property
    def threshold(self) -> float | None:
        """The score that reaches the MCID from the baseline (None without a baseline)."""
        if self.baseline is None:
            return None
        return self.baseline + self.mcid.value if self.mcid.better == "higher" else self.baseline - self.mcid.value


@dataclass
class PatientOutcomes:
    patient: Patient
    series: list[ScoreSeries] = field(default_factory=list)
    markers: list[tuple[date, str]] = field(default_factory=list)  # surgery, treatment start
    rts: list[tuple[date, str, str | None]] = field(default_factory=list)  # (answered, status, date)


def patient_outcomes(db: Session, actor: Actor, patient_id: uuid.UUID) -> PatientOutcomes:
    """Scores over time per score code, with MCID thresholds and pathway markers; audited."""
    patient = patients_service.get_patient(db, actor, patient_id)
    rows = db.execute(
        select(Observation.code, Observation.effective_at, Observation.value_quantity, Observation.value_string,
               QuestionnaireResponse.timepoint)
        .outerjoin(QuestionnaireResponse, QuestionnaireResponse.id == Observation.questionnaire_response_id)
        .where(Observation.patient_id == patient.id,
               Observation.code.in_([*SCORE_LABELS, "rts.status", "rts.date"]))
        .order_by(Observation.effective_at)
    ).all()
    result = PatientOutcomes(patient=patient)
    by_code: dict[str, list[tuple[date, float, str]]] = defaultdict(list)
    rts_dates: dict[datetime, str] = {}
    for code, when, _value, text, _timepoint in rows:
        if code == "rts.date" and text:
            rts_dates[when] = text
    for code, when, value, text, timepoint in rows:
        if code == "rts.status" and text:
            result.rts.append((when.date(), text, rts_dates.get(when)))
        elif code in SCORE_LABELS and value is not None:
            by_code[code].append((when.date(), float(value), timepoint or ""))
    for code, label in SCORE_LABELS.items():
        points = by_code.get(code)
        if not points:
            continue
        base = [v for _, v, tp in points if tp == "baseline"]
        result.series.append(ScoreSeries(code, label, points, mcid_for(code), base[0] if base else None))
    episodes = list(db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)))
    for a in episode_anchors(db, episodes).values():
        if a.surgery_date:
            result.markers.append((a.surgery_date, "Surgery"))
        if a.treatment_start:
            result.markers.append((a.treatment_start, "Treatment start"))
    audit.record(db, actor, audit.READ, "Observation", patient_id=patient.id, description="outcome scores viewed")
    return result
