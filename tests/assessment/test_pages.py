"""Decision-support pages over HTTP: the patient's symptom check and the clinician's panel."""

from __future__ import annotations

import re

from factories import PASSWORD, make_account, make_org, make_patient, make_practitioner
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Condition, EpisodeOfCare, Observation

STORY = {  # a ballet dancer with posterior ankle pain (like vignette p001)
    "present": {"repetitive_forced_plantarflexion", "onset_gradual", "pain_back_of_ankle", "pain_posterolateral",
                "pain_on_pointing_toes", "reduced_pointing_range", "clicking_or_cracking"},
    "absent": {"onset_sudden_injury", "cannot_bear_weight", "pain_achilles_midportion", "big_toe_pain_or_triggering",
               "giving_way", "hot_red_joint", "fever_or_unwell", "calf_swelling_warmth", "pop_or_kick_in_calf",
               "injury_high_energy"},
}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def _finding(html: str) -> str:
    match = re.search(r'name="finding" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _reply(client, token: str, html: str, yes: set[str] | tuple[str, ...], no: set[str] | tuple[str, ...] = ()):
    """Answer the question on `html` like a patient: on a question with several answers, pick the one
    that applies (else "no" to the first when it does not apply, or "not sure"); else yes / no / not sure."""
    f = _finding(html)
    options = re.findall(r'name="choice" value="([^"]+)"', html)
    picked = next((o for o in options if o in yes), None)
    if picked is not None:
        return client.post("/check/answer", data={"csrf_token": token, "finding": f, "choice": picked})
    if options and f not in no:
        return client.post("/check/answer", data={"csrf_token": token, "finding": f, "choice": "unknown"})
    value = "present" if f in yes else "absent" if f in no else "unknown"
    return client.post("/check/answer", data={"csrf_token": token, "finding": f, "value": value})


def _form_login(client, email: str) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text), "next": "/me"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def _complete_check(client, age: str = "19") -> str:
    start = client.get("/check")
    assert start.status_code == 200 and "not a diagnosis" in start.text
    token = _csrf(start.text)
    r = client.post("/check", data={"csrf_token": token, "age": age, "sex": "female", "sport": "ballet",
                                    "side": "right"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/check/question"
    page = client.get("/check/question")
    for _ in range(16):
        if "/check/result" in str(page.url):
            break
        assert page.status_code == 200
        page = _reply(client, token, page.text, STORY["present"], STORY["absent"])
    assert "/check/result" in str(page.url), "more than 15 questions"
    return page.text


def test_home_and_nav_link_to_the_symptom_check(client):
    html = client.get("/").text
    assert 'href="/check"' in html and "Check your symptoms" in html and "Check symptoms" in html


def test_anonymous_patient_completes_the_check_one_question_at_a_time(client):
    html = _complete_check(client)
    assert "What to do now" in html and "not a diagnosis" in html
    assert "Book a specialist consultation" in html
    assert 'href="/book?reason=posterior_ankle_impingement"' in html
    assert "dancer" in html.lower()  # the patient wording of the leading condition
    assert "What to expect at a consultation" in html and "<meter" in html
    assert "saved to your record" not in html


def test_first_questions_are_the_presenting_complaint_and_back_undoes(client):
    start = client.get("/check")
    token = _csrf(start.text)
    client.post("/check", data={"csrf_token": token, "age": "40"})
    first = client.get("/check/question")
    assert "Question 1" in first.text and "First, where it hurts, how it started" in first.text
    f1 = _finding(first.text)
    second = client.post("/check/answer", data={"csrf_token": token, "finding": f1, "value": "absent"})
    assert "Question 2" in second.text and _finding(second.text) != f1
    back = client.post("/check/back", data={"csrf_token": token})
    assert "Question 1" in back.text and _finding(back.text) == f1
    bad = client.post("/check/answer", data={"csrf_token": token, "finding": f1})
    assert bad.status_code == 422 and "Tick every place that applies, or not sure" in bad.text
    assert client.post("/check/answer", data={"finding": f1, "value": "absent"}).status_code == 403  # no CSRF


def test_where_it_hurts_is_one_question_with_the_sites_as_answers(client):
    token = _csrf(client.get("/check").text)
    client.post("/check", data={"csrf_token": token, "age": "40"})
    first = client.get("/check/question")
    assert "Where does it hurt? Tick every place that applies." in first.text
    options = re.findall(r'name="choice" value="([^"]+)"', first.text)
    assert {"pain_back_of_ankle", "pain_under_heel", "pain_outer_ankle", "calf_pain", "unknown"} <= set(options)
    assert "Behind the inner ankle bone" in first.text and "Not sure, or somewhere else" in first.text
    second = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(first.text),
                                                "choice": "pain_under_heel"})
    assert "Question 2" in second.text and "How did it start?" in second.text
    # the chosen site is recorded as that finding's answer (it can be changed like any other)
    change = client.get("/check/question?finding=pain_under_heel")
    assert "Change your answer" in change.text and 'value="present" required\n          checked' in change.text
    # an answer that is not one of the question's choices names the field
    bad = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(second.text),
                                             "choice": "pain_under_heel"})
    assert bad.status_code == 422 and "not one of the answers to this question" in bad.text, bad.text[-3000:]


def test_where_it_hurts_can_be_ticked_in_more_than_one_place(client):
    token = _csrf(client.get("/check").text)
    client.post("/check", data={"csrf_token": token, "age": "42"})
    first = client.get("/check/question")
    assert 'type="checkbox" name="choice" value="pain_inner_ankle"' in first.text
    second = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(first.text),
                                                "choice": ["pain_inner_ankle", "burning_tingling_sole"]})
    assert "Question 2" in second.text and "How did it start?" in second.text
    assert 'type="radio" name="choice" value="onset_gradual"' in second.text  # one answer there
    for place in ("pain_inner_ankle", "burning_tingling_sole"):
        change = client.get(f"/check/question?finding={place}")
        assert 'value="present" required\n          checked' in change.text
    # nothing ticked names what to do
    back = client.post("/check/back", data={"csrf_token": token})
    assert "Question 1" in back.text
    bad = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(back.text)})
    assert bad.status_code == 422 and "Tick every place that applies, or not sure" in bad.text


def test_a_place_ticked_with_somewhere_else_records_the_place(client):
    # "Not sure, or somewhere else" is a checkbox beside the places: a patient whose heel hurts and
    # somewhere not listed ticks both; that was refused with an error page and no way on
    token = _csrf(client.get("/check").text)
    client.post("/check", data={"csrf_token": token, "age": "42"})
    first = client.get("/check/question")
    r = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(first.text),
                                           "choice": ["unknown", "pain_back_of_heel"]})
    assert r.status_code == 200 and "Question 2" in r.text and "How did it start?" in r.text, r.text[-2000:]
    change = client.get("/check/question?finding=pain_back_of_heel")
    assert 'value="present" required\n          checked' in change.text
    # a radio question takes one answer still
    onset = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(r.text),
                                               "choice": ["unknown", "onset_gradual"]})
    assert onset.status_code == 422 and "not one of the answers" in onset.text


def test_how_long_is_one_question_and_in_between_is_not_asked_again(client):
    # issue 10, interview pass: "more than three months?" then "less than two weeks?" were two questions
    # about one duration; now one, with "between two weeks and three months ago" as an answer of its own
    token = _csrf(client.get("/check").text)
    client.post("/check", data={"csrf_token": token, "age": "35"})
    page = client.get("/check/question")
    page = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(page.text),
                                              "choice": "pain_outer_ankle"})
    page = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(page.text),
                                              "choice": "onset_sudden_injury"})
    for _ in range(2):  # weight bearing, swelling: no
        page = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(page.text), "value": "absent"})
    assert "Question 5" in page.text and "When did it start?" in page.text
    options = re.findall(r'name="choice" value="([^"]+)"', page.text)
    assert options == ["duration_under_2_weeks", "duration_over_3_months", "none_of_these", "unknown"]
    assert "Between two weeks and three months ago" in page.text
    page = client.post("/check/answer", data={"csrf_token": token, "finding": _finding(page.text),
                                              "choice": "none_of_these"})
    assert "Question 6" in page.text
    # recorded "no" to under two weeks (it can be changed like any other answer) and not asked again
    change = client.get("/check/question?finding=duration_under_2_weeks")
    assert "Change your answer" in change.text and 'value="absent" required\n          checked' in change.text
    for _ in range(15):
        if "/check/result" in str(page.url):
            break
        assert _finding(page.text) not in ("duration_under_2_weeks", "duration_over_3_months")
        page = _reply(client, token, page.text, (), ("hot_red_joint", "calf_swelling_warmth"))


def test_emergency_answers_stop_early_and_say_so_first(client):
    start = client.get("/check")
    token = _csrf(start.text)
    client.post("/check", data={"csrf_token": token, "age": "67", "sex": "male", "sport": "none"})
    page = client.get("/check/question")
    for _ in range(15):
        if "/check/result" in str(page.url):
            break
        page = _reply(client, token, page.text, ("hot_red_joint", "fever_or_unwell"))
    assert "/check/result" in str(page.url)
    html = page.text
    assert 'class="ds-disposition ds-emergency"' in html
    assert html.index("Go to an emergency department now") < html.index("What it could be")
    assert "/book?reason=posterior" not in html


def test_a_sudden_injury_with_heel_pain_and_no_tiptoe_answer_is_not_sent_home(client):
    """Class 5 of issue 10: a patient who can still walk after a sudden injury with pain at the back of
    the heel is not advised self-care while the rupture check is unanswered, and is told which question."""
    start = client.get("/check")
    token = _csrf(start.text)
    client.post("/check", data={"csrf_token": token, "age": "41", "sex": "male", "sport": "tennis"})
    page = client.get("/check/question")
    yes, no = {"pain_back_of_heel", "onset_sudden_injury"}, {"cannot_bear_weight"}
    for _ in range(16):
        if "/check/result" in str(page.url):
            break
        page = _reply(client, token, page.text, yes, no)
    html = page.text
    assert "/check/result" in str(page.url)
    assert 'class="ds-disposition ds-urgent"' in html or 'class="ds-disposition ds-emergency"' in html
    assert "Not ruled out yet" in html and "We could not rule out <strong>a torn Achilles tendon</strong>" in html
    assert "stand on tiptoe" in html


def test_start_form_validates(client):
    token = _csrf(client.get("/check").text)
    r = client.post("/check", data={"csrf_token": token, "age": "two hundred", "sport": "curling"})
    assert r.status_code == 422 and "Age: enter your age" in r.text and "choose your main sport" in r.text


def test_change_answer_from_the_result(client):
    html = _complete_check(client)
    link = re.search(r'href="/check/question\?finding=([a-z_0-9]+)"', html)
    assert link
    page = client.get(f"/check/question?finding={link.group(1)}")
    assert "Change your answer" in page.text and "checked" in page.text


def test_signed_in_patient_check_is_saved_to_their_record(client, db):
    org = make_org(db)
    me = make_patient(db, org, stage=None)
    make_account(db, org, "patient", patient=me, email="me@example.org")
    db.commit()
    _form_login(client, "me@example.org")
    start = client.get("/check")
    assert 'value="ballet"' in start.text and "selected" in start.text  # pre-filled from the record
    html = _complete_check(client, age="26")
    assert "saved to your record" in html
    db.expire_all()
    episode = db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == me.id)).one()
    assert episode.stage == "enquiry" and episode.laterality == "right"
    obs = db.scalars(select(Observation).where(Observation.episode_id == episode.id)).all()
    assert {o.code for o in obs if o.value_boolean} <= STORY["present"]
    assert obs and all(o.category == "history" for o in obs)


# --------------------------------------------------------------------------- clinician


def _clinic(db):
    org = make_org(db)
    pr = make_practitioner(db, org)
    make_account(db, org, "clinician", practitioner=pr, email="doc@example.org")
    patient = make_patient(db, org)
    episode = db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)).one()
    db.add(Observation(patient_id=patient.id, episode_id=episode.id, category="history",
                       code="pain_back_of_ankle", value_boolean=True))
    db.commit()
    return org, patient, episode


def test_record_links_to_the_panel_which_is_prefilled(client, db):
    _, patient, episode = _clinic(db)
    _form_login(client, "doc@example.org")
    record = client.get(f"/patients/{patient.id}")
    assert f'/patients/{patient.id}/assessment?episode={episode.id}' in record.text
    page = client.get(f"/patients/{patient.id}/assessment?episode={episode.id}")
    assert page.status_code == 200
    assert re.search(r'name="f.pain_back_of_ankle" value="present" checked', page.text)
    assert 'hx-post="/patients/' in page.text and "Differential" in page.text
    assert page.text.count('class="ds-rank"') == 20
    assert 'href="/sources#' in page.text


def test_panel_recalculates_on_each_change(client, db):
    _, patient, episode = _clinic(db)
    _form_login(client, "doc@example.org")
    token = _csrf(client.get(f"/patients/{patient.id}/assessment").text)
    url = f"/patients/{patient.id}/assessment/panel"
    heel = client.post(url, data={"f.pain_under_heel": "present", "f.pain_first_steps_morning": "present",
                                  "f.medial_calcaneal_tubercle_tenderness": "present"},
                       headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert heel.status_code == 200 and "<html" not in heel.text
    assert re.search(r'data-condition="([a-z_]+)"', heel.text).group(1) == "plantar_fasciitis"
    rupture = client.post(url, data={"f.pop_or_kick_in_calf": "present", "f.thompson_test_positive": "present",
                                     "f.palpable_gap_achilles": "present"},
                          headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert re.search(r'data-condition="([a-z_]+)"', rupture.text).group(1) == "achilles_rupture"
    assert 'data-disposition="urgent"' in rupture.text or 'data-disposition="emergency"' in rupture.text
    # the AAOS rule (two of four findings) is shown with its result, criteria and sources
    assert "Decision rules" in rupture.text
    assert re.search(r'data-rule="aaos_achilles_rupture"[^>]*>\s*<strong>[^<]+</strong>:\s*positive', rupture.text)
    assert 'href="/sources#AAOS_ACHILLES"' in rupture.text
    # without htmx the same post renders the whole page
    full = client.post(url, data={"csrf_token": token, "episode_id": str(episode.id), "f.pain_under_heel": "present"})
    assert full.status_code == 200 and "<html" in full.text
    bad = client.post(url, data={"f.nope": "present"}, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert bad.status_code == 422


def test_save_stores_changes_and_a_provisional_condition(client, db):
    _, patient, episode = _clinic(db)
    _form_login(client, "doc@example.org")
    token = _csrf(client.get(f"/patients/{patient.id}/assessment").text)
    r = client.post(f"/patients/{patient.id}/assessment", data={
        "csrf_token": token, "episode_id": str(episode.id), "condition": "",
        "f.pain_back_of_ankle": "present", "f.pain_on_pointing_toes": "present",
        "f.hyperplantarflexion_test_positive": "present", "f.pain_under_heel": "absent", "f.giving_way": "unknown",
    }, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "Saved: 3 finding(s) changed" in page.text and "provisional diagnosis" in page.text
    db.expire_all()
    codes = {o.code for o in db.scalars(select(Observation).where(Observation.episode_id == episode.id))}
    assert codes == {"pain_back_of_ankle", "pain_on_pointing_toes", "hyperplantarflexion_test_positive", "pain_under_heel"}
    cond = db.scalars(select(Condition).where(Condition.episode_id == episode.id)).one()
    assert cond.verification_status == "provisional" and cond.icd10_code
    assert db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "Condition")).first()


def test_patients_cannot_open_the_clinician_panel(client, db):
    org, patient, _ = _clinic(db)
    me = make_patient(db, org, given="Me")
    make_account(db, org, "patient", patient=me, email="me@example.org")
    db.commit()
    _form_login(client, "me@example.org")
    assert client.get(f"/patients/{me.id}/assessment").status_code == 403
    assert client.get(f"/patients/{patient.id}/assessment").status_code == 403
    assert "Decision support: findings" not in client.get(f"/patients/{me.id}").text


def _findings_card(html: str) -> str:
    match = re.search(r'<h2 id="findings-h">Findings</h2>(.*?)</section>', html, re.S)
    assert match, "no findings card"
    return match.group(1)


def test_record_page_lists_findings_as_they_stand_after_a_change_and_a_withdrawal(client, db):
    _, patient, episode = _clinic(db)
    _form_login(client, "doc@example.org")
    url = f"/patients/{patient.id}/assessment"

    def save(**values: str) -> None:
        token = _csrf(client.get(url).text)
        fields = {f"f.{k}": v for k, v in values.items()}
        r = client.post(url, data={"csrf_token": token, "episode_id": str(episode.id), "condition": "", **fields},
                        follow_redirects=False)
        assert r.status_code == 303, r.text

    save(pain_back_of_ankle="present", pain_under_heel="present", giving_way="absent")
    card = _findings_card(client.get(f"/patients/{patient.id}").text)
    assert "heel" in card.lower() and card.count("<li") == 3
    save(pain_back_of_ankle="present", pain_under_heel="absent", giving_way="unknown")  # changed, withdrawn
    page = client.get(f"/patients/{patient.id}").text
    card = _findings_card(page)
    assert card.count("<li") == 2  # back-of-ankle pain, and heel pain now answered "no"; giving way left out
    heel = next(item for item in card.split("<li")[1:] if "heel" in item.lower())
    assert "No" in heel and "Yes" not in heel
    assert "(withdrawn)" in page  # the timeline keeps the withdrawn answer, marked
