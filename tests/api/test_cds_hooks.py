"""CDS Hooks 2.0: discovery, patient-view cards from the decision support, appointment-book warnings,
and calls authenticated by a JWT the registered EHR signs (ES384), refused otherwise."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from factories import login, make_account, make_org, make_patient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, EpisodeOfCare, Observation

ACHILLES_RUPTURE = {  # a vignette the triage sends for same-day care (tests/clinical/vignettes.json)
    "history": ["onset_sudden_injury", "pop_or_kick_in_calf", "pain_achilles_midportion"],
    "exam": ["cannot_tiptoe", "palpable_gap_achilles", "thompson_test_positive"],
}
SERVICE = "http://testserver/api/cds-services/"


def _setup(client, db):  # type: ignore[no-untyped-def]
    org = make_org(db)
    patient = make_patient(db, org, "Rosa", "Ruptured", sport="tennis")
    episode = db.scalar(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id))
    for category, findings in ACHILLES_RUPTURE.items():
        for finding in findings:
            db.add(Observation(patient_id=patient.id, episode_id=episode.id, category=category, code=finding,
                               value_boolean=True))
    admin = make_account(db, org, "admin")
    db.commit()
    key = ECKey.generate_key("P-384", parameters={"kid": "ehr-1"})
    login(client, admin.email)
    r = client.post("/api/cds-clients", json={"client_id": "https://ehr.example.org", "name": "Example EHR",
                                               "jwks": {"keys": [key.as_dict(private=False)]}})
    assert r.status_code == 201, r.text
    client.cookies.clear()  # the hook calls below carry no session
    return patient, key


def _token(key, service_id: str, **overrides) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    claims = {"iss": "https://ehr.example.org", "aud": SERVICE + service_id, "iat": now, "exp": now + 300,
              "jti": str(uuid.uuid4()), **overrides}
    return jwt.encode({"alg": "ES384", "kid": "ehr-1", "typ": "JWT"}, claims, key, algorithms=["ES384"])


def _call(client, key, service_id: str, body: dict, **claims):  # type: ignore[no-untyped-def]
    return client.post(f"/api/cds-services/{service_id}", json=body,
                       headers={"Authorization": f"Bearer {_token(key, service_id, **claims)}"})


def test_discovery_lists_both_services_with_prefetch(client):
    services = {s["hook"]: s for s in client.get("/api/cds-services").json()["services"]}
    assert set(services) == {"patient-view", "appointment-book"}
    assert services["patient-view"]["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def test_patient_view_gives_red_flag_differential_and_next_step_cards(client, db):
    patient, key = _setup(client, db)
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/x", "patientId": str(patient.id)}}
    r = _call(client, key, "hindfoot-patient-view", body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    summaries = [c["summary"] for c in cards]
    assert any(s.startswith("Red flag") for s in summaries), summaries
    differential = next(c for c in cards if c["summary"].startswith("Differential"))
    assert "Achilles" in differential["summary"] and differential["indicator"] in ("warning", "critical")
    assert any(s.startswith("Next step") for s in summaries), summaries
    for card in cards:
        assert card["source"]["label"] and len(card["summary"]) <= 140
        assert card["links"][0]["url"].startswith(f"http://testserver/patients/{patient.id}")
    red = next(c for c in cards if c["summary"].startswith("Red flag"))
    assert red["source"]["label"] != "hindfoot decision support"  # the rule's own published source
    audited = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient.id)).all()
    assert {e.user_email for e in audited} == {"cds-client:https://ehr.example.org"}


def test_appointment_book_warns_when_the_slot_is_later_than_triage_allows(client, db):
    patient, key = _setup(client, db)
    soon = datetime.now(UTC) + timedelta(hours=3)
    late = datetime.now(UTC) + timedelta(days=10)
    body = {"hook": "appointment-book", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/x", "patientId": str(patient.id), "appointments": {
                "resourceType": "Bundle", "type": "collection", "entry": [
                    {"resource": {"resourceType": "Appointment", "id": "soon", "status": "proposed",
                                  "start": soon.isoformat()}},
                    {"resource": {"resourceType": "Appointment", "id": "late", "status": "proposed",
                                  "start": late.isoformat()}}]}}}
    r = _call(client, key, "hindfoot-appointment-book", body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert len(cards) == 1 and "Appointment late" in cards[0]["detail"]
    assert cards[0]["indicator"] == "critical" and "24 hours" in cards[0]["summary"]


def test_calls_without_a_valid_jwt_are_refused(client, db):
    patient, key = _setup(client, db)
    body = {"hook": "patient-view", "hookInstance": "1", "context": {"patientId": str(patient.id)}}
    assert client.post("/api/cds-services/hindfoot-patient-view", json=body).status_code == 401
    assert _call(client, key, "hindfoot-patient-view", body, aud=SERVICE + "elsewhere").status_code == 401
    assert _call(client, key, "hindfoot-patient-view", body, exp=int(time.time()) - 3600).status_code == 401
    assert _call(client, key, "hindfoot-patient-view", body, iss="https://unknown.example").status_code == 401
    stranger = ECKey.generate_key("P-384", parameters={"kid": "ehr-1"})
    assert _call(client, stranger, "hindfoot-patient-view", body).status_code == 401
    bad = _call(client, key, "hindfoot-patient-view", {**body, "context": {"patientId": "nobody"}})
    assert bad.status_code == 422 and bad.json()["field"] == "context.patientId"
    other_org = make_org(db, "Elsewhere")
    outsider = make_patient(db, other_org, "Olly", "Outside")
    db.commit()
    body_out = {**body, "context": {"patientId": str(outsider.id)}}
    assert _call(client, key, "hindfoot-patient-view", body_out).status_code == 404
    # a JWT is good for one call: the same jti again is a replay
    token = _token(key, "hindfoot-patient-view")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/cds-services/hindfoot-patient-view", json=body, headers=headers).status_code == 200
    replayed = client.post("/api/cds-services/hindfoot-patient-view", json=body, headers=headers)
    assert replayed.status_code == 401 and "already used" in replayed.json()["message"]


def test_only_admins_register_clients_and_private_keys_are_refused(client, db):
    org = make_org(db)
    clinician = make_account(db, org, "clinician")
    admin = make_account(db, org, "admin")
    db.commit()
    key = ECKey.generate_key("P-384")
    login(client, clinician.email)
    payload = {"client_id": "ehr", "name": "EHR", "jwks": {"keys": [key.as_dict(private=False)]}}
    assert client.post("/api/cds-clients", json=payload).status_code == 403
    client.cookies.clear()
    login(client, admin.email)
    private = client.post("/api/cds-clients", json={**payload, "jwks": {"keys": [key.as_dict(private=True)]}})
    assert private.status_code == 422 and private.json()["field"] == "jwks"
    assert client.post("/api/cds-clients", json=payload).status_code == 201
    assert client.post("/api/cds-clients", json=payload).status_code == 409
