"""The registry dashboard: episodes, completion per time point, change from baseline, return to sport
and complications, each one aggregate query pushed down to the database.

The whole clinic and one sport read the pre-aggregated `registry_total_*` rows (`_from_totals`);
a procedure, surgeon or period filter aggregates the per-episode registry rows of that narrower
cohort (`_from_episodes`). Definitions: `outcomes/analytics.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_registry
from hindfoot.db.models import (
    Patient,
    Practitioner,
    Procedure,
    RegistryEpisode,
    RegistryScore,
    RegistryTotalAnchor,
    RegistryTotalKm,
    RegistryTotalProcedure,
    RegistryTotalScore,
    RegistryTotalStart,
)
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.db.registry_hooks import apply_pending
from hindfoot.outcomes.cohort import (
    FOLLOW_UPS,
    Filters,
    anchor_subqueries,
    cohort_query,
    days_between,
    follow_up_cut,
    restricted_patients,
)
from hindfoot.outcomes.survival import kaplan_meier
from hindfoot.outcomes.tallies import MICRO
from hindfoot.outcomes.vocabulary import (
    SCORE_LABELS,
    SURGICAL_PROCEDURES,
    TIMEPOINT_LABELS,
    mcid_for,
)


@dataclass
class Dashboard:
    filters: Filters
    today: date
    episodes: int = 0
    patients: int = 0
    procedures: int = 0
    completion: list[dict[str, Any]] = field(default_factory=list)
    change: list[dict[str, Any]] = field(default_factory=list)
    rts: dict[str, Any] = field(default_factory=dict)
    km_steps: list[dict[str, Any]] = field(default_factory=list)
    complications: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["filters"] = {k: (str(v) if v is not None else None) for k, v in asdict(self.filters).items()}
        out["today"] = self.today.isoformat()
        return out


def dashboard(db: Session, actor: Actor, f: Filters, *, today: date | None = None) -> Dashboard:
    require_registry(actor)
    today = today or date.today()
    apply_pending(db)  # this transaction's own writes, if any, count too
    if f.procedure is None and f.surgeon_id is None and f.start is None and f.end is None:
        out = _from_totals(db, actor, f, today)
    else:
        out = _from_episodes(db, actor, f, today)
    audit.record(db, actor, audit.READ, "Registry", description=f"outcomes dashboard ({f.describe()})")
    return out


def _finish(out: Dashboard, answered: int, returned_any: int, previous: int,
            km_counts: dict[tuple[int, int], int], by_complication: Sequence[tuple[str | None, int, int]]) -> None:
    """The return-to-sport and complication figures from their counts (both paths)."""
    counts = [(d, e, n) for (d, e), n in sorted(km_counts.items()) if n]
    durations = np.repeat(np.array([c[0] for c in counts], dtype=float), [int(c[2]) for c in counts])
    events = np.repeat(np.array([c[1] for c in counts], dtype=int), [int(c[2]) for c in counts])
    km = kaplan_meier(durations, events)
    out.rts = {
        "answered": answered, "returned": returned_any, "returned_previous_level": previous,
        "share_returned": returned_any / answered if answered else None,
        "share_previous_level": previous / answered if answered else None,
        "km_n": km.n, "km_events": km.total_events, "km_censored": int(km.censored.sum()) if km.n else 0,
        "median_days": km.median, "median_lower": km.median_lower, "median_upper": km.median_upper,
    }
    out.km_steps = [{k: r[k] for k in ("time", "at_risk", "events", "censored", "survival", "lower", "upper")}
                    for r in km.rows()]
    surgical: dict[str, int] = {}
    for c, is_surgical, n in by_complication:
        if is_surgical:
            surgical[c or ""] = surgical.get(c or "", 0) + int(n)
    operations = sum(surgical.values())
    with_comp = sorted(((c, n) for c, n in surgical.items() if c and n), key=lambda r: (-r[1], r[0]))
    out.complications = {
        "operations": operations, "with_complication": sum(n for _, n in with_comp),
        "rate": sum(n for _, n in with_comp) / operations if operations else None,
        "by_kind": [{"complication": c, "n": n} for c, n in with_comp[:10]],
    }


def _from_totals(db: Session, actor: Actor, f: Filters, today: date) -> Dashboard:
    """The dashboard from the pre-aggregated `registry_total_*` rows (the whole clinic, or one sport):
    a few thousand small rows whatever the number of patients."""
    out = Dashboard(filters=f, today=today)

    def scoped(model: Any) -> list[ColumnElement[bool]]:
        where = [model.organization_id == actor.organization_id]
        if f.sport:
            where.append(model.sport == f.sport)
        return where

    s = RegistryTotalStart
    due = s.day <= today
    row = db.execute(select(
        func.sum(s.episodes), func.sum(s.patients), func.sum(case((due, s.episodes), else_=0)),
        func.sum(case((due, s.done_baseline), else_=0)), func.sum(s.rts_answered), func.sum(s.rts_returned),
        func.sum(s.rts_previous)).where(*scoped(s))).one()
    episodes, patients, base_due, base_done, answered, returned_any, previous = (int(v or 0) for v in row)
    out.episodes, out.patients = episodes, patients
    out.completion.append({"timepoint": "baseline", "label": TIMEPOINT_LABELS["baseline"], "due": base_due,
                           "completed": base_done, "rate": base_done / base_due if base_due else None})
    a = RegistryTotalAnchor
    cols: list[ColumnElement[Any]] = []
    for tp, (unit, amount) in FOLLOW_UPS:
        cut = follow_up_cut(today, unit, amount).date()
        cols += [func.sum(case((a.day <= cut, a.episodes), else_=0)),
                 func.sum(case((a.day <= cut, getattr(a, f"done_{tp}")), else_=0))]
    row = db.execute(select(*cols).where(*scoped(a))).one()
    for i, (tp, _) in enumerate(FOLLOW_UPS):
        due_n, done_n = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)
        out.completion.append({"timepoint": tp, "label": TIMEPOINT_LABELS[tp], "due": due_n, "completed": done_n,
                               "rate": done_n / due_n if due_n else None})
    sc = RegistryTotalScore
    sums = {(r[0], r[1]): r[2:] for r in db.execute(
        select(sc.code, sc.timepoint, func.sum(sc.n), func.sum(sc.baseline_sum), func.sum(sc.follow_up_sum),
               func.sum(sc.change_sum), func.sum(sc.above_mcid))
        .where(*scoped(sc)).group_by(sc.code, sc.timepoint))}
    for code in SCORE_LABELS:
        m = mcid_for(code)
        for tp, _ in FOLLOW_UPS:
            values = sums.get((code, tp))
            if values is None or not values[0]:
                continue
            n, base_sum, follow_sum, change_sum, above = (int(v) for v in values)
            out.change.append({
                "code": code, "label": SCORE_LABELS[code], "timepoint": tp,
                "timepoint_label": TIMEPOINT_LABELS.get(tp, tp), "n": n, "baseline_mean": base_sum / n / MICRO,
                "follow_up_mean": follow_sum / n / MICRO, "mean_change": change_sum / n / MICRO, "mcid": m.value,
                "better": m.better, "above_mcid": above, "share_above_mcid": above / n,
            })
    k = RegistryTotalKm
    km_counts = {(int(d), int(e)): int(n) for d, e, n in db.execute(
        select(k.days, k.event, func.sum(k.n)).where(*scoped(k)).group_by(k.days, k.event))}
    p = RegistryTotalProcedure
    by_complication = [(c, int(surgical), int(n)) for c, surgical, n in db.execute(
        select(p.complication, p.surgical, func.sum(p.n)).where(*scoped(p)).group_by(p.complication, p.surgical))]
    out.procedures = sum(n for _, _, n in by_complication)
    _finish(out, answered, returned_any, previous, km_counts, by_complication)
    return out


def _from_episodes(db: Session, actor: Actor, f: Filters, today: date) -> Dashboard:
    """The dashboard from the per-episode registry rows, for cohorts the totals do not key
    (a procedure, a surgeon, a start period): the filter narrows what is read."""
    out = Dashboard(filters=f, today=today)
    cohort = cohort_query(actor, f, restricted_patients(db, actor)).cte("cohort")
    surgery, conservative = anchor_subqueries()

    # counts
    out.episodes, out.patients = db.execute(
        select(func.count(), func.count(func.distinct(cohort.c.patient_id))).select_from(cohort)
    ).one()
    # completed procedures, and the surgical ones by complication (one pass; listed further down)
    done_procedures = (
        select(Procedure.complication,
               case((Procedure.code.in_(SURGICAL_PROCEDURES), 1), else_=0).label("surgical"))
        .join(cohort, cohort.c.episode_id == Procedure.episode_id)
        .where(Procedure.status == "completed")
    ).subquery("done_procedures")
    dp = done_procedures.c
    by_complication = db.execute(
        select(dp.complication, dp.surgical, func.count()).group_by(dp.complication, dp.surgical)
    ).all()
    out.procedures = sum(int(n) for _, _, n in by_complication)

    # completion per time point
    timepoints = ["baseline", *(tp for tp, _ in FOLLOW_UPS)]
    done = RegistryEpisode.__table__.alias("done")
    anchor = func.coalesce(surgery.c.at, conservative.c.at)
    eligible: dict[str, ColumnElement[bool]] = {"baseline": cohort.c.period_start <= today}
    for tp, (unit, amount) in FOLLOW_UPS:
        eligible[tp] = anchor <= follow_up_cut(today, unit, amount)
    cols: list[ColumnElement[Any]] = []
    for tp in timepoints:
        cols.append(func.sum(case((eligible[tp], 1), else_=0)))
        cols.append(func.sum(case((and_(eligible[tp], func.coalesce(getattr(done.c, f"done_{tp}"), 0) == 1), 1),
                                  else_=0)))
    row = db.execute(
        select(*cols).select_from(cohort)
        .outerjoin(surgery, surgery.c.episode_id == cohort.c.episode_id)
        .outerjoin(conservative, conservative.c.episode_id == cohort.c.episode_id)
        .outerjoin(done, done.c.episode_id == cohort.c.episode_id)
    ).one()
    for i, tp in enumerate(timepoints):
        due_n, done_n = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)
        out.completion.append({"timepoint": tp, "label": TIMEPOINT_LABELS[tp], "due": due_n, "completed": done_n,
                               "rate": done_n / due_n if due_n else None})

    # change from baseline, share reaching the MCID: the per-episode means by time point are kept in
    # registry_score (one narrow row per episode and score), aggregated here per score and time point
    follow_ups = [tp for tp, _ in FOLLOW_UPS]
    # each score's MCID and direction as a tiny joined table: one hash lookup per row instead of a
    # CASE over every score code per follow-up (text comparisons dominated the aggregate)
    mcids = union_all(*(
        select(literal(code).label("code"), literal(mcid_for(code).value).label("mcid"),
               literal(-1.0 if code == "pain.nrs" else 1.0).label("sign"))
        for code in SCORE_LABELS
    )).subquery("mcids")
    pivot = (
        select(RegistryScore.code, mcids.c.mcid, mcids.c.sign,
               *(getattr(RegistryScore, f"tp_{tp}").label(tp) for tp in timepoints))
        .join(cohort, cohort.c.episode_id == RegistryScore.episode_id)
        # an outer join keeps the scores as the outer loop on SQLite (an inner join there makes the
        # eight-row table the outer loop, scanning the cohort once per score); other codes are not read
        .outerjoin(mcids, mcids.c.code == RegistryScore.code)
        .where(RegistryScore.tp_baseline.is_not(None))  # without a baseline a row adds to no figure
    ).subquery("pivot")
    base = pivot.c.baseline
    cols = []
    for tp in follow_ups:
        fu = getattr(pivot.c, tp)
        both = and_(base.is_not(None), fu.is_not(None))
        change = fu - base  # NULL unless both are there
        improvement = pivot.c.sign * change  # exact: a - b == -(b - a) in floating point
        # sums, divided by n below: AVG is SUM / COUNT on both databases, and SUM is the cheaper aggregate
        cols += [func.count(change), func.sum(case((both, base))), func.sum(case((both, fu))), func.sum(change),
                 func.sum(case((improvement >= pivot.c.mcid - 1e-9, 1), else_=0))]
    rows = db.execute(select(pivot.c.code, *cols).group_by(pivot.c.code)).all()
    by_code = {r[0]: r[1:] for r in rows}
    for code in SCORE_LABELS:
        values = by_code.get(code)
        if values is None:
            continue
        m = mcid_for(code)
        for i, tp in enumerate(follow_ups):
            n, base_sum, follow_sum, change_sum, above = values[5 * i: 5 * i + 5]
            if not n:
                continue
            base_mean, follow, change = (float(v) / int(n) for v in (base_sum, follow_sum, change_sum))
            out.change.append({
                "code": code, "label": SCORE_LABELS[code], "timepoint": tp,
                "timepoint_label": TIMEPOINT_LABELS.get(tp, tp), "n": int(n), "baseline_mean": float(base_mean),
                "follow_up_mean": float(follow), "mean_change": float(change), "mcid": m.value, "better": m.better,
                "above_mcid": int(above or 0), "share_above_mcid": int(above or 0) / int(n),
            })

    # return to sport: Kaplan-Meier over per-day counts
    rts = (
        select(RegistryEpisode.episode_id, RegistryEpisode.rts_returned_on.label("returned_on"),
               RegistryEpisode.rts_last_seen.label("last_seen"), RegistryEpisode.rts_previous.label("previous"),
               RegistryEpisode.rts_returned.label("returned"))
        .join(cohort, cohort.c.episode_id == RegistryEpisode.episode_id)
        .where(RegistryEpisode.rts_answers > 0)
    ).subquery("rts")
    event = rts.c.returned_on.is_not(None)
    duration = case((event, days_between(anchor, rts.c.returned_on)), else_=days_between(anchor, rts.c.last_seen))
    # one pass: per (duration, event) the KM counts (follow-up from the anchor, not before it), and the
    # shares returned / back at the previous level over every episode with an answer
    per_episode = (
        select(duration.label("d"), case((event, 1), else_=0).label("e"),
               case((and_(anchor.is_not(None), rts.c.last_seen.is_not(None)), 1), else_=0).label("followed"),
               rts.c.returned, rts.c.previous)
        .select_from(rts)
        .outerjoin(surgery, surgery.c.episode_id == rts.c.episode_id)
        .outerjoin(conservative, conservative.c.episode_id == rts.c.episode_id)
    ).subquery("per_episode")
    pe = per_episode.c
    groups = db.execute(
        select(pe.d, pe.e, pe.followed, pe.returned, pe.previous, func.count())
        .group_by(pe.d, pe.e, pe.followed, pe.returned, pe.previous)
    ).all()
    answered = sum(int(g[5]) for g in groups)
    returned_any = sum(int(g[5]) for g in groups if g[3])
    previous = sum(int(g[5]) for g in groups if g[4])
    km_counts: dict[tuple[int, int], int] = {}
    for d, e, followed, _, _, n in groups:
        if followed and d is not None and d >= 0:
            km_counts[(int(d), int(e))] = km_counts.get((int(d), int(e)), 0) + int(n)
    _finish(out, answered, returned_any, previous, km_counts,
            [(c, int(surgical), int(n)) for c, surgical, n in by_complication])
    return out


def filter_options(db: Session, actor: Actor) -> dict[str, Any]:
    require_registry(actor)
    sports = db.scalars(
        select(Patient.sport).where(Patient.organization_id == actor.organization_id).distinct().order_by(Patient.sport)
    ).all()
    surgeons = db.execute(
        select(Practitioner.id, Practitioner.prefix, Practitioner.given_name, Practitioner.family_name)
        .where(Practitioner.organization_id == actor.organization_id, Practitioner.role == "surgeon")
        .order_by(Practitioner.family_name)
    ).all()
    return {
        "sports": list(sports),
        "procedures": {code: PROCEDURES[code] for code in PROCEDURES},
        "surgeons": [(sid, " ".join(p for p in (pre, given, fam) if p)) for sid, pre, given, fam in surgeons],
    }
