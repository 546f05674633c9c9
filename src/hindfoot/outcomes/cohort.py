"""The registry's cohort: the filters, the cohort query, the follow-up anchors, and days between dates.

The cohort is the organisation's episodes of care, filtered by the patient's sport, a procedure
code, the operating surgeon and the period in which the episode started; patients who restricted
processing are left out. Follow-up is counted from the anchor: the surgery (latest completed
surgical procedure), else the first move to conservative care.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Integer, Select, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from hindfoot.auth.actor import Actor
from hindfoot.db.models import EpisodeOfCare, PathwayEvent, Patient, Procedure
from hindfoot.outcomes.due import add_months
from hindfoot.outcomes.vocabulary import SURGICAL_PROCEDURES

FOLLOW_UPS: Final = (("6w", ("weeks", 6)), ("3m", ("months", 3)), ("6m", ("months", 6)), ("12m", ("months", 12)))


class days_between(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it renders
    """Whole days from `start` to `end` (timestamps or ISO date text), on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (f"CAST(julianday(date({compiler.process(end, **kw)})) - "
            f"julianday(date({compiler.process(start, **kw)})) AS INTEGER)")


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(CAST({compiler.process(end, **kw)} AS DATE) - CAST({compiler.process(start, **kw)} AS DATE))"


@dataclass(frozen=True)
class Filters:
    sport: str | None = None
    procedure: str | None = None
    surgeon_id: uuid.UUID | None = None
    start: date | None = None
    end: date | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in asdict(self).items() if v is not None]
        return ", ".join(parts) or "no filters"


def restricted_patients(db: Session, actor: Actor) -> list[uuid.UUID]:
    """The clinic's patients who restricted processing (GDPR art. 18): left out of the registry. Few, and
    read from a partial index that holds only them."""
    return list(db.scalars(select(Patient.id).where(Patient.organization_id == actor.organization_id,
                                                    Patient.restricted_at.is_not(None))))


def cohort_query(actor: Actor, f: Filters, excluded: list[uuid.UUID], *,
                 with_patient: bool = False) -> Select[uuid.UUID, uuid.UUID, date]:
    stmt = (
        select(EpisodeOfCare.id.label("episode_id"), EpisodeOfCare.patient_id, EpisodeOfCare.period_start)
        .where(EpisodeOfCare.organization_id == actor.organization_id)
    )
    if excluded:  # a literal list: with none restricted (the usual case) the query is as it was
        stmt = stmt.where(EpisodeOfCare.patient_id.not_in(excluded))
    if f.sport or with_patient:  # every episode has its patient: join only when a patient column is needed
        stmt = stmt.join(Patient, Patient.id == EpisodeOfCare.patient_id)
    if f.sport:
        stmt = stmt.where(Patient.sport == f.sport)
    if f.procedure:
        stmt = stmt.where(exists().where(Procedure.episode_id == EpisodeOfCare.id, Procedure.code == f.procedure))
    if f.surgeon_id:
        stmt = stmt.where(exists().where(Procedure.episode_id == EpisodeOfCare.id,
                                         Procedure.performer_id == f.surgeon_id))
    if f.start:
        stmt = stmt.where(EpisodeOfCare.period_start >= f.start)
    if f.end:
        stmt = stmt.where(EpisodeOfCare.period_start <= f.end)
    return stmt


def anchor_subqueries() -> Any:
    """Per episode: the surgery time (latest completed surgical procedure), else conservative start."""
    surgery = (
        select(Procedure.episode_id, func.max(Procedure.performed_at).label("at"))
        .where(Procedure.code.in_(SURGICAL_PROCEDURES), Procedure.status == "completed")
        .group_by(Procedure.episode_id).subquery("surgery")
    )
    conservative = (
        select(PathwayEvent.episode_id, func.min(PathwayEvent.recorded_at).label("at"))
        .where(PathwayEvent.to_stage == "conservative_care")
        .group_by(PathwayEvent.episode_id).subquery("conservative")
    )
    return surgery, conservative


def follow_up_cut(today: date, unit: str, amount: int) -> datetime:
    """The end of the day `amount` weeks or months before `today`: a follow-up whose anchor is on or
    before it is due."""
    day = today - timedelta(weeks=amount) if unit == "weeks" else add_months(today, -amount)
    return datetime.combine(day, time.max, tzinfo=UTC)
