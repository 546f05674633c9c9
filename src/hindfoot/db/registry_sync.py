"""The registry's rows and totals, derived from the record (`hindfoot.db.models.registry` holds the tables).

`refresh_registry` rebuilds the `registry_episode` and `registry_score` rows of some episodes (or of
all) from their Observations, QuestionnaireResponses, Procedures and conservative-care
PathwayEvents, and moves their shares in the `registry_total_*` tables: the old share (from the
stored rows) is subtracted, the new one added (`hindfoot.outcomes.tallies`, pure, says what one
episode adds). `forget_registry` takes episodes about to be deleted out of the totals. Both can
instead hand the move back (`into=`) for the caller to apply once, which is what the session hooks
do (`hindfoot.db.registry_hooks`): they note the episodes every flush touches and apply the moves
just before the transaction commits. Bulk loaders that bypass the ORM (the registry generator) write
the rows and add their shares themselves (`add_totals`); `hindfoot outcomes rebuild-registry`
(`refresh_registry(conn)`) rebuilds everything from the record after any other bulk load.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Table, and_, case, delete, func, insert, select, text, tuple_

from hindfoot.db.base import Base
from hindfoot.db.models.episode import EpisodeOfCare, PathwayEvent
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.procedure import Procedure
from hindfoot.db.models.questionnaire import QuestionnaireResponse
from hindfoot.db.models.registry import (
    EPISODE_COLUMNS,
    REGISTRY_TIMEPOINTS,
    RETURNED_PREVIOUS,
    RTS_CODES,
    SCORE_COLUMNS,
    TOTALS,
    RegistryEpisode,
    RegistryScore,
)
from hindfoot.outcomes import tallies

__all__ = [
    "add_totals",
    "episode_rows_select",
    "forget_registry",
    "lock_totals",
    "refresh_registry",
    "score_rows_select",
    "share_of",
    "utc_day",
]


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


def lock_totals(conn: Connection, organizations: Iterable[uuid.UUID]) -> None:
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
    lock_totals(conn, (cast(uuid.UUID, k[1]) for k, v in delta.items() if any(v)))
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
