"""Hand-built outcome data for the outcomes tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
    Organization,
    PathwayEvent,
    Patient,
    Procedure,
    QuestionnaireResponse,
    UserAccount,
)
from hindfoot.outcomes import service

FAOS_ALL_1 = dict.fromkeys([*(f"S{n}" for n in range(1, 8)), *(f"P{n}" for n in range(1, 10)),
                            *(f"A{n}" for n in range(1, 18)), *(f"SP{n}" for n in range(1, 6)),
                            *(f"Q{n}" for n in range(1, 5))], 1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def actor_for(account: UserAccount) -> Actor:
    return Actor.from_account(account)


def episode_of(db: Session, patient: Patient) -> EpisodeOfCare:
    from sqlalchemy import select

    return db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)).one()


def add_surgery(db: Session, episode: EpisodeOfCare, day: date, *, code: str = "posterior_arthroscopic_excision",
                surgeon_id: Any = None, complication: str | None = None) -> Procedure:
    proc = Procedure(patient_id=episode.patient_id, episode_id=episode.id, code=code, display=code,
                     status="completed", performed_at=at(day, 9), performer_id=surgeon_id, complication=complication)
    db.add(proc)
    db.flush()
    return proc


def add_conservative(db: Session, episode: EpisodeOfCare, day: date) -> None:
    db.add(PathwayEvent(episode_id=episode.id, from_stage="assessment", to_stage="conservative_care",
                        recorded_at=at(day, 10)))
    db.flush()


def add_scores(db: Session, episode: EpisodeOfCare, timepoint: str, day: date, scores: dict[str, float]) -> None:
    """A completed response per instrument with the given score codes (e.g. {"faos.pain": 50})."""
    by_instrument: dict[str, dict[str, float]] = {}
    for code, value in scores.items():
        instrument, _, sub = code.partition(".")
        by_instrument.setdefault(instrument, {})["pain" if instrument == "pain" else sub] = value
    for instrument, subs in by_instrument.items():
        q = service.questionnaire_for(db, instrument)
        r = QuestionnaireResponse(questionnaire_id=q.id, patient_id=episode.patient_id, episode_id=episode.id,
                                  timepoint=timepoint, status="completed", authored_at=at(day), answers={},
                                  scores=subs)
        db.add(r)
        db.flush()
        for sub, value in subs.items():
            db.add(Observation(patient_id=episode.patient_id, episode_id=episode.id, questionnaire_response_id=r.id,
                               category="score", code=service.SCORE_CODES[instrument][sub], value_quantity=value,
                               effective_at=at(day)))
    db.flush()


def add_rts(db: Session, episode: EpisodeOfCare, answered: date, status: str, returned: date | None = None) -> None:
    db.add(Observation(patient_id=episode.patient_id, episode_id=episode.id, category="score", code="rts.status",
                       value_string=status, effective_at=at(answered)))
    if returned is not None:
        db.add(Observation(patient_id=episode.patient_id, episode_id=episode.id, category="score", code="rts.date",
                           value_string=returned.isoformat(), effective_at=at(answered)))
    db.flush()


def org_with(db: Session) -> Organization:
    from factories import make_org

    return make_org(db)
