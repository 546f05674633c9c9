"""Bad input is a 4xx JSON answer naming the field, never a 500."""

from __future__ import annotations

import pytest
from factories import login, make_account, make_org, make_patient, make_practitioner


@pytest.fixture
def signed_in(client, db):
    org = make_org(db)
    pr = make_practitioner(db, org)
    make_account(db, org, "clinician", practitioner=pr, email="doc@example.org")
    patient = make_patient(db, org)
    db.commit()
    login(client, "doc@example.org")
    return patient


def test_invalid_id_in_path(client, signed_in):
    r = client.get("/api/patients/not-a-uuid")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "patient_id"


def test_malformed_json(client, signed_in):
    r = client.post("/api/patients", content=b'{"given_name": "A",', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "malformed JSON" in r.json()["message"]


def test_unknown_enum_value_names_field_and_allowed_values(client, signed_in):
    r = client.post("/api/patients", json={"given_name": "A", "family_name": "B", "birth_date": "1990-01-01",
                                           "sex": "male", "sport": "quidditch"})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "sport"
    assert "ballet" in err["message"]


def test_date_in_wrong_format(client, signed_in):
    r = client.post("/api/patients", json={"given_name": "A", "family_name": "B", "birth_date": "31/12/1990",
                                           "sex": "male"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "birth_date"


def test_unknown_field_is_refused(client, signed_in):
    r = client.post("/api/patients", json={"given_name": "A", "family_name": "B", "birth_date": "1990-01-01",
                                           "sex": "male", "shoe_size": 9})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "shoe_size"


def test_unknown_stage_filter(client, signed_in):
    r = client.get("/api/patients", params={"stage": "flying"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "stage"


def test_unknown_patient_id_is_404(client, signed_in):
    r = client.get("/api/patients/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_naive_datetime_is_refused(client, signed_in, db):
    episode_id = client.get(f"/api/patients/{signed_in.id}").json()["episodes"][0]["id"]
    r = client.post(f"/api/episodes/{episode_id}/observations", json={
        "category": "exam", "code": "joint_effusion", "present": False, "effective_at": "2026-01-01T10:00:00"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "effective_at"
