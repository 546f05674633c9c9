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
from hindfoot.db.models.registry import RETURNED_PREVIOUS, TOTALS
from hindfoot.db.registry_hooks import apply_pending
from hindfoot.db.registry_sync import refresh_registry
from hindfoot.outcomes import analytics, service
from hindfoot.outcomes.analytics import Dashboard, Filters
from hindfoot.outcomes.cohort import (
    FOLLOW_UPS,
    anchor_subqueries,
    cohort_query,
    days_between,
    follow_up_cut,
    restricted_patients,
)
from hindfoot.outcomes.service import SCORE_LABELS, SURGICAL_PROCEDURES, TIMEPOINT_LABELS, mcid_for
from hindfoot.outcomes.survival import kaplan_meier

TODAY = date(2027, 6, 1)
S = date(2026, 1, 10)


def snapshot(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    apply_pending(db)  # what this transaction's flushes noted for its commit
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
    apply_pending(db)
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
    apply_pending(db)
    summary = db.get(RegistryEpisode, episode.id)  # saved, not completed: nothing done yet
    assert (summary.done_baseline, summary.rts_answers) == (0, 0)
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
    cohort = cohort_query(actor, f, restricted_patients(db, actor)).cte("cohort")
    surgery, conservative = anchor_subqueries()

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
        eligible[tp] = anchor <= follow_up_cut(today, unit, amount)
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


# ------------------------------------------------------------------ the pre-aggregated totals


def totals(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    apply_pending(db)  # what this transaction's flushes set aside for its commit
    out = {}
    for kind, (model, _, _) in TOTALS.items():
        table = model.__table__
        out[kind] = sorted((tuple(r) for r in db.execute(select(*table.c))), key=str)
    return out


def rebuilt_totals(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    savepoint = db.begin_nested()
    refresh_registry(db.connection())
    out = totals(db)
    savepoint.rollback()
    return out


def _close(new: Any, old: Any, path: str = "") -> None:
    """Equal, floats to a millionth (the totals keep score sums in millionths of a point)."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and new.keys() == old.keys(), path
        for k in old:
            _close(new[k], old[k], f"{path}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), path
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _close(a, b, f"{path}[{i}]")
    elif isinstance(old, float) and not isinstance(new, bool):
        assert new == pytest.approx(old, abs=1e-6), path
    else:
        assert new == old, path


def _check(db: Session, actor: Actor, sports: tuple[str, ...] = ("ballet", "football", "running")) -> None:
    db.flush()
    assert totals(db) == rebuilt_totals(db)
    assert snapshot(db) == rebuilt(db)
    for f in [Filters(), *(Filters(sport=s) for s in sports)]:
        shown = analytics.dashboard(db, actor, f, today=TODAY).as_dict()
        raw = _reference_dashboard(db, actor, f, today=TODAY).as_dict()
        for d in (shown, raw):  # equal counts list in either order
            d["complications"]["by_kind"].sort(key=lambda r: (-r["n"], r["complication"]))
        _close(shown, raw)


def test_totals_equal_the_record_after_a_series_of_writes(db, registry_cohort):
    """The dashboard (whole clinic and per sport) reads only the totals; after every kind of write
    they equal a rebuild from the record and the figures equal the ones computed from the raw rows."""
    from factories import make_patient

    from hindfoot.db.models import EpisodeOfCare, Organization, PathwayEvent, Patient

    actor, stone, _, eps = registry_cohort
    totals_before = totals(db)
    assert totals_before["start"] and totals_before["score"] and totals_before["km"]
    _check(db, actor)
    # a second, earlier episode for A: it becomes the patient's first (patients are counted once)
    a_patient = db.get(Patient, eps["A"].patient_id)
    earlier = EpisodeOfCare(patient_id=a_patient.id, organization_id=a_patient.organization_id, title="Left ankle",
                            laterality="left", stage="assessment", period_start=S - timedelta(days=400))
    db.add(earlier)
    _check(db, actor)
    add_surgery(db, earlier, S - timedelta(days=380), surgeon_id=stone.id)
    add_scores(db, earlier, "baseline", S - timedelta(days=390), {"faos.pain": 35, "pain.nrs": 7})
    add_scores(db, earlier, "6w", S - timedelta(days=330), {"faos.pain": 52, "pain.nrs": 3})
    add_rts(db, earlier, S - timedelta(days=300), "returned_previous_level", S - timedelta(days=310))
    _check(db, actor)
    # B takes up football: every one of B's episodes moves sport
    db.get(Patient, eps["B"].patient_id).sport = "football"
    _check(db, actor)
    # a complication recorded after the fact, and a surgery date corrected
    proc = db.scalars(select(Procedure).where(Procedure.episode_id == eps["C"].id)).one()
    proc.complication = "FHL tendon irritation"
    _check(db, actor)
    proc.performed_at = at(S + timedelta(days=20), 9)
    _check(db, actor)
    # a new runner on conservative care with answers, then an answer corrected and one deleted
    g = make_patient(db, db.get(Organization, a_patient.organization_id), given="G", family="Runner",
                     sport="running")
    eg = episode_of(db, g)
    add_conservative(db, eg, S)
    add_scores(db, eg, "baseline", S - timedelta(days=3), {"faos.pain": 41, "faam.adl": 60})
    add_scores(db, eg, "3m", S + timedelta(days=95), {"faos.pain": 66, "faam.adl": 82})
    add_rts(db, eg, S + timedelta(days=95), "not_returned")
    _check(db, actor)
    fix = db.scalars(select(Observation).where(Observation.episode_id == eg.id, Observation.code == "faam.adl",
                                               Observation.value_quantity == 82)).one()
    fix.value_quantity = 70.5
    _check(db, actor)
    db.delete(db.scalars(select(Observation).where(Observation.episode_id == eg.id,
                                                   Observation.code == "rts.status")).one())
    _check(db, actor)
    # the conservative start withdrawn, an episode deleted, a patient deleted
    db.delete(db.scalars(select(PathwayEvent).where(PathwayEvent.episode_id == eg.id)).one())
    _check(db, actor)
    db.delete(earlier)
    _check(db, actor)
    db.delete(db.get(Patient, eps["E"].patient_id))
    _check(db, actor)
    db.commit()
    _check(db, actor)


def test_totals_hold_per_sport_rows_not_per_patient_rows(db, registry_cohort):
    """The totals are keyed by day, score and time point, days to return or complication: the six
    patients answered on the same few days share rows."""
    got = totals(db)
    assert len(got["score"]) <= 3 * 2 * 3  # 3 scores x 2 sports x up to 3 follow-ups answered
    assert sum(r[3] for r in got["start"]) == 6  # six episodes, all started on the same day
    assert len(got["start"]) == 2  # ... in two sports


def test_rebuild_command_restores_totals_a_bulk_import_left_behind(db, registry_cohort, database_url, monkeypatch):
    """A bulk import that bypasses the application leaves the totals stale; `hindfoot outcomes
    rebuild-registry` brings them back to what the record says."""
    from sqlalchemy import delete
    from typer.testing import CliRunner

    from hindfoot.cli.main import app as cli_app
    from hindfoot.db.models import RegistryTotalStart

    expected = totals(db)
    db.execute(delete(RegistryTotalStart))  # as if rows had been written around the application
    db.commit()
    assert totals(db) != expected
    db.rollback()  # the command waits for readers of the registry tables to finish
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    from hindfoot.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["outcomes", "rebuild-registry"])
    assert result.exit_code == 0, result.output
    assert "registry rebuilt: 6 episodes" in result.output
    db.expire_all()
    assert totals(db) == expected


def test_concurrent_writers_keep_the_totals_exact(engine, session_factory):
    """Eight transactions complete questionnaires at once for patients who share every totals row
    (same sport, start day and answers), flushing in opposite orders: none deadlocks, and the totals
    equal a rebuild from the record afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    from factories import make_org, make_patient

    from hindfoot.db.models import EpisodeOfCare

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: there is no concurrent transaction to interleave")
    with session_factory() as s:
        org = make_org(s)
        for instrument in ("faos", "faam", "pain"):  # stored once, not raced for by the writers
            service.questionnaire_for(s, instrument)
        episodes = []
        for i in range(8):
            e = episode_of(s, make_patient(s, org, given=f"P{i}", sport="ballet"))
            add_surgery(s, e, S)
            episodes.append(e.id)
        s.commit()

    def complete(i: int) -> None:
        with session_factory() as s:
            e = s.get(EpisodeOfCare, episodes[i])
            scores = {"faos.pain": 40.0 + i, "pain.nrs": 6.0, "faam.adl": 55.0}
            ordered = dict(reversed(list(scores.items()))) if i % 2 else scores
            add_scores(s, e, "baseline", S - timedelta(days=7), ordered)
            add_rts(s, e, S + timedelta(days=60), "returned_previous_level", S + timedelta(days=50))
            add_scores(s, e, "6w", S + timedelta(days=42), {k: v + 10 for k, v in ordered.items()})
            s.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(complete, range(8)))
    with session_factory() as s:
        got = totals(s)
        assert got == rebuilt_totals(s)
        start = [r for r in got["start"] if r[2] == date(2026, 1, 1)]
        assert len(start) == 1 and start[0][3:] == (8, 8, 8, 8, 8, 8)


def test_a_rolled_back_savepoint_leaves_the_totals_alone(db, registry_cohort):
    _, _, _, eps = registry_cohort
    before = totals(db)
    savepoint = db.begin_nested()
    add_scores(db, eps["D"], "6w", S + timedelta(days=42), {"faos.pain": 61})
    add_rts(db, eps["D"], S + timedelta(days=60), "returned_previous_level", S + timedelta(days=55))
    savepoint.rollback()
    db.commit()
    assert totals(db) == before == rebuilt_totals(db)
    add_scores(db, eps["D"], "6w", S + timedelta(days=42), {"faos.pain": 61})
    db.commit()
    after = totals(db)
    assert after != before and after == rebuilt_totals(db)


def test_the_clinic_and_sport_dashboards_read_only_the_totals(db, registry_cohort, engine):
    """No per-episode or per-observation table is read for the whole clinic or one sport (what
    keeps the dashboard's cost independent of the number of patients); a surgeon filter is."""
    import re

    from sqlalchemy import event

    actor, stone, _, _ = registry_cohort
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", note)
    try:
        for f in (Filters(), Filters(sport="ballet")):
            seen.clear()
            analytics.dashboard(db, actor, f, today=TODAY)
            reads = [s for s in seen if s.lstrip().startswith("select")]
            assert reads and all("registry_total_" in s for s in reads), reads
            raw = re.compile(r"\b(from|join)\s+(observation|episode_of_care|procedure|registry_episode|"
                             r"registry_score|questionnaire_response|patient)\b")
            assert not any(raw.search(s) for s in reads), reads
        seen.clear()
        analytics.dashboard(db, actor, Filters(surgeon_id=stone.id), today=TODAY)
        assert any("registry_episode" in s for s in seen)
    finally:
        event.remove(engine, "before_cursor_execute", note)


_HOOK_ORDER = """
from hindfoot.db import registry_sync  # the module that imports the models, which import the hooks
import hindfoot.app  # noqa: F401  (the audit chain's hooks too)
from sqlalchemy.orm import Session
s = Session()
print({ev: [f.__name__ for f in getattr(s.dispatch, ev)]
       for ev in ("before_flush", "after_flush", "before_commit", "after_commit", "after_soft_rollback")})
"""


def test_registry_hooks_are_registered_once_ahead_of_the_audit_chain():
    """However the registry's modules are first imported, each hook is on the session once (a second
    copy would move the totals twice) and the totals are brought up to date before the audit chain
    links its events (the lock order that keeps concurrent writers from deadlocking)."""
    import ast
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _HOOK_ORDER], capture_output=True, text=True, check=True).stdout
    hooks = ast.literal_eval(out.strip())
    for event, name in (("before_flush", "_forget_deleted"), ("after_flush", "_note_touched"),
                        ("before_commit", "_apply_before_commit"), ("after_commit", "_committed"),
                        ("after_soft_rollback", "_rolled_back")):
        assert hooks[event].count(name) == 1, (event, hooks[event])
    commit = hooks["before_commit"]
    assert commit.index("_apply_before_commit") < commit.index("_chain_on_commit")
