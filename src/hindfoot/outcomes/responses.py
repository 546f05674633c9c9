"""Answering a questionnaire: open (or resume) a due one, save answers section by section, complete it.

A response is a `QuestionnaireResponse` (in-progress while the patient saves and resumes,
completed once submitted); completing it scores it exactly (`scoring`) and stores each score as
an `Observation` (`faos.pain`, `faam.adl`, `pain.nrs`, ...; return to sport as `rts.status` and
`rts.date`) so the chart, the timeline and the registry read one source.

Only the patient themself (or staff of their clinic) may answer; anyone else gets the audited 404.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_write_patient
from hindfoot.db.base import utcnow
from hindfoot.db.models import EpisodeOfCare, Observation, Patient, QuestionnaireResponse
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.outcomes import due, scoring
from hindfoot.outcomes.due_list import due_rows
from hindfoot.outcomes.instruments import Item
from hindfoot.outcomes.questionnaires import instrument_of, questionnaire_for
from hindfoot.outcomes.vocabulary import INSTRUMENT_TITLES, SCORE_CODES
from hindfoot.patients import service as patients_service


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
    rows = due_rows(db, patient, today or date.today())
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
