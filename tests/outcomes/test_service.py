"""Storing questionnaire responses: due list, save and resume, exact scores as Observations, access."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import make_account, make_org, make_patient
from outcome_helpers import FAOS_ALL_1, actor_for, add_conservative, add_surgery, at, episode_of
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Observation
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.outcomes import scoring, service

TODAY = date(2026, 1, 5)  # the factory episodes start on 2026-01-01


@pytest.fixture
def setup(db):
    org = make_org(db)
    patient = make_patient(db, org)
    account = make_account(db, org, "patient", patient=patient)
    return org, patient, actor_for(account)


def _row(rows, instrument, timepoint="baseline"):
    return next(r for r in rows if r.instrument == instrument and r.timepoint == timepoint)


def test_due_list_follows_the_pathway(db, setup):
    org, patient, actor = setup
    episode = episode_of(db, patient)
    add_conservative(db, episode, date(2026, 1, 10))
    add_surgery(db, episode, date(2026, 3, 2))
    rows = service.due_list(db, actor, patient.id, today=TODAY)
    assert _row(rows, "faos").status == "overdue"  # due on the first consultation, 2026-01-01
    assert {r.instrument for r in rows if r.timepoint == "6w"} == {"faos", "faam", "pain", "rts"}
    assert _row(rows, "faos", "6w").due == date(2026, 4, 13)  # 6 weeks after surgery, not treatment
    assert _row(rows, "faos", "12m").status == "upcoming"


def test_save_and_resume_then_complete_stores_exact_scores(db, setup):
    org, patient, actor = setup
    episode = episode_of(db, patient)
    response = service.start_response(db, actor, patient.id, episode.id, "faos", "baseline", today=TODAY)
    symptoms = {f"S{i}": 2 for i in range(1, 8)}
    service.save_answers(db, actor, response.id, symptoms)
    db.commit()

    again = service.start_response(db, actor, patient.id, episode.id, "faos", "baseline", today=TODAY)
    assert again.id == response.id and again.status == "in-progress"
    assert again.answers == symptoms
    row = _row(service.due_list(db, actor, patient.id, today=TODAY), "faos")
    assert (row.status, row.answered, row.total) == ("in-progress", 7, 42)

    answers = {**FAOS_ALL_1, "S1": 0, "P1": None, "Q1": 4}
    done = service.save_answers(db, actor, response.id, answers, complete=True, now=at(TODAY))
    db.commit()
    expected = scoring.score("faos", {**FAOS_ALL_1, "S1": 0, "P1": None, "Q1": 4})["scores"]
    assert done.status == "completed"
    assert done.scores == expected
    obs = {o.code: o for o in db.scalars(select(Observation).where(Observation.questionnaire_response_id == done.id))}
    assert set(obs) == {"faos.symptoms", "faos.pain", "faos.adl", "faos.sport_rec", "faos.qol"}
    assert obs["faos.symptoms"].value_quantity == pytest.approx(100 - 25 * 6 / 7)
    assert obs["faos.qol"].value_quantity == pytest.approx(100 - 25 * 7 / 4)
    assert all(o.category == "score" and o.episode_id == episode.id for o in obs.values())
    assert _row(service.due_list(db, actor, patient.id, today=done.authored_at.date()), "faos").status == "completed"
    with pytest.raises(Conflict):
        service.save_answers(db, actor, response.id, {"S1": 1})
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "QuestionnaireResponse")).all()
    assert {"C", "U", "R"} <= set(actions)


def test_faam_na_and_rts_and_pain(db, setup):
    org, patient, actor = setup
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 1, 2))
    six_weeks = date(2026, 2, 13)
    faam = service.start_response(db, actor, patient.id, episode.id, "faam", "6w", today=six_weeks)
    answers = {f"ADL{i}": 3 for i in range(1, 22)} | {f"SPORTS{i}": "na" for i in range(1, 9)} | {"SPORTS1": 2}
    done = service.save_answers(db, actor, faam.id, answers, complete=True)
    assert done.scores == {"adl": 75.0, "sports": 50.0}
    rts = service.start_response(db, actor, patient.id, episode.id, "rts", "6w", today=six_weeks)
    with pytest.raises(InvalidInput) as err:
        service.save_answers(db, actor, rts.id, {"RTS_STATUS": "returned_previous_level"}, complete=True)
    assert err.value.field == "RTS_DATE"
    assert rts.status == "in-progress" and rts.answers == {}
    service.save_answers(db, actor, rts.id, {"RTS_STATUS": "returned_previous_level", "RTS_DATE": "2026-02-10"},
                         complete=True)
    pain = service.start_response(db, actor, patient.id, episode.id, "pain", "6w", today=six_weeks)
    service.save_answers(db, actor, pain.id, {"PAIN": "3"}, complete=True)
    values = {o.code: (o.value_quantity, o.value_string) for o in db.scalars(
        select(Observation).where(Observation.patient_id == patient.id))}
    assert values["rts.status"] == (None, "returned_previous_level")
    assert values["rts.date"] == (None, "2026-02-10")
    assert values["pain.nrs"] == (3.0, None)
    assert values["faam.sports"] == (50.0, None)


def test_bad_answers_name_the_item(db, setup):
    org, patient, actor = setup
    episode = episode_of(db, patient)
    response = service.start_response(db, actor, patient.id, episode.id, "pain", "baseline", today=TODAY)
    for bad, field in (({"PAIN": 11}, "PAIN"), ({"NOPE": 1}, "NOPE"), ({"PAIN": True}, "PAIN")):
        with pytest.raises(InvalidInput) as err:
            service.save_answers(db, actor, response.id, bad)
        assert err.value.field == field


def test_only_open_questionnaires_can_be_started(db, setup):
    org, patient, actor = setup
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 1, 3))
    with pytest.raises(Conflict):
        service.start_response(db, actor, patient.id, episode.id, "faos", "12m", today=TODAY)
    with pytest.raises(InvalidInput):
        service.start_response(db, actor, patient.id, episode.id, "rts", "baseline", today=TODAY)


def test_a_patient_answers_only_their_own(db, setup):
    org, patient, actor = setup
    other = make_patient(db, org, given="Grace", family="Hopper")
    other_episode = episode_of(db, other)
    with pytest.raises(AccessDenied):
        service.start_response(db, actor, other.id, other_episode.id, "faos", "baseline", today=TODAY)
    other_actor = actor_for(make_account(db, org, "patient", patient=other))
    theirs = service.start_response(db, other_actor, other.id, other_episode.id, "pain", "baseline", today=TODAY)
    with pytest.raises(AccessDenied):
        service.save_answers(db, actor, theirs.id, {"PAIN": 1})
    with pytest.raises(AccessDenied):
        service.get_response(db, actor, theirs.id)
    with pytest.raises(AccessDenied):
        service.due_list(db, actor, other.id, today=TODAY)
    clinician = actor_for(make_account(db, org, "clinician"))
    assert service.get_response(db, clinician, theirs.id).id == theirs.id
    stranger = actor_for(make_account(db, make_org(db, "Elsewhere"), "clinician"))
    with pytest.raises(AccessDenied):
        service.get_response(db, stranger, theirs.id)


def test_patient_outcomes_series_with_mcid_threshold(db, setup):
    from outcome_helpers import add_scores

    org, patient, actor = setup
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 1, 20))
    add_scores(db, episode, "baseline", date(2026, 1, 5), {"faos.pain": 40.0, "pain.nrs": 7.0})
    add_scores(db, episode, "6w", date(2026, 3, 3), {"faos.pain": 60.0, "pain.nrs": 3.0})
    data = service.patient_outcomes(db, actor, patient.id)
    series = {s.code: s for s in data.series}
    assert [p[1] for p in series["faos.pain"].points] == [40.0, 60.0]
    assert series["faos.pain"].threshold == 50.0
    assert series["pain.nrs"].threshold == 5.0  # lower is better: baseline - MCID 2
    assert (date(2026, 1, 20), "Surgery") in data.markers
    _ = timedelta
