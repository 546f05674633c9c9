"""The questionnaire API: due list, start, save and resume, complete; own data only, audited."""

from __future__ import annotations

from datetime import date, timedelta

from factories import login, make_account, make_org, make_patient
from outcome_helpers import FAOS_ALL_1, episode_of
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Observation


def _patient(db, org, **kw):
    patient = make_patient(db, org, **kw)
    episode = episode_of(db, patient)
    episode.period_start = date.today() - timedelta(days=3)
    account = make_account(db, org, "patient", patient=patient)
    db.commit()
    return patient, episode, account


def test_patient_answers_with_save_and_resume(client, db):
    org = make_org(db)
    patient, episode, account = _patient(db, org)
    login(client, account.email)
    due = client.get(f"/api/patients/{patient.id}/questionnaires").json()
    baseline = {d["instrument"]: d for d in due if d["timepoint"] == "baseline"}
    assert set(baseline) == {"faos", "faam", "pain"} and baseline["faos"]["status"] == "overdue"

    body = {"patient_id": str(patient.id), "episode_id": str(episode.id), "instrument": "faos",
            "timepoint": "baseline"}
    created = client.post("/api/questionnaire-responses", json=body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    saved = client.patch(f"/api/questionnaire-responses/{rid}", json={"answers": {"S1": 1, "S2": 2}})
    assert saved.json()["status"] == "in-progress"
    assert client.post("/api/questionnaire-responses", json=body).json()["id"] == rid  # resume, not a duplicate
    assert client.get(f"/api/questionnaire-responses/{rid}").json()["answers"] == {"S1": 1, "S2": 2}
    row = next(d for d in client.get(f"/api/patients/{patient.id}/questionnaires").json()
               if d["instrument"] == "faos" and d["timepoint"] == "baseline")
    assert (row["status"], row["answered"], row["response_id"]) == ("in-progress", 2, rid)

    bad = client.patch(f"/api/questionnaire-responses/{rid}", json={"answers": {"S3": 7}})
    assert bad.status_code == 422 and bad.json()["field"] == "S3"
    done = client.patch(f"/api/questionnaire-responses/{rid}", json={"answers": FAOS_ALL_1, "complete": True})
    assert done.status_code == 200, done.text
    assert done.json()["scores"] == {"symptoms": 75.0, "pain": 75.0, "adl": 75.0, "sport_rec": 75.0, "qol": 75.0}
    assert client.patch(f"/api/questionnaire-responses/{rid}", json={"answers": {"S1": 0}}).status_code == 409
    chart = client.get(f"/api/patients/{patient.id}/outcomes").json()
    pain = next(s for s in chart["series"] if s["code"] == "faos.pain")
    assert pain["baseline"] == 75.0 and pain["mcid_threshold"] == 85.0
    db.expire_all()
    assert db.scalar(select(Observation.value_quantity).where(Observation.code == "faos.qol")) == 75.0


def test_patient_cannot_touch_another_patients_questionnaires(client, db):
    org = make_org(db)
    me, _, my_account = _patient(db, org)
    other, other_episode, other_account = _patient(db, org, given="Grace", family="Hopper")
    login(client, other_account.email)
    rid = client.post("/api/questionnaire-responses", json={
        "patient_id": str(other.id), "episode_id": str(other_episode.id), "instrument": "pain",
        "timepoint": "baseline"}).json()["id"]
    client.post("/api/auth/logout")
    client.cookies.clear()
    login(client, my_account.email)
    assert client.get(f"/api/patients/{other.id}/questionnaires").status_code == 404
    assert client.get(f"/api/questionnaire-responses/{rid}").status_code == 404
    assert client.patch(f"/api/questionnaire-responses/{rid}", json={"answers": {"PAIN": 1}}).status_code == 404
    assert client.post("/api/questionnaire-responses", json={
        "patient_id": str(other.id), "episode_id": str(other_episode.id), "instrument": "pain",
        "timepoint": "baseline"}).status_code == 404
    assert client.get(f"/api/patients/{other.id}/outcomes").status_code == 404
    db.expire_all()
    denials = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4", AuditEvent.patient_id == other.id)).all()
    assert len(denials) >= 4 and all(d.user_email == my_account.email for d in denials)


def test_unknown_fields_are_refused(client, db):
    org = make_org(db)
    patient, episode, account = _patient(db, org)
    login(client, account.email)
    r = client.post("/api/questionnaire-responses", json={
        "patient_id": str(patient.id), "episode_id": str(episode.id), "instrument": "koos", "timepoint": "baseline"})
    assert r.status_code == 422 and "instrument" in r.text


def test_patient_pages_section_by_section(client, db):
    org = make_org(db)
    patient, episode, account = _patient(db, org)
    token = login(client, account.email)
    page = client.get("/questionnaires")
    assert page.status_code == 200 and "Foot and Ankle Outcome Score" in page.text
    r = client.post("/questionnaires/start", data={"csrf_token": token, "patient_id": str(patient.id),
                                                   "episode_id": str(episode.id), "instrument": "pain",
                                                   "timepoint": "baseline"}, follow_redirects=False)
    assert r.status_code == 303
    section = r.headers["location"]
    assert client.get(section).status_code == 200
    r = client.post(section, data={"csrf_token": token, "PAIN": "6", "action": "submit"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/patients/{patient.id}/outcomes")
    chart = client.get(r.headers["location"])
    assert 'role="img"' in chart.text and "Pain (0-10)" in chart.text
