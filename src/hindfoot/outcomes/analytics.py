"""Registry analytics for the clinic: every figure is one aggregate query pushed down to the database.

The cohort is the organisation's episodes of care, filtered by the patient's sport, a procedure
code, the operating surgeon and the period in which the episode started. Definitions:

- completion per time point: of the cohort episodes whose time point is already due (baseline:
  the episode has started; follow-ups: the anchor (surgery, else the first move to conservative
  care) plus 6 weeks / 3 / 6 / 12 months is on or before today), the share with a completed
  questionnaire of that time point;
- change from baseline: per score and follow-up time point, over the episodes with both a baseline
  and a follow-up score (the mean when a time point was answered twice), the mean change and the
  share whose improvement reaches the score's MCID (pain: a fall of at least 2 points);
- time to return to sport: days from the anchor to the first reported return date; episodes with a
  return-to-sport answer but no return yet are censored at their last answer (kept, not dropped),
  episodes with no answer at all have no follow-up and are left out; Kaplan-Meier over the
  per-day counts (`survival.kaplan_meier`);
- complications: completed surgical procedures with a recorded complication.

Scores, completion and return to sport are read from the registry summary tables
(`registry_score`, `registry_episode`: narrow per-episode rows derived from the QuestionnaireResponses
and score Observations and kept in step with them, see `hindfoot.db.registry_hooks`), so the
dashboard never joins the millions of score Observations of a large registry.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import numpy as np
from sqlalchemy import Integer, Select, and_, case, exists, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_registry
from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
    PathwayEvent,
    Patient,
    Practitioner,
    Procedure,
    QuestionnaireResponse,
    RegistryEpisode,
    RegistryScore,
    RegistryTotalAnchor,
    RegistryTotalKm,
    RegistryTotalProcedure,
    RegistryTotalScore,
    RegistryTotalStart,
)
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.db.models.registry import RETURNED_PREVIOUS
from hindfoot.db.registry_hooks import apply_pending
from hindfoot.outcomes import disclosure
from hindfoot.outcomes.due import add_months
from hindfoot.outcomes.service import (
    SCORE_LABELS,
    SURGICAL_PROCEDURES,
    TIMEPOINT_LABELS,
    mcid_for,
)
from hindfoot.outcomes.survival import kaplan_meier
from hindfoot.outcomes.tallies import MICRO

__all__ = ["CsvExport", "Dashboard", "Filters", "dashboard", "export_csv", "filter_options"]

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


def _restricted(db: Session, actor: Actor) -> list[uuid.UUID]:
    """The clinic's patients who restricted processing (GDPR art. 18): left out of the registry. Few, and
    read from a partial index that holds only them."""
    return list(db.scalars(select(Patient.id).where(Patient.organization_id == actor.organization_id,
                                                    Patient.restricted_at.is_not(None))))


def _cohort(actor: Actor, f: Filters, excluded: list[uuid.UUID], *,
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


def _anchors() -> Any:
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


def _cut(today: date, unit: str, amount: int) -> datetime:
    day = today - timedelta(weeks=amount) if unit == "weeks" else add_months(today, -amount)
    return datetime.combine(day, time.max, tzinfo=UTC)


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
        cut = _cut(today, unit, amount).date()
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
    cohort = _cohort(actor, f, _restricted(db, actor)).cte("cohort")
    surgery, conservative = _anchors()

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
        eligible[tp] = anchor <= _cut(today, unit, amount)
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


# ------------------------------------------------------------------ de-identified export

EXPORT_TIMEPOINTS: Final = ("baseline", "6w", "3m", "6m", "12m")


def _age_band(birth: date, on: date) -> str:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 16:
        return "under 16"
    if age >= 70:
        return "70+"
    low = 16 if age < 20 else age // 10 * 10
    return f"{low}-{low + 9 if low >= 20 else 19}"


@dataclass(frozen=True)
class CsvExport:
    text: str
    rows: int  # rows written
    suppressed: int  # quasi-identifier values replaced by "*"
    withheld: int  # rows left out: still unique after suppression
    min_group: int  # k: every combination of the quasi-identifiers is shared by at least this many rows

    def headers(self) -> dict[str, str]:
        """The HTTP headers of the download: file name, and what disclosure control did."""
        return {
            "Content-Disposition": 'attachment; filename="hindfoot-outcomes-deidentified.csv"',
            "X-Min-Group-Size": str(self.min_group),
            "X-Values-Generalised": str(self.suppressed),
            "X-Rows-Withheld": str(self.withheld),
        }


def export_csv(db: Session, actor: Actor, f: Filters, *, min_group: int = 5) -> CsvExport:
    """One row per episode, no names, emails, identifiers or dates of birth: age band, sport, level,
    procedure, complication (yes/no), the year the episode began, each score at each time point,
    return-to-sport status and days to return. Rows are in no meaningful order. Rare combinations of
    age band, sex, sport, level, side and year are generalised ("*") until each is shared by at least
    `min_group` rows (`outcomes.disclosure`); rows that stay unique are left out."""
    require_registry(actor)
    cohort = _cohort(actor, f, _restricted(db, actor), with_patient=True).add_columns(
        Patient.birth_date, Patient.sex, Patient.sport, Patient.level, EpisodeOfCare.laterality
    ).cte("cohort")
    surgery, conservative = _anchors()
    anchor = func.coalesce(surgery.c.at, conservative.c.at)
    score_cols = [(code, tp) for code in SCORE_LABELS for tp in EXPORT_TIMEPOINTS]
    scores = (
        select(Observation.episode_id,
               *(func.avg(case((and_(Observation.code == code, QuestionnaireResponse.timepoint == tp),
                                Observation.value_quantity))).label(f"{code}@{tp}") for code, tp in score_cols))
        .join(QuestionnaireResponse, QuestionnaireResponse.id == Observation.questionnaire_response_id)
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(list(SCORE_LABELS)))
        .group_by(Observation.episode_id).subquery("scores")
    )
    rts = (
        select(Observation.episode_id,
               func.min(case((Observation.code == "rts.date", Observation.value_string))).label("returned_on"),
               func.max(case((Observation.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)).label("previous"),
               func.max(case((Observation.value_string == "returned_lower_level", 1), else_=0)).label("lower"))
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(("rts.status", "rts.date")))
        .group_by(Observation.episode_id).subquery("rts")
    )
    procedure = (
        select(Procedure.episode_id, func.max(Procedure.code).label("code"),
               func.max(case((Procedure.complication.is_not(None), 1), else_=0)).label("complication"))
        .join(cohort, cohort.c.episode_id == Procedure.episode_id)
        .where(Procedure.status == "completed", Procedure.code.in_(SURGICAL_PROCEDURES))
        .group_by(Procedure.episode_id).subquery("proc")
    )
    stmt = (
        select(cohort.c.birth_date, cohort.c.period_start, cohort.c.sex, cohort.c.sport, cohort.c.level,
               cohort.c.laterality, procedure.c.code, procedure.c.complication,
               rts.c.episode_id, rts.c.returned_on, rts.c.previous, rts.c.lower,
               days_between(anchor, rts.c.returned_on),
               *(getattr(scores.c, f"{code}@{tp}") for code, tp in score_cols))
        .select_from(cohort)
        .outerjoin(surgery, surgery.c.episode_id == cohort.c.episode_id)
        .outerjoin(conservative, conservative.c.episode_id == cohort.c.episode_id)
        .outerjoin(scores, scores.c.episode_id == cohort.c.episode_id)
        .outerjoin(rts, rts.c.episode_id == cohort.c.episode_id)
        .outerjoin(procedure, procedure.c.episode_id == cohort.c.episode_id)
        .order_by(cohort.c.episode_id)
    )
    columns = ["age_band", "sex", "sport", "level", "side", "episode_year", "procedure", "complication",
               "rts_status", "days_to_return", *(f"{code}_{tp}" for code, tp in score_cols)]
    rows: list[dict[str, str]] = []
    for r in db.execute(stmt):
        birth, start, sex, sport, level, side, proc, comp, answered, returned, previous, lower, days, *vals = r
        status = ("" if answered is None else "returned_previous_or_higher" if previous
                  else "returned_lower_level" if lower else "returned" if returned else "not_returned")
        values = [_age_band(birth, start), sex or "", sport or "", level or "", side or "", str(start.year), proc or "",
                  "" if proc is None else ("yes" if comp else "no"), status, "" if days is None else str(days),
                  *("" if v is None else f"{float(v):.1f}" for v in vals)]
        rows.append(dict(zip(columns, values, strict=True)))
    safe = disclosure.protect(rows, min_group)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["row", *columns])
    for n, row in enumerate(safe.rows, start=1):
        writer.writerow([n, *(row[c] for c in columns)])
    audit.record(db, actor, audit.READ, "Registry", description=(
        f"de-identified CSV export, {len(safe.rows)} rows, {safe.suppressed} values generalised and "
        f"{safe.withheld} rows withheld for groups of at least {min_group} ({f.describe()})"))
    return CsvExport(text=buf.getvalue(), rows=len(safe.rows), suppressed=safe.suppressed, withheld=safe.withheld,
                     min_group=min_group)

