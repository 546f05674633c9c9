"""Outcomes registry summary tables: narrow per-episode rows the registry dashboard aggregates.

The clinical record stays FHIR-shaped (`QuestionnaireResponse`, score `Observation`s); these two
tables are derived from it, per episode, so the dashboard never joins millions of wide rows:

- `registry_score`: per episode and score code, the mean value at each time point (the mean when a
  time point was answered twice), from the Observations that belong to a QuestionnaireResponse;
- `registry_episode`: per episode, which time points have a completed response, and the return to
  sport summary (first reported return date, last status answer, back at the previous level,
  returned at all, number of return-to-sport answers).

They are kept in step automatically: after every ORM flush that adds, changes or deletes an
Observation or a QuestionnaireResponse, the affected episodes' rows are rebuilt from the record in
the same transaction (`refresh_registry`). Bulk loaders that bypass the ORM (the registry
generator) write the rows themselves; rows go with their episode (ON DELETE CASCADE).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    Connection,
    ForeignKey,
    String,
    Table,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from hindfoot.db.base import Base
from hindfoot.db.models.episode import EpisodeOfCare
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.questionnaire import QuestionnaireResponse

__all__ = ["REGISTRY_TIMEPOINTS", "RETURNED_PREVIOUS", "RTS_CODES", "RegistryEpisode", "RegistryScore",
           "refresh_registry"]

REGISTRY_TIMEPOINTS: Final = ("baseline", "6w", "3m", "6m", "12m")
RTS_CODES: Final = ("rts.status", "rts.date")
RETURNED_PREVIOUS: Final = ("returned_previous_level", "returned_higher_level")


class RegistryScore(Base):
    __tablename__ = "registry_score"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"),
                                                  primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. "faos.pain"
    tp_baseline: Mapped[float | None]
    tp_6w: Mapped[float | None]
    tp_3m: Mapped[float | None]
    tp_6m: Mapped[float | None]
    tp_12m: Mapped[float | None]


class RegistryEpisode(Base):
    __tablename__ = "registry_episode"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"),
                                                  primary_key=True)
    done_baseline: Mapped[int] = mapped_column(default=0)  # 1 = a completed response at that time point
    done_6w: Mapped[int] = mapped_column(default=0)
    done_3m: Mapped[int] = mapped_column(default=0)
    done_6m: Mapped[int] = mapped_column(default=0)
    done_12m: Mapped[int] = mapped_column(default=0)
    rts_answers: Mapped[int] = mapped_column(default=0)  # rts.status / rts.date observations
    rts_returned_on: Mapped[str | None] = mapped_column(String(300))  # earliest reported return date (ISO)
    rts_last_seen: Mapped[datetime | None]  # latest rts.status answer
    rts_previous: Mapped[int] = mapped_column(default=0)  # 1 = back at the previous level or higher
    rts_returned: Mapped[int] = mapped_column(default=0)  # 1 = any status other than not_returned


def score_rows_select(where: Any = None) -> Any:
    """(episode_id, code, tp_baseline, ..., tp_12m) from the record, optionally restricted."""
    o, r = Observation, QuestionnaireResponse
    stmt = (
        select(o.episode_id, o.code,
               *(func.avg(case((r.timepoint == tp, o.value_quantity))) for tp in REGISTRY_TIMEPOINTS))
        .join(r, r.id == o.questionnaire_response_id)
        .where(o.episode_id.is_not(None), o.value_quantity.is_not(None))
        .group_by(o.episode_id, o.code)
    )
    return stmt if where is None else stmt.where(where(o.episode_id))


def episode_rows_select(where: Any = None) -> Any:
    """(episode_id, done_*, rts_*) from the record for episodes with a completed response or an RTS answer."""
    r, o = QuestionnaireResponse, Observation
    done = (
        select(r.episode_id, *(func.max(case((r.timepoint == tp, 1), else_=0)).label(f"d_{tp}")
                               for tp in REGISTRY_TIMEPOINTS))
        .where(r.status == "completed", r.episode_id.is_not(None))
        .group_by(r.episode_id)
    )
    rts = (
        select(o.episode_id, func.count().label("answers"),
               func.min(case((o.code == "rts.date", o.value_string))).label("returned_on"),
               func.max(case((o.code == "rts.status", o.effective_at))).label("last_seen"),
               func.max(case((o.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)).label("previous"),
               func.max(case((and_(o.code == "rts.status", o.value_string != "not_returned"), 1),
                             else_=0)).label("returned"))
        .where(o.code.in_(RTS_CODES), o.episode_id.is_not(None))
        .group_by(o.episode_id)
    )
    if where is not None:
        done = done.where(where(r.episode_id))
        rts = rts.where(where(o.episode_id))
    done_q, rts_q = done.subquery("done"), rts.subquery("rts")
    e = EpisodeOfCare
    return (
        select(e.id,
               *(func.coalesce(done_q.c[f"d_{tp}"], 0) for tp in REGISTRY_TIMEPOINTS),
               func.coalesce(rts_q.c.answers, 0), rts_q.c.returned_on, rts_q.c.last_seen,
               func.coalesce(rts_q.c.previous, 0), func.coalesce(rts_q.c.returned, 0))
        .outerjoin(done_q, done_q.c.episode_id == e.id)
        .outerjoin(rts_q, rts_q.c.episode_id == e.id)
        .where((done_q.c.episode_id.is_not(None)) | (rts_q.c.episode_id.is_not(None)))
    )


SCORE_COLUMNS: Final = ["episode_id", "code", *(f"tp_{tp}" for tp in REGISTRY_TIMEPOINTS)]
EPISODE_COLUMNS: Final = ["episode_id", *(f"done_{tp}" for tp in REGISTRY_TIMEPOINTS), "rts_answers",
                          "rts_returned_on", "rts_last_seen", "rts_previous", "rts_returned"]


def refresh_registry(conn: Connection, episode_ids: Iterable[uuid.UUID] | None = None) -> None:
    """Rebuild the registry rows of these episodes (all episodes when None) from the record."""
    if episode_ids is None:
        chunks: list[list[uuid.UUID] | None] = [None]
    else:
        ids = sorted(set(episode_ids))
        chunks = [ids[i: i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        if chunk == []:
            continue

        def where(col: Any, chunk: list[uuid.UUID] | None = chunk) -> Any:
            return col.in_(chunk)

        w = None if chunk is None else where
        for model, columns, source in ((RegistryScore, SCORE_COLUMNS, score_rows_select),
                                       (RegistryEpisode, EPISODE_COLUMNS, episode_rows_select)):
            table = cast(Table, model.__table__)
            stmt = delete(table) if chunk is None else delete(table).where(table.c.episode_id.in_(chunk))
            conn.execute(stmt)
            conn.execute(insert(table).from_select(columns, source(w)))


def _episodes_touched(session: Session) -> set[uuid.UUID]:
    touched: set[uuid.UUID] = set()
    for bucket, dirty in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for obj in bucket:
            if isinstance(obj, Observation):
                if not dirty:
                    codes = _values(obj, "code")
                    responses = _values(obj, "questionnaire_response_id")
                    if not (any(c in RTS_CODES for c in codes) or any(v is not None for v in responses)):
                        continue
            elif not isinstance(obj, QuestionnaireResponse):
                continue
            touched.update(v for v in _values(obj, "episode_id") if v is not None)
    return touched


def _values(obj: Any, key: str) -> list[Any]:
    history = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
    return [*history.added, *history.unchanged, *history.deleted]


@event.listens_for(Session, "after_flush")
def _keep_registry_in_step(session: Session, _flush_context: Any) -> None:
    touched = _episodes_touched(session)
    if touched:
        refresh_registry(session.connection(), touched)
