"""Dates are checked for what they mean: no recovery plan before the patient's birth or years back, no
return to sport or operation in the future, and a bad date in a panel form is named, not silently lost."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import login, make_account, make_org, make_patient
from outcome_helpers import actor_for, add_surgery, episode_of
from pathway_helpers import make_clinic

from hindfoot.errors import InvalidInput
from hindfoot.outcomes import service as outcomes_service
from hindfoot.recovery import service as recovery_service


def test_a_recovery_plan_cannot_start_before_birth_or_years_ago(db):
    c = make_clinic(db, stage="post_op")
    for start, words in ((date(1899, 1, 1), "before the patient was born"),
                         (date.today() - timedelta(days=4 * 366), "more than three years ago")):
        with pytest.raises(InvalidInput) as err:
            recovery_service.generate_plan(db, c.doc, c.episode.id, procedure="posterior_arthroscopic_excision",
                                           start=start)
        assert err.value.field == "start" and words in err.value.message


def test_a_return_to_sport_date_cannot_be_in_the_future_or_before_birth(db):
    org = make_org(db)
    patient = make_patient(db, org)
    actor = actor_for(make_account(db, org, "patient", patient=patient))
    episode = episode_of(db, patient)
    add_surgery(db, episode, date.today() - timedelta(days=60))
    rts = outcomes_service.start_response(db, actor, patient.id, episode.id, "rts", "6w",
                                          today=date.today() - timedelta(days=18))
    for day, words in ((date.today() + timedelta(days=30), "has not come yet"),
                       (patient.birth_date - timedelta(days=1), "before your date of birth")):
        with pytest.raises(InvalidInput) as err:
            outcomes_service.save_answers(db, actor, rts.id, {"RTS_STATUS": "returned_previous_level",
                                                              "RTS_DATE": day.isoformat()}, complete=True)
        assert err.value.field == "RTS_DATE" and words in err.value.message
    assert rts.status == "in-progress" and rts.answers == {}
    done = outcomes_service.save_answers(db, actor, rts.id, {"RTS_STATUS": "returned_previous_level",
                                                             "RTS_DATE": date.today().isoformat()}, complete=True)
    assert done.status == "completed"


def test_a_bad_operation_date_is_named_in_the_panel(client, db):
    make_clinic(db, stage="surgery")
    db.commit()
    login(client, "doc@example.org")
    c_episode = client.get("/api/patients").json()["items"][0]
    episodes = client.get(f"/api/patients/{c_episode['id']}").json()["episodes"]
    url = f"/episodes/{episodes[0]['id']}/pathway/procedure"
    token = {"csrf_token": client.headers["X-CSRF-Token"]}
    for value, words in (("", "Enter the date of operation"), ("31/31/2026", "Date of operation: enter a real date"),
                         ((date.today() + timedelta(days=3)).isoformat(), "in the future")):
        r = client.post(url, data=token | {"code": "posterior_arthroscopic_excision", "performed_on": value},
                        headers={"HX-Request": "true"})
        assert r.status_code == 200 and words in r.text, (value, r.text[:300])
