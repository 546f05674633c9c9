from __future__ import annotations

from factories import login, make_account, make_org, make_patient, make_practitioner
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Observation, Patient


def _clinician(db, org):
    pr = make_practitioner(db, org)
    return make_account(db, org, "clinician", practitioner=pr, email="doc@example.org")


def test_clinician_lists_and_filters_patients_by_stage(client, db):
    org = make_org(db)
    _clinician(db, org)
    make_patient(db, org, "Ada", "Lovelace", stage="conservative_care")
    make_patient(db, org, "Grace", "Hopper", sport="football", stage="post_op")
    make_patient(db, org, "Mary", "Seacole", stage="post_op")
    db.commit()
    login(client, "doc@example.org")
    everyone = client.get("/api/patients").json()
    assert everyone["total"] == 3
    post_op = client.get("/api/patients", params={"stage": "post_op"}).json()
    assert {p["family_name"] for p in post_op["items"]} == {"Hopper", "Seacole"}
    found = client.get("/api/patients", params={"q": "hop"}).json()
    assert [p["family_name"] for p in found["items"]] == ["Hopper"]


def test_clinician_does_not_see_other_organisations_patients(client, db):
    org, other = make_org(db), make_org(db, "Elsewhere")
    _clinician(db, org)
    foreign = make_patient(db, other, "Zed", "Other")
    db.commit()
    login(client, "doc@example.org")
    assert client.get("/api/patients").json()["total"] == 0
    assert client.get(f"/api/patients/{foreign.id}").status_code == 404


def test_create_patient_and_episode_and_finding_are_audited(client, db):
    org = make_org(db)
    _clinician(db, org)
    db.commit()
    login(client, "doc@example.org")
    r = client.post("/api/patients", json={
        "given_name": "Tom", "family_name": "Finney", "birth_date": "1998-04-05", "sex": "male",
        "sport": "football", "level": "professional"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    ep = client.post(f"/api/patients/{pid}/episodes", json={"title": "Left posterior ankle pain", "laterality": "left"})
    assert ep.status_code == 201, ep.text
    ob = client.post(f"/api/episodes/{ep.json()['id']}/observations",
                     json={"category": "exam", "code": "hyperplantarflexion_test_positive", "present": True})
    assert ob.status_code == 201, ob.text
    record = client.get(f"/api/patients/{pid}").json()
    assert record["observations"][0]["code"] == "hyperplantarflexion_test_positive"
    db.expire_all()
    actions = db.execute(select(AuditEvent.action, AuditEvent.entity_type).where(AuditEvent.patient_id == Patient.id)).all()
    assert ("C", "Patient") in actions
    assert ("C", "EpisodeOfCare") in actions
    assert ("C", "Observation") in actions
    assert ("R", "Patient") in actions


def test_patient_update_changes_only_given_fields(client, db):
    org = make_org(db)
    _clinician(db, org)
    p = make_patient(db, org)
    db.commit()
    login(client, "doc@example.org")
    r = client.patch(f"/api/patients/{p.id}", json={"sport": "contemporary_dance"})
    assert r.status_code == 200
    assert r.json()["sport"] == "contemporary_dance"
    assert r.json()["family_name"] == "Lovelace"


def test_failed_write_leaves_nothing_behind(client, db):
    org = make_org(db)
    _clinician(db, org)
    p = make_patient(db, org)
    db.commit()
    login(client, "doc@example.org")
    episode_id = client.get(f"/api/patients/{p.id}").json()["episodes"][0]["id"]
    r = client.post(f"/api/episodes/{episode_id}/observations",
                    json={"category": "exam", "code": "not_a_finding", "present": True})
    assert r.status_code == 422
    assert r.json()["field"] == "code"
    assert "not_a_finding" in r.json()["message"]
    db.expire_all()
    assert db.scalars(select(Observation)).all() == []
    # the refused write wrote no audit entry claiming success
    assert not db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "Observation")).all()
