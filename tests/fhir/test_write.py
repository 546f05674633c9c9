"""FHIR writes: a referral arrives as a record. Create and update of Patient, Condition and
Observation, a transaction Bundle (all or nothing, urn:uuid references), OperationOutcome naming the
element for bad input, If-Match, who may write, and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from factories import login, make_account, make_org, make_patient, make_practitioner
from fhir_validators import medplum_errors
from sqlalchemy import func, select

from hindfoot.db.models import AuditEvent, Condition, Observation, Patient

FHIR = {"Content-Type": "application/fhir+json"}
PATIENT = {"resourceType": "Patient", "name": [{"family": "Referred", "given": ["Rita"]}], "gender": "female",
           "birthDate": "1994-05-17", "telecom": [{"system": "email", "value": "rita@example.org"}]}


def _post(client, path: str, body: Any, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/fhir/{path}", content=orjson.dumps(body), headers={**FHIR, **headers})


def _outcome(response, status: int, expression: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert body["issue"][0]["expression"] == [expression], body


def _staff(client, db):  # type: ignore[no-untyped-def]
    org = make_org(db)
    surgeon = make_practitioner(db, org)
    clinician = make_account(db, org, "clinician", practitioner=surgeon)
    db.commit()
    login(client, clinician.email)
    return org, surgeon, clinician


def test_create_read_update_a_referred_patient_condition_and_pain_score(client, db):
    org, surgeon, clinician = _staff(client, db)
    made = _post(client, "Patient", PATIENT)
    assert made.status_code == 201, made.text
    patient = made.json()
    assert made.headers["location"].endswith(f"/api/fhir/Patient/{patient['id']}")
    assert made.headers["etag"] == f'W/"{patient["meta"]["versionId"]}"'
    assert client.get(f"/api/fhir/Patient/{patient['id']}").json() == patient

    # a condition hindfoot does not know, in SNOMED CT as the referrer coded it
    condition = _post(client, "Condition", {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{patient['id']}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "239873007",
                             "display": "Osteoarthritis of knee"}]},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "recordedDate": "2026-10-01T09:00:00Z"})
    assert condition.status_code == 201, condition.text
    codings = condition.json()["code"]["coding"]
    assert codings == [{"system": "http://snomed.info/sct", "code": "239873007", "display": "Osteoarthritis of knee"}]
    # the pain score in LOINC is stored as hindfoot's pain NRS and found by its LOINC code
    pain = _post(client, "Observation", {
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{patient['id']}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "valueQuantity": {"value": 7, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"},
        "effectiveDateTime": "2026-10-01T09:05:00Z"})
    assert pain.status_code == 201, pain.text
    found = client.get("/api/fhir/Observation", params={"patient": patient["id"],
                                                        "code": "http://loinc.org|72514-3"}).json()
    assert found["total"] == 1 and found["entry"][0]["resource"]["valueQuantity"]["value"] == 7
    assert medplum_errors([patient, condition.json(), pain.json()]) == []

    # update with the current ETag: 200; with a stale one: 412
    changed = {**patient, "name": [{"family": "Referred-Jones", "given": ["Rita"]}]}
    stale = client.put(f"/api/fhir/Patient/{patient['id']}", content=orjson.dumps(changed),
                       headers={**FHIR, "If-Match": 'W/"stale"'})
    _outcome(stale, 412, "If-Match")
    updated = client.put(f"/api/fhir/Patient/{patient['id']}", content=orjson.dumps(changed),
                         headers={**FHIR, "If-Match": made.headers["etag"]})
    assert updated.status_code == 200 and updated.json()["name"][0]["family"] == "Referred-Jones"
    assert updated.headers["etag"] != made.headers["etag"]

    actions = set(db.scalars(select(AuditEvent.description).where(AuditEvent.user_email == clinician.email)))
    assert any(a.startswith("FHIR create Condition/") for a in actions)
    assert any(a.startswith("FHIR create Observation/") for a in actions)
    assert "patient created" in actions


def test_bad_writes_answer_an_operation_outcome_naming_the_element(client, db):
    _staff(client, db)
    _outcome(_post(client, "Patient", {k: v for k, v in PATIENT.items() if k != "birthDate"}), 422,
             "Patient.birthDate")
    _outcome(_post(client, "Patient", {**PATIENT, "gender": "robot"}), 422, "Patient.gender")
    _outcome(_post(client, "Patient", {**PATIENT, "birthDate": 1994}), 400, "Patient.birthDate")
    _outcome(_post(client, "Patient", {**PATIENT, "resourceType": "Practitioner"}), 400, "resourceType")
    bad_json = client.post("/api/fhir/Patient", content=b"{nope", headers=FHIR)
    _outcome(bad_json, 400, "body")
    xml = client.post("/api/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    _outcome(xml, 400, "Content-Type")
    patient = _post(client, "Patient", PATIENT).json()
    unknown = _post(client, "Observation", {
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{patient['id']}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "valueQuantity": {"value": 80}})
    _outcome(unknown, 422, "Observation.code")
    nobody = _post(client, "Condition", {
        "resourceType": "Condition", "subject": {"reference": "Patient/not-an-id"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "x"}]}})
    _outcome(nobody, 422, "Condition.subject")
    not_base64 = _post(client, "DocumentReference", {
        "resourceType": "DocumentReference", "status": "current", "subject": {"reference": f"Patient/{patient['id']}"},
        "content": [{"attachment": {"contentType": "text/plain", "data": "not base64!"}}]})
    _outcome(not_base64, 400 if not_base64.status_code == 400 else 422,
             not_base64.json()["issue"][0]["expression"][0])
    assert "DocumentReference.content" in not_base64.json()["issue"][0]["expression"][0]


def test_a_transaction_imports_a_referral_all_or_nothing(client, db):
    _staff(client, db)
    before = db.scalar(select(func.count()).select_from(Patient))
    referral = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:c1", "request": {"method": "POST", "url": "Condition"}, "resource": {
            "resourceType": "Condition", "subject": {"reference": "urn:uuid:p1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "M25.57",
                                 "display": "Pain in ankle and joints of foot"}]}}},
        {"fullUrl": "urn:uuid:p1", "request": {"method": "POST", "url": "Patient"}, "resource": PATIENT},
        {"fullUrl": "urn:uuid:o1", "request": {"method": "POST", "url": "Observation"}, "resource": {
            "resourceType": "Observation", "status": "final", "subject": {"reference": "urn:uuid:p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "valueQuantity": {"value": 6}}},
        {"fullUrl": "urn:uuid:d1", "request": {"method": "POST", "url": "DocumentReference"}, "resource": {
            "resourceType": "DocumentReference", "status": "current", "subject": {"reference": "urn:uuid:p1"},
            "type": {"coding": [{"system": "http://loinc.org", "code": "57133-1", "display": "Referral note"}]},
            "author": [{"display": "Dr A. General"}],
            "content": [{"attachment": {"contentType": "application/pdf", "title": "Referral letter",
                                        "data": "JVBERi0xLjQKJcfsj6IK"}}]}},
    ]}
    answer = client.post("/api/fhir", content=orjson.dumps(referral), headers=FHIR)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["type"] == "transaction-response"
    assert [e["response"]["status"] for e in bundle["entry"]] == ["201 Created"] * 4
    patient_id = uuid.UUID(bundle["entry"][1]["response"]["location"].split("/")[1])
    assert db.scalar(select(func.count()).select_from(Condition).where(Condition.patient_id == patient_id)) == 1
    assert db.scalar(select(func.count()).select_from(Observation).where(Observation.patient_id == patient_id)) == 1
    letters = client.get("/api/fhir/DocumentReference", params={"patient": str(patient_id),
                                                                "type": "http://loinc.org|57133-1"}).json()
    assert letters["total"] == 1
    letter = letters["entry"][0]["resource"]
    assert letter["content"][0]["attachment"]["size"] == 15 and letter["author"] == [{"display": "Dr A. General"}]
    assert medplum_errors([letter]) == []
    everything = client.get(f"/api/fhir/Patient/{patient_id}/$everything").json()
    assert "DocumentReference" in {e["resource"]["resourceType"] for e in everything["entry"]}
    # the letter is on the record page, and opens as a download (never inline)
    page = client.get(f"/patients/{patient_id}")
    assert "Referral letter" in page.text and "from Dr A. General" in page.text
    download = client.get(f"/patients/{patient_id}/documents/{letter['id']}")
    assert download.status_code == 200 and download.content.startswith(b"%PDF-1.4")
    assert download.headers["content-disposition"].startswith("attachment")
    assert client.get(f"/patients/{patient_id}/documents/{uuid.uuid4()}").status_code == 404

    # a bad last entry undoes the first ones
    broken = {**referral, "entry": [*referral["entry"][1:], {
        "request": {"method": "POST", "url": "Observation"}, "resource": {
            "resourceType": "Observation", "status": "final", "subject": {"reference": "urn:uuid:p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "valueQuantity": {"value": 60}}}]}
    refused = client.post("/api/fhir", content=orjson.dumps(broken), headers=FHIR)
    _outcome(refused, 422, "Bundle.entry[3].Observation.valueQuantity")
    assert db.scalar(select(func.count()).select_from(Patient)) == before + 1


def test_only_staff_write_and_a_token_needs_write_scopes(client, db):
    org = make_org(db)
    alice = make_patient(db, org, "Alice", "Able")
    patient_account = make_account(db, org, "patient", patient=alice)
    db.commit()
    login(client, patient_account.email)
    refused = _post(client, "Observation", {
        "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{alice.id}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}, "valueQuantity": {"value": 3}})
    assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
    client.headers.pop("X-CSRF-Token", None)
    no_csrf = _post(client, "Patient", PATIENT)
    assert no_csrf.status_code == 403
