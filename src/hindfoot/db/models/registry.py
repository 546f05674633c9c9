"""Outcomes registry summary tables: narrow per-episode rows the registry dashboard aggregates.

The clinical record stays FHIR-shaped (`QuestionnaireResponse`, score `Observation`s); these two
tables are derived from it, per episode, so the dashboard never joins millions of wide rows:

- `registry_score`: per episode and score code, the mean value at each time point (the mean when a
  time point was answered twice), from the Observations that belong to a QuestionnaireResponse;
- `registry_episode`: per episode, which time points have a completed response, and the return to
  sport summary (first reported return date, last status answer, back at the previous level,
  returned at all, number of return-to-sport answers).

`registry_episode` also keeps what places the episode in the dashboard's running totals: its
organisation, patient, the patient's sport, its start day, its anchor day (surgery, else the start
of conservative care), whether it is the patient's first episode, and its completed procedures.

The `registry_total_*` tables are the dashboard's pre-aggregated rows: per organisation and sport,
small keys (a day, a score and time point, days to return, a complication) with integer sums
(`hindfoot.outcomes.tallies`). Their size depends on the calendar and the vocabulary, not on the
number of patients, so the dashboard reads a few thousand rows at any registry size.

All of it is kept in step automatically, in the same transaction as the write: every ORM flush
that changes an Observation, a QuestionnaireResponse, a Procedure, a conservative-care
PathwayEvent, an episode's patient / organisation / start, or a patient's sport notes the affected
episodes; just before the transaction commits (or when it reads the dashboard itself) their old
shares are subtracted from the totals, their rows are rebuilt from the record and their new shares
added (`apply_pending`, `refresh_registry`); deleting an episode or a patient through the ORM
subtracts its shares first. Bulk loaders that bypass the ORM (the registry generator) write the
rows and add their shares themselves (`add_totals`); `hindfoot outcomes rebuild-registry`
(`refresh_registry(conn)`) rebuilds everything from the record after any other bulk load.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Final, cast

from sqlalchemy import (
    JSON,
    BigInteger,
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
    text,
    tuple_,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from hindfoot.db.base import Base
from hindfoot.db.models.audit import AuditEvent
from hindfoot.db.models.episode import EpisodeOfCare, PathwayEvent
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.procedure import Procedure
from hindfoot.db.models.questionnaire import QuestionnaireResponse
from hindfoot.outcomes import tallies

__all__ = [
    "REGISTRY_TABLES",
    "REGISTRY_TIMEPOINTS",
    "RETURNED_PREVIOUS",
    "RTS_CODES",
    "TOTALS",
    "RegistryEpisode",
    "RegistryScore",
    "RegistryTotalAnchor",
    "RegistryTotalKm",
    "RegistryTotalProcedure",
    "RegistryTotalScore",
    "RegistryTotalStart",
    "add_totals",
    "refresh_registry",
]

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
    # where the episode counts in the totals (as of its last refresh)
    organization_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    sport: Mapped[str | None] = mapped_column(String(40))
    start_day: Mapped[date | None]
    anchor_day: Mapped[date | None]
    first_of_patient: Mapped[int] = mapped_column(default=0)  # 1 = the patient's first episode in the organisation
    procedures: Mapped[list[Any] | None] = mapped_column(JSON)  # completed: [complication or "", surgical]


def _org_fk() -> Any:
    return mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)


class RegistryTotalStart(Base):
    """Per organisation, sport and episode start day: episodes, patients, baseline and RTS counts."""

    __tablename__ = "registry_total_start"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    episodes: Mapped[int]
    patients: Mapped[int]
    done_baseline: Mapped[int]
    rts_answered: Mapped[int]
    rts_returned: Mapped[int]
    rts_previous: Mapped[int]


class RegistryTotalAnchor(Base):
    """Per organisation, sport and anchor day: episodes and completed follow-ups."""

    __tablename__ = "registry_total_anchor"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    episodes: Mapped[int]
    done_6w: Mapped[int]
    done_3m: Mapped[int]
    done_6m: Mapped[int]
    done_12m: Mapped[int]


class RegistryTotalScore(Base):
    """Per organisation, sport, score and follow-up: change from baseline (sums in millionths)."""

    __tablename__ = "registry_total_score"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    timepoint: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int]
    baseline_sum: Mapped[int] = mapped_column(BigInteger)
    follow_up_sum: Mapped[int] = mapped_column(BigInteger)
    change_sum: Mapped[int] = mapped_column(BigInteger)
    above_mcid: Mapped[int]


class RegistryTotalKm(Base):
    """Per organisation, sport, days from the anchor and outcome (1 returned, 0 censored): episodes."""

    __tablename__ = "registry_total_km"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    days: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


class RegistryTotalProcedure(Base):
    """Per organisation, sport, complication ("" for none) and surgical or not: completed procedures."""

    __tablename__ = "registry_total_procedure"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    complication: Mapped[str] = mapped_column(String(200), primary_key=True)
    surgical: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


# tally kind -> (table, key columns after organisation and sport, value columns)
TOTALS: Final[dict[str, tuple[type[Base], tuple[str, ...], tuple[str, ...]]]] = {
    "start": (RegistryTotalStart, ("day",),
              ("episodes", "patients", "done_baseline", "rts_answered", "rts_returned", "rts_previous")),
    "anchor": (RegistryTotalAnchor, ("day",), ("episodes", "done_6w", "done_3m", "done_6m", "done_12m")),
    "score": (RegistryTotalScore, ("code", "timepoint"),
              ("n", "baseline_sum", "follow_up_sum", "change_sum", "above_mcid")),
    "km": (RegistryTotalKm, ("days", "event"), ("n",)),
    "procedure": (RegistryTotalProcedure, ("complication", "surgical"), ("n",)),
}


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


def episode_rows_select(where: Any) -> tuple[Any, Any]:
    """Two grouped queries over the episodes `where` picks: (episode_id, done per time point) from
    the completed responses, and (episode_id, RTS answers, first return date, last status answer,
    back at the previous level, returned at all) from the return-to-sport observations. Each reads
    only those episodes' rows (an outer join from every episode would scan them all)."""
    r, o = QuestionnaireResponse, Observation
    done = (
        select(r.episode_id, *(func.max(case((r.timepoint == tp, 1), else_=0)) for tp in REGISTRY_TIMEPOINTS))
        .where(r.status == "completed", where(r.episode_id))
        .group_by(r.episode_id)
    )
    rts = (
        select(o.episode_id, func.count(),
               func.min(case((o.code == "rts.date", o.value_string))),
               func.max(case((o.code == "rts.status", o.effective_at))),
               func.max(case((o.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)),
               func.max(case((and_(o.code == "rts.status", o.value_string != "not_returned"), 1), else_=0)))
        .where(o.code.in_(RTS_CODES), where(o.episode_id))
        .group_by(o.episode_id)
    )
    return done, rts


REGISTRY_TABLES: Final = ("registry_episode", "registry_score", *(cast(Table, t[0].__table__).name
                                                                  for t in TOTALS.values()))
SCORE_COLUMNS: Final = ["episode_id", "code", *(f"tp_{tp}" for tp in REGISTRY_TIMEPOINTS)]
EPISODE_COLUMNS: Final = ["episode_id", *(f"done_{tp}" for tp in REGISTRY_TIMEPOINTS), "rts_answers",
                          "rts_returned_on", "rts_last_seen", "rts_previous", "rts_returned", "organization_id",
                          "patient_id", "sport", "start_day", "anchor_day", "first_of_patient", "procedures"]
_CHUNK: Final = 500


def utc_day(value: datetime | date | str | None) -> date | None:
    """The UTC calendar day of a timestamp (an SQLite aggregate may hand back its stored text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).date()
    return value


def share_of(row: Any, scores: Iterable[Any]) -> tallies.Tally:
    """An episode's share of the totals from its stored `registry_episode` row (a mapping) and its
    `registry_score` rows."""
    if row["organization_id"] is None or row["start_day"] is None:
        return {}
    return tallies.shares(tallies.EpisodeShare(
        organization_id=row["organization_id"], sport=row["sport"] or "", start_day=row["start_day"],
        anchor_day=row["anchor_day"], first_of_patient=bool(row["first_of_patient"]),
        done={tp: row[f"done_{tp}"] for tp in REGISTRY_TIMEPOINTS}, rts_answers=row["rts_answers"],
        rts_returned_on=row["rts_returned_on"], rts_last_seen=utc_day(row["rts_last_seen"]),
        rts_previous=row["rts_previous"], rts_returned=row["rts_returned"],
        procedures=[(c, s) for c, s in row["procedures"] or []],
        scores=[(s["code"], {tp: s[f"tp_{tp}"] for tp in REGISTRY_TIMEPOINTS}) for s in scores],
    ))


def _derive(conn: Connection, chunk: list[uuid.UUID]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The registry rows (episode rows, score rows) of these episodes, from the record."""
    e, p = EpisodeOfCare.__table__.c, Patient.__table__.c
    ctx = conn.execute(select(e.id, e.patient_id, e.organization_id, p.sport, e.period_start, p.restricted_at)
                       .join_from(EpisodeOfCare.__table__, Patient.__table__, p.id == e.patient_id)
                       .where(e.id.in_(chunk))).all()
    if not ctx:
        return [], []
    patients = sorted({r.patient_id for r in ctx})
    first: dict[tuple[uuid.UUID, uuid.UUID], tuple[date, uuid.UUID]] = {}
    for i in range(0, len(patients), _CHUNK):
        for sib in conn.execute(select(e.id, e.patient_id, e.organization_id, e.period_start)
                                .where(e.patient_id.in_(patients[i: i + _CHUNK]))):
            key, rank = (sib.patient_id, sib.organization_id), (sib.period_start, sib.id)
            if key not in first or rank < first[key]:
                first[key] = rank
    pr, pe = Procedure.__table__.c, PathwayEvent.__table__.c
    surgery = dict(conn.execute(
        select(pr.episode_id, func.max(pr.performed_at))
        .where(pr.episode_id.in_(chunk), pr.code.in_(tallies.SURGICAL_CODES), pr.status == "completed")
        .group_by(pr.episode_id)).all())
    conservative = dict(conn.execute(
        select(pe.episode_id, func.min(pe.recorded_at))
        .where(pe.episode_id.in_(chunk), pe.to_stage == "conservative_care").group_by(pe.episode_id)).all())
    procedures: dict[uuid.UUID, list[list[Any]]] = {}
    for eid, complication, code in conn.execute(
        select(pr.episode_id, pr.complication, pr.code)
        .where(pr.episode_id.in_(chunk), pr.status == "completed")
        .order_by(pr.episode_id, pr.code, pr.complication)
    ):
        procedures.setdefault(eid, []).append([complication or "", int(code in tallies.SURGICAL_CODES)])

    def where(col: Any) -> Any:
        return col.in_(chunk)

    scores = [dict(zip(SCORE_COLUMNS, r, strict=True)) for r in conn.execute(score_rows_select(where))]
    done_select, rts_select = episode_rows_select(where)
    done = {r[0]: list(r[1:]) for r in conn.execute(done_select)}
    rts = {r[0]: list(r[1:]) for r in conn.execute(rts_select)}
    rows = []
    for c in ctx:
        summary = done.get(c.id, [0] * len(REGISTRY_TIMEPOINTS)) + rts.get(c.id, [0, None, None, 0, 0])
        anchor = surgery.get(c.id)
        if anchor is None:
            anchor = conservative.get(c.id)
        rows.append(dict(zip(EPISODE_COLUMNS, [
            # a patient who restricted processing (GDPR art. 18) keeps the row but counts in no total
            c.id, *summary, c.organization_id, c.patient_id, c.sport,
            c.period_start if c.restricted_at is None else None, utc_day(anchor),
            int(first[(c.patient_id, c.organization_id)][1] == c.id), procedures.get(c.id, [])], strict=True)))
    return rows, scores


def _shares(episodes: list[dict[str, Any]], scores: list[dict[str, Any]]) -> tallies.Tally:
    by_episode: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for s in scores:
        by_episode.setdefault(s["episode_id"], []).append(s)
    total: tallies.Tally = {}
    for row in episodes:
        tallies.add_into(total, share_of(row, by_episode.get(row["episode_id"], [])))
    return total


def _stored(conn: Connection, chunk: list[uuid.UUID]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ep, sc = cast(Table, RegistryEpisode.__table__), cast(Table, RegistryScore.__table__)
    episodes = [dict(r._mapping) for r in conn.execute(select(ep).where(ep.c.episode_id.in_(chunk)))]
    scores = [dict(r._mapping) for r in conn.execute(select(sc).where(sc.c.episode_id.in_(chunk)))]
    return episodes, scores


def _write(conn: Connection, episodes: list[dict[str, Any]], scores: list[dict[str, Any]]) -> None:
    if episodes:
        conn.execute(insert(cast(Table, RegistryEpisode.__table__)), episodes)
    if scores:
        conn.execute(insert(cast(Table, RegistryScore.__table__)), scores)


def _upsert_stmt(conn: Connection, table: Table, keys: list[str], values: tuple[str, ...]) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                      set_={v: table.c[v] + stmt.excluded[v] for v in values})


def _lock_totals(conn: Connection, organizations: Iterable[uuid.UUID]) -> None:
    """On PostgreSQL, a transaction-level advisory lock per clinic before its totals move: a
    transaction that moves totals in several flushes (in any order of keys) never deadlocks with
    another one; it waits for it. Released at commit or rollback. (SQLite has one writer anyway.)"""
    if conn.dialect.name != "postgresql":
        return
    for org in sorted(set(organizations)):
        key = int.from_bytes(hashlib.sha256(b"hindfoot-registry:" + org.bytes).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def add_totals(conn: Connection, delta: tallies.Tally) -> None:
    """totals += delta (under the clinics' locks, keys in a fixed order); rows that fall to zero
    are removed."""
    _lock_totals(conn, (cast(uuid.UUID, k[1]) for k, v in delta.items() if any(v)))
    for kind, (model, rest, values) in TOTALS.items():
        table = cast(Table, model.__table__)
        keys = ["organization_id", "sport", *rest]
        rows = sorted(((k[1:], v) for k, v in delta.items() if k[0] == kind and any(v)), key=lambda kv: str(kv[0]))
        if not rows:
            continue
        conn.execute(_upsert_stmt(conn, table, keys, values),
                     [dict(zip([*keys, *values], [*k, *v], strict=True)) for k, v in rows])
        touched = [k for k, v in rows if v[0] < 0]  # only a subtraction can bring a row to zero
        for i in range(0, len(touched), _CHUNK):
            conn.execute(delete(table).where(tuple_(*(table.c[k] for k in keys)).in_(touched[i: i + _CHUNK]),
                                             table.c[values[0]] == 0))


def refresh_registry(conn: Connection, episode_ids: Iterable[uuid.UUID] | None = None,
                     patient_ids: Iterable[uuid.UUID] = (), *, into: tallies.Tally | None = None) -> None:
    """Rebuild the registry rows of these episodes (and of every episode of these patients) from the
    record and move their shares in the totals (or, with `into`, add the move to that tally for the
    caller to apply); everything, totals included, when `episode_ids` is None."""
    if episode_ids is None:
        _rebuild_all(conn)
        return
    ids = set(episode_ids)
    patients = sorted(set(patient_ids))
    ep = cast(Table, RegistryEpisode.__table__)
    e = EpisodeOfCare.__table__.c
    for i in range(0, len(patients), _CHUNK):
        part = patients[i: i + _CHUNK]
        ids.update(conn.scalars(select(e.id).where(e.patient_id.in_(part))))
        ids.update(conn.scalars(select(ep.c.episode_id).where(ep.c.patient_id.in_(part))))
    ordered = sorted(ids)
    delta: tallies.Tally = {}
    for i in range(0, len(ordered), _CHUNK):
        chunk = ordered[i: i + _CHUNK]
        old_episodes, old_scores = _stored(conn, chunk)
        tallies.add_into(delta, _shares(old_episodes, old_scores), -1)
        conn.execute(delete(cast(Table, RegistryScore.__table__)).where(RegistryScore.__table__.c.episode_id.in_(chunk)))
        conn.execute(delete(ep).where(ep.c.episode_id.in_(chunk)))
        episodes, scores = _derive(conn, chunk)
        _write(conn, episodes, scores)
        tallies.add_into(delta, _shares(episodes, scores))
    if into is None:
        add_totals(conn, delta)
    else:
        tallies.add_into(into, delta)


def _rebuild_all(conn: Connection) -> None:
    models: list[type[Base]] = [RegistryScore, RegistryEpisode, *(t[0] for t in TOTALS.values())]
    for model in models:
        conn.execute(delete(cast(Table, model.__table__)))
    ids = list(conn.scalars(select(EpisodeOfCare.__table__.c.id).order_by(EpisodeOfCare.__table__.c.id)))
    total: tallies.Tally = {}
    for i in range(0, len(ids), 2000):
        episodes, scores = _derive(conn, ids[i: i + 2000])
        _write(conn, episodes, scores)
        tallies.add_into(total, _shares(episodes, scores))
    for kind, (model, rest, values) in TOTALS.items():  # the tables are empty: plain inserts
        names = ["organization_id", "sport", *rest, *values]
        rows = [dict(zip(names, [*k[1:], *v], strict=True)) for k, v in total.items() if k[0] == kind and any(v)]
        if rows:
            conn.execute(insert(cast(Table, model.__table__)), rows)


def forget_registry(conn: Connection, episode_ids: Iterable[uuid.UUID], *, into: tallies.Tally | None = None) -> None:
    """Take these (about to be deleted) episodes out of the totals (or, with `into`, add the move to
    that tally) and drop their rows."""
    ordered = sorted(set(episode_ids))
    delta: tallies.Tally = {}
    ep = cast(Table, RegistryEpisode.__table__)
    for i in range(0, len(ordered), _CHUNK):
        chunk = ordered[i: i + _CHUNK]
        episodes, scores = _stored(conn, chunk)
        tallies.add_into(delta, _shares(episodes, scores), -1)
        conn.execute(delete(cast(Table, RegistryScore.__table__)).where(RegistryScore.__table__.c.episode_id.in_(chunk)))
        conn.execute(delete(ep).where(ep.c.episode_id.in_(chunk)))
    if into is None:
        add_totals(conn, delta)
    else:
        tallies.add_into(into, delta)


# what, when it changes, moves an episode in the registry (besides being added or deleted)
_WATCHED: Final[dict[type[Any], tuple[str, ...]]] = {
    Observation: ("code", "value_quantity", "value_string", "effective_at", "episode_id", "questionnaire_response_id"),
    QuestionnaireResponse: ("status", "timepoint", "episode_id"),
    Procedure: ("code", "status", "performed_at", "complication", "episode_id"),
    PathwayEvent: ("to_stage", "recorded_at", "episode_id"),
}


def _touched(session: Session) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(episodes, patients whose every episode) the flushed changes move in the registry."""
    episodes: set[uuid.UUID] = set()
    patients: set[uuid.UUID] = set()
    for bucket, dirty in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for obj in bucket:
            if isinstance(obj, EpisodeOfCare):
                keys = ("patient_id", "organization_id", "period_start")
                if dirty and not _changed(obj, keys):
                    continue
                episodes.add(obj.id)
                patients.update(v for v in _values(obj, "patient_id") if v is not None)
                continue
            if isinstance(obj, Patient):
                if dirty and _changed(obj, ("sport", "restricted_at")):
                    patients.add(obj.id)
                continue
            watched = _WATCHED.get(type(obj))
            if watched is None or (dirty and not _changed(obj, watched)):
                continue
            if not dirty and isinstance(obj, Observation):
                codes = _values(obj, "code")
                responses = _values(obj, "questionnaire_response_id")
                if not (any(c in RTS_CODES for c in codes) or any(v is not None for v in responses)):
                    continue
            if not dirty and isinstance(obj, PathwayEvent) and "conservative_care" not in _values(obj, "to_stage"):
                continue
            episodes.update(v for v in _values(obj, "episode_id") if v is not None)
    return episodes, patients


def _changed(obj: Any, keys: Iterable[str]) -> bool:
    for key in keys:
        h = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
        if h.added or h.deleted:
            return True
    return False


def _values(obj: Any, key: str) -> list[Any]:
    history = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
    return [*history.added, *history.unchanged, *history.deleted]


# A flush only notes which episodes it touched; the transaction brings their rows and the totals
# up to date once, just before it commits (`apply_pending`, also run by any reader of the registry
# inside a writing transaction). The totals are hot rows (every ballet patient's 6-week FAOS adds to
# the same one): this way their locks are held only for the commit, taken under the clinic's
# registry lock before the audit chain's head (every committer in that order: no deadlock), and a
# transaction of many flushes (the demo loader) refreshes each episode once. Deleted episodes are
# the exception: their rows say where they counted, so they leave the totals before the flush
# deletes them (`_forget_deleted`). A rolled-back savepoint drops the moves made inside it and
# marks everything refreshed so far for refreshing again (refreshing is idempotent).
_TOUCHED: Final = "hindfoot.registry_touched"  # (episode ids, patient ids) to refresh
_REFRESHED: Final = "hindfoot.registry_refreshed"  # (episode ids, patient ids) refreshed in this transaction
_PENDING: Final = "hindfoot.registry_pending"  # [(transaction, totals move)] not applied yet


def _ids(session: Session, key: str) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    got: tuple[set[uuid.UUID], set[uuid.UUID]] = session.info.setdefault(key, (set(), set()))
    return got


def _defer(session: Session, delta: tallies.Tally) -> None:
    if any(any(v) for v in delta.values()):
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).append((tx, delta))


@event.listens_for(Session, "before_flush")
def _forget_deleted(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Episodes about to go (with their patient or on their own) leave the totals while their rows
    still say where they counted; their patients' other episodes are refreshed later."""
    episodes = {obj.id for obj in session.deleted if isinstance(obj, EpisodeOfCare) and obj.id is not None}
    patients = {obj.id for obj in session.deleted if isinstance(obj, Patient) and obj.id is not None}
    if not (episodes or patients):
        return
    conn = session.connection()
    if patients:
        e = EpisodeOfCare.__table__.c
        ordered = sorted(patients)
        for i in range(0, len(ordered), _CHUNK):
            episodes.update(conn.scalars(select(e.id).where(e.patient_id.in_(ordered[i: i + _CHUNK]))))
    siblings = {obj.patient_id for obj in session.deleted if isinstance(obj, EpisodeOfCare)} - patients
    _ids(session, _TOUCHED)[1].update(p for p in siblings if p is not None)
    delta: tallies.Tally = {}
    forget_registry(conn, episodes, into=delta)
    _defer(session, delta)


@event.listens_for(Session, "after_flush")
def _note_touched(session: Session, _flush_context: Any) -> None:
    episodes, patients = _touched(session)
    if episodes or patients:
        touched = _ids(session, _TOUCHED)
        touched[0].update(episodes)
        touched[1].update(patients)


def apply_pending(session: Session) -> None:
    """Bring the registry rows of the episodes this transaction touched, and the totals, up to date."""
    touched = session.info.pop(_TOUCHED, None)
    if touched and (touched[0] or touched[1]):
        delta: tallies.Tally = {}
        refresh_registry(session.connection(), touched[0], touched[1], into=delta)
        _defer(session, delta)
        done = _ids(session, _REFRESHED)
        done[0].update(touched[0])
        done[1].update(touched[1])
        for obj in list(session.identity_map.values()):  # loaded rows were rewritten underneath
            if isinstance(obj, RegistryEpisode | RegistryScore):
                session.expire(obj)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    total: tallies.Tally = {}
    for _, part in pending:
        tallies.add_into(total, part)
    add_totals(session.connection(), total)


def _apply_before_commit(session: Session) -> None:
    # Audit events alone are left for the chain's hook, which writes them once, hash included.
    if any(not isinstance(obj, AuditEvent) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.flush()
    apply_pending(session)


event.listen(Session, "before_commit", _apply_before_commit, insert=True)  # before the audit chain's hook


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_REFRESHED, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction: nothing of it stays
        for key in (_TOUCHED, _REFRESHED, _PENDING):
            session.info.pop(key, None)
        return
    # a savepoint: what was refreshed may have been undone with it, so refresh it again
    done = session.info.pop(_REFRESHED, None)
    if done:
        touched = _ids(session, _TOUCHED)
        touched[0].update(done[0])
        touched[1].update(done[1])
    pending = session.info.get(_PENDING)
    if pending:

        def inside(tx: Any) -> bool:
            while tx is not None:
                if tx is previous_transaction:
                    return True
                tx = tx.parent
            return False

        session.info[_PENDING] = [(tx, delta) for tx, delta in pending if not inside(tx)]
