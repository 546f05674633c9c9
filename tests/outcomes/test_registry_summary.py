"""The registry summary tables (registry_score, registry_episode) against the clinical record.

They must match what the record says after answers are completed through the service, after an
edit or a deletion, after the migration backfill, and the dashboard built on them must equal the
dashboard computed straight from the Observations (the pre-0006 queries, kept here as reference).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from factories import make_account, make_org, make_patient, make_practitioner
from outcome_helpers import (
    FAOS_ALL_1,
    actor_for,
    add_conservative,
    add_rts,
    add_scores,
    add_surgery,
    at,
    episode_of,
)
from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_staff
from hindfoot.db.migrate import downgrade, upgrade
from hindfoot.db.models import (
    Observation,
    Procedure,
    QuestionnaireResponse,
    RegistryEpisode,
    RegistryScore,
)
from hindfoot.db.models.registry import refresh_registry
from hindfoot.outcomes import analytics, service
from hindfoot.outcomes.analytics import (
    FOLLOW_UPS,
    RETURNED_PREVIOUS,
    Dashboard,
    Filters,
    _anchors,
    _cohort,
    _cut,
    days_between,
)
from hindfoot.outcomes.service import SCORE_LABELS, SURGICAL_PROCEDURES, TIMEPOINT_LABELS, mcid_for
from hindfoot.outcomes.survival import kaplan_meier

TODAY = date(2027, 6, 1)
S = date(2026, 1, 10)


def snapshot(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    scores = [tuple(r) for r in db.execute(select(*RegistryScore.__table__.c).order_by(
        RegistryScore.episode_id, RegistryScore.code))]
    episodes = [tuple(r) for r in db.execute(select(*RegistryEpisode.__table__.c).order_by(
        RegistryEpisode.episode_id))]
    return scores, episodes


def rebuilt(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The tables as a from-scratch rebuild gives them (rolled back afterwards)."""
    savepoint = db.begin_nested()
    refresh_registry(db.connection())
    out = snapshot(db)
    savepoint.rollback()
    return out


@pytest.fixture
def registry_cohort(db):
    """Six operated or conservative patients; one answered the 6-week FAOS twice (mean 60),
    RTS answers with and without a response, a complication, two surgeons, two sports."""
    org = make_org(db)
    stone = make_practitioner(db, org, family="Stone")
    reed = make_practitioner(db, org, family="Reed")
    eps = {}
    for key, sport in zip("ABCDEF", ["ballet"] * 4 + ["football", "ballet"], strict=True):
        eps[key] = episode_of(db, make_patient(db, org, given=key, family="Runner", sport=sport))
    for key in "ABCD":
        add_surgery(db, eps[key], S, surgeon_id=stone.id)
    add_surgery(db, eps["E"], S, surgeon_id=reed.id, code="open_excision", complication="sural nerve numbness")
    add_conservative(db, eps["F"], S)
    for key, (b, f, pb, pf) in {"A": (40, 55, 8, 5), "B": (50, 58, 6, 5), "C": (30, 40, 5, 4),
                                "E": (20, 35, 7, 6), "F": (44, 47, 6, 6)}.items():
        add_scores(db, eps[key], "baseline", S - timedelta(days=7), {"faos.pain": b, "faos.qol": b - 5, "pain.nrs": pb})
        add_scores(db, eps[key], "6w", S + timedelta(days=42), {"faos.pain": f, "faos.qol": f + 1, "pain.nrs": pf})
    add_scores(db, eps["A"], "6w", S + timedelta(days=45), {"faos.pain": 65})  # answered twice: mean 60
    add_scores(db, eps["A"], "3m", S + timedelta(days=92), {"faos.pain": 70, "pain.nrs": 2})
    add_scores(db, eps["D"], "baseline", S - timedelta(days=7), {"faos.pain": 45})
    add_rts(db, eps["A"], S + timedelta(days=42), "not_returned")
    add_rts(db, eps["A"], S + timedelta(days=91), "returned_previous_level", S + timedelta(days=60))
    add_rts(db, eps["B"], S + timedelta(days=91), "returned_lower_level", S + timedelta(days=90))
    add_rts(db, eps["C"], S + timedelta(days=70), "not_returned")
    add_rts(db, eps["E"], S + timedelta(days=130), "returned_higher_level", S + timedelta(days=120))
    add_rts(db, eps["F"], S + timedelta(days=50), "returned_previous_level", S + timedelta(days=40))
    clinician = make_account(db, org, "clinician", practitioner=stone)
    db.commit()
    return actor_for(clinician), stone, reed, eps


FILTERS = [Filters(), Filters(sport="football"), Filters(sport="ballet"), Filters(procedure="open_excision"),
           Filters(start=date(2030, 1, 1))]


def test_dashboard_equals_the_observation_queries(db, registry_cohort):
    actor, stone, reed, _ = registry_cohort
    for f in [*FILTERS, Filters(surgeon_id=stone.id), Filters(surgeon_id=reed.id)]:
        new = analytics.dashboard(db, actor, f, today=TODAY).as_dict()
        old = _reference_dashboard(db, actor, f, today=TODAY).as_dict()
        assert new == old, f
    d = analytics.dashboard(db, actor, Filters(), today=TODAY)
    faos = next(c for c in d.change if (c["code"], c["timepoint"]) == ("faos.pain", "6w"))
    assert faos["n"] == 5 and faos["follow_up_mean"] == pytest.approx((60 + 58 + 40 + 35 + 47) / 5)
    assert d.rts["km_n"] == 5


def test_summary_follows_the_record(db, registry_cohort):
    _, _, _, eps = registry_cohort
    assert snapshot(db) == rebuilt(db)
    a = eps["A"].id
    row = db.get(RegistryScore, (a, "faos.pain"))
    assert (row.tp_baseline, row.tp_6w, row.tp_3m, row.tp_6m) == (40, 60, 70, None)
    summary = db.get(RegistryEpisode, a)
    assert (summary.done_baseline, summary.done_6w, summary.done_3m, summary.done_12m) == (1, 1, 1, 0)
    assert (summary.rts_answers, summary.rts_returned_on, summary.rts_previous, summary.rts_returned) == (
        3, (S + timedelta(days=60)).isoformat(), 1, 1)
    assert summary.rts_last_seen == at(S + timedelta(days=91))
    # an edit and a deletion through the ORM are reflected in the same transaction
    twice = db.scalars(select(Observation).join(QuestionnaireResponse,
                                                QuestionnaireResponse.id == Observation.questionnaire_response_id)
                       .where(Observation.episode_id == a, Observation.code == "faos.pain",
                              QuestionnaireResponse.timepoint == "6w")).all()
    twice[0].value_quantity = 75.0
    db.delete(twice[1])
    db.flush()
    db.expire_all()
    assert db.get(RegistryScore, (a, "faos.pain")).tp_6w == 75.0
    assert snapshot(db) == rebuilt(db)
    db.delete(db.get(type(eps["B"]), eps["B"].id))  # the episode goes, its summary rows with it
    db.commit()
    assert db.get(RegistryEpisode, eps["B"].id) is None
    assert snapshot(db) == rebuilt(db)


def test_service_completion_writes_the_summary(db):
    org = make_org(db)
    patient = make_patient(db, org)
    actor = actor_for(make_account(db, org, "patient", patient=patient))
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 1, 20))
    base = service.start_response(db, actor, patient.id, episode.id, "faos", "baseline", today=date(2026, 1, 5))
    service.save_answers(db, actor, base.id, FAOS_ALL_1)
    assert db.get(RegistryEpisode, episode.id) is None  # saved, not completed: nothing yet
    service.save_answers(db, actor, base.id, FAOS_ALL_1, complete=True, now=at(date(2026, 1, 5)))
    six_weeks = date(2026, 3, 3)
    pain = service.start_response(db, actor, patient.id, episode.id, "pain", "6w", today=six_weeks)
    service.save_answers(db, actor, pain.id, {"PAIN": "3"}, complete=True)
    rts = service.start_response(db, actor, patient.id, episode.id, "rts", "6w", today=six_weeks)
    service.save_answers(db, actor, rts.id, {"RTS_STATUS": "returned_lower_level", "RTS_DATE": "2026-02-10"},
                         complete=True)
    db.commit()
    faos_pain = db.get(RegistryScore, (episode.id, "faos.pain"))
    expected = db.scalar(select(Observation.value_quantity).where(
        Observation.questionnaire_response_id == base.id, Observation.code == "faos.pain"))
    assert faos_pain.tp_baseline == expected and faos_pain.tp_6w is None
    assert db.get(RegistryScore, (episode.id, "pain.nrs")).tp_6w == 3.0
    summary = db.get(RegistryEpisode, episode.id)
    assert (summary.done_baseline, summary.done_6w, summary.rts_answers, summary.rts_returned_on,
            summary.rts_previous, summary.rts_returned) == (1, 1, 2, "2026-02-10", 0, 1)
    scores, episodes = snapshot(db)
    assert {r[1] for r in scores} == {"faos.symptoms", "faos.pain", "faos.adl", "faos.sport_rec", "faos.qol",
                                      "pain.nrs"}
    assert (scores, episodes) == rebuilt(db)


def test_migration_backfills_the_summary(db, registry_cohort, database_url):
    before = snapshot(db)
    assert before[0] and before[1]
    db.rollback()
    db.close()
    downgrade(database_url, "0005")
    upgrade(database_url)  # creates the tables again and backfills them from the record
    assert snapshot(db) == before


# ------------------------------------------------------------------ reference: the pre-0006 queries


def _reference_dashboard(db: Session, actor: Actor, f: Filters, *, today: date | None = None) -> Dashboard:
    require_staff(actor)
    today = today or date.today()
    out = analytics.Dashboard(filters=f, today=today)
    cohort = _cohort(actor, f, analytics._restricted(db, actor)).cte("cohort")
    surgery, conservative = _anchors()

    # counts
    out.episodes, out.patients = db.execute(
        select(func.count(), func.count(func.distinct(cohort.c.patient_id))).select_from(cohort)
    ).one()
    out.procedures = db.scalar(
        select(func.count()).select_from(Procedure).join(cohort, cohort.c.episode_id == Procedure.episode_id)
        .where(Procedure.status == "completed")
    ) or 0

    # completion per time point
    timepoints = ["baseline", *(tp for tp, _ in FOLLOW_UPS)]
    done = (
        select(QuestionnaireResponse.episode_id,
               *(func.max(case((QuestionnaireResponse.timepoint == tp, 1), else_=0)).label(f"c_{tp}")
                 for tp in timepoints))
        .where(QuestionnaireResponse.status == "completed")
        .group_by(QuestionnaireResponse.episode_id).subquery("done")
    )
    anchor = func.coalesce(surgery.c.at, conservative.c.at)
    eligible: dict[str, ColumnElement[bool]] = {"baseline": cohort.c.period_start <= today}
    for tp, (unit, amount) in FOLLOW_UPS:
        eligible[tp] = anchor <= _cut(today, unit, amount)
    cols = []
    for tp in timepoints:
        cols.append(func.sum(case((eligible[tp], 1), else_=0)))
        cols.append(func.sum(case((and_(eligible[tp], func.coalesce(getattr(done.c, f"c_{tp}"), 0) == 1), 1),
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

    # change from baseline, share reaching the MCID: one pass pivots each episode's scores by time
    # point (no self-join), a second aggregates per score and time point
    follow_ups = [tp for tp, _ in FOLLOW_UPS]
    pivot = (
        select(Observation.code,
               *(func.avg(case((QuestionnaireResponse.timepoint == tp, Observation.value_quantity))).label(tp)
                 for tp in timepoints))
        .join(QuestionnaireResponse, QuestionnaireResponse.id == Observation.questionnaire_response_id)
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(list(SCORE_LABELS)), Observation.value_quantity.is_not(None))
        .group_by(Observation.episode_id, Observation.code)
    ).subquery("pivot")
    base = pivot.c.baseline
    mcid = case({code: mcid_for(code).value for code in SCORE_LABELS}, value=pivot.c.code, else_=literal(1e9))
    cols = []
    for tp in follow_ups:
        fu = getattr(pivot.c, tp)
        both = and_(base.is_not(None), fu.is_not(None))
        improvement = case((pivot.c.code == "pain.nrs", base - fu), else_=fu - base)
        cols += [func.sum(case((both, 1), else_=0)), func.avg(case((both, base))), func.avg(case((both, fu))),
                 func.avg(fu - base), func.sum(case((and_(both, improvement >= mcid - 1e-9), 1), else_=0))]
    rows = db.execute(select(pivot.c.code, *cols).group_by(pivot.c.code)).all()
    by_code = {r[0]: r[1:] for r in rows}
    for code in SCORE_LABELS:
        values = by_code.get(code)
        if values is None:
            continue
        m = mcid_for(code)
        for i, tp in enumerate(follow_ups):
            n, base_mean, follow, change, above = values[5 * i: 5 * i + 5]
            if not n:
                continue
            out.change.append({
                "code": code, "label": SCORE_LABELS[code], "timepoint": tp,
                "timepoint_label": TIMEPOINT_LABELS.get(tp, tp), "n": int(n), "baseline_mean": float(base_mean),
                "follow_up_mean": float(follow), "mean_change": float(change), "mcid": m.value, "better": m.better,
                "above_mcid": int(above or 0), "share_above_mcid": int(above or 0) / int(n),
            })

    # return to sport: Kaplan-Meier over per-day counts
    rts = (
        select(Observation.episode_id,
               func.min(case((Observation.code == "rts.date", Observation.value_string))).label("returned_on"),
               func.max(case((Observation.code == "rts.status", Observation.effective_at))).label("last_seen"),
               func.max(case((Observation.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)).label("previous"),
               func.max(case((and_(Observation.code == "rts.status", Observation.value_string != "not_returned"), 1),
                             else_=0)).label("returned"))
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(("rts.status", "rts.date")))
        .group_by(Observation.episode_id).subquery("rts")
    )
    event = rts.c.returned_on.is_not(None)
    duration = case((event, days_between(anchor, rts.c.returned_on)), else_=days_between(anchor, rts.c.last_seen))
    per_episode = (
        select(duration.label("d"), case((event, 1), else_=0).label("e"))
        .select_from(rts)
        .outerjoin(surgery, surgery.c.episode_id == rts.c.episode_id)
        .outerjoin(conservative, conservative.c.episode_id == rts.c.episode_id)
        .where(anchor.is_not(None), rts.c.last_seen.is_not(None))
    ).subquery("per_episode")
    counts = db.execute(
        select(per_episode.c.d, per_episode.c.e, func.count()).where(per_episode.c.d >= 0)
        .group_by(per_episode.c.d, per_episode.c.e)
    ).all()
    totals = db.execute(select(func.count(), func.sum(rts.c.returned), func.sum(rts.c.previous))).one()
    answered, returned_any, previous = int(totals[0] or 0), int(totals[1] or 0), int(totals[2] or 0)
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

    # complications
    comp = db.execute(
        select(Procedure.complication, func.count())
        .join(cohort, cohort.c.episode_id == Procedure.episode_id)
        .where(Procedure.status == "completed", Procedure.code.in_(SURGICAL_PROCEDURES))
        .group_by(Procedure.complication).order_by(func.count().desc())
    ).all()
    operations = sum(int(n) for _, n in comp)
    with_comp = [(c, int(n)) for c, n in comp if c]
    out.complications = {
        "operations": operations, "with_complication": sum(n for _, n in with_comp),
        "rate": sum(n for _, n in with_comp) / operations if operations else None,
        "by_kind": [{"complication": c, "n": n} for c, n in with_comp[:10]],
    }
    return out
