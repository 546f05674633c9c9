"""Bulk Data $export of the demo clinic by a backend service (SMART Backend Services token): async
kick-off, status polling, NDJSON files per type that validate (Medplum, one batch) with zero errors
and zero dangling references; Patient and Group level, _type and _since; who may and may not."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

import orjson
from demo_copy import demo_clinic
from factories import login
from fhir_validators import medplum_errors
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Organization, UserAccount
from hindfoot.demo import DEMO_PASSWORD
from hindfoot.fhir.patient_everything import references

TOKEN_URL = "https://testserver/api/oauth/token"  # OAuth2 needs https (or loopback)
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _demo_backend(client, db, client_id: str = "registry-exporter") -> tuple[str, Organization]:  # type: ignore[no-untyped-def]
    """Load the demo clinic, register a backend service as its admin, and get a system token."""
    demo_clinic(db, date(2026, 11, 20))
    db.commit()
    admin = db.scalars(select(UserAccount).where(UserAccount.role == "admin")).first()
    org = db.get(Organization, admin.organization_id)
    key = RSAKey.generate_key(2048, private=True, auto_kid=True)
    assert client.post("/api/auth/login", json={"email": admin.email, "password": DEMO_PASSWORD}).status_code == 200
    client.headers["X-CSRF-Token"] = client.get("/api/csrf").json()["csrf_token"]
    registered = client.post("/api/smart-clients", json={"client_id": client_id, "name": "Registry exporter",
                                                         "kind": "smart-backend",
                                                         "jwks": {"keys": [key.as_dict(private=False)]}})
    assert registered.status_code == 201, registered.text
    client.post("/api/auth/logout")
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    return _token(client, key, client_id), org


def _token(client, key: RSAKey, client_id: str) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    assertion = jwt.encode({"alg": "RS384", "kid": key.kid},
                           {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now, "exp": now + 300,
                            "jti": str(uuid.uuid4())}, key, algorithms=["RS384"])
    answer = client.post(TOKEN_URL, data={
        "grant_type": "client_credentials", "scope": "system/*.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "system/*.rs" and "refresh_token" not in answer.json()
    return answer.json()["access_token"]


def _export(client, token: str, path: str, **params: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {token}"}
    kick = client.get(f"/api/fhir/{path}", params=params, headers={**ASYNC, **auth})
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["content-location"]
    for _ in range(50):
        status = client.get(status_url, headers=auth)
        if status.status_code == 200:
            break
        assert status.status_code == 202 and status.headers["retry-after"]
        time.sleep(0.1)
    assert status.status_code == 200, status.text
    manifest = status.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    files: dict[str, list[dict[str, Any]]] = {}
    for out in manifest["output"]:
        got = client.get(out["url"], headers={**auth, "Accept": "application/fhir+ndjson"})
        assert got.status_code == 200 and got.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [orjson.loads(line) for line in got.text.splitlines() if line]
        assert len(lines) == out["count"] and {r["resourceType"] for r in lines} == {out["type"]}
        files[out["type"]] = lines
    return {"manifest": manifest, "files": files, "status_url": status_url}


def test_a_backend_service_exports_the_demo_clinic_and_every_resource_validates(client, db):
    token, org = _demo_backend(client, db)
    result = _export(client, token, "$export")
    files = result["files"]
    assert {"Patient", "Practitioner", "Organization", "Location", "EpisodeOfCare", "Encounter", "Condition",
            "Observation", "Procedure", "CarePlan", "Appointment", "Questionnaire",
            "QuestionnaireResponse"} <= set(files)
    everything = [r for resources in files.values() for r in resources]
    present = {(r["resourceType"], r["id"]) for r in everything}
    dangling = {ref for r in everything for ref in references(r, set())} - present
    assert dangling == set()
    assert medplum_errors(everything) == []
    # one audit entry per exported patient, under the service's name
    audited = db.scalars(select(AuditEvent.patient_id).where(
        AuditEvent.user_email == "smart-backend:registry-exporter", AuditEvent.patient_id.is_not(None))).all()
    assert set(audited) == {uuid.UUID(p["id"]) for p in files["Patient"]}
    # deleting the job removes it and its files
    auth = {"Authorization": f"Bearer {token}"}
    assert client.delete(result["status_url"], headers=auth).status_code == 202
    assert client.get(result["status_url"], headers=auth).status_code == 404
    assert client.get(result["manifest"]["output"][0]["url"], headers=auth).status_code == 404


def test_patient_and_group_level_with_type_and_since_and_who_may_export(client, db):
    token, org = _demo_backend(client, db)
    by_type = _export(client, token, "Patient/$export", _type="Patient,Observation")["files"]
    assert set(by_type) == {"Patient", "Observation"}
    group = _export(client, token, f"Group/{org.id}/$export")["files"]
    assert "Practitioner" in group  # the references of the records come along
    assert len(group["Patient"]) == len(by_type["Patient"])
    later = _export(client, token, "$export", _since="2100-01-01")["manifest"]["output"]
    assert {o["type"] for o in later} <= {"Slot"}  # nothing changed since then (slots have no change time)

    auth = {"Authorization": f"Bearer {token}"}
    no_prefer = client.get("/api/fhir/$export", headers=auth)
    assert no_prefer.status_code == 400 and no_prefer.json()["issue"][0]["expression"] == ["Prefer"]
    bad_type = client.get("/api/fhir/$export", params={"_type": "Medication"}, headers={**ASYNC, **auth})
    assert bad_type.status_code == 400 and bad_type.json()["issue"][0]["expression"] == ["_type"]
    xml = client.get("/api/fhir/$export", params={"_outputFormat": "application/fhir+xml"},
                     headers={**ASYNC, **auth})
    assert xml.status_code == 400
    other_group = client.get(f"/api/fhir/Group/{uuid.uuid4()}/$export", headers={**ASYNC, **auth})
    assert other_group.status_code == 404 and other_group.json()["resourceType"] == "OperationOutcome"

    # a clinician's session may not bulk export; nor may anyone poll someone else's job
    status_url = client.get("/api/fhir/$export", headers={**ASYNC, **auth}).headers["content-location"]
    clinician = db.scalars(select(UserAccount).where(UserAccount.role == "clinician")).first()
    login(client, clinician.email, DEMO_PASSWORD)
    assert client.get("/api/fhir/$export", headers=ASYNC).status_code == 403
    assert client.get(status_url).status_code == 404
