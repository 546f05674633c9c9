"""Walk the CapabilityStatement over the demo clinic: every declared interaction, search parameter and
include answers correctly, and every resource the server returns validates (R4B models and Medplum).

Each search parameter is tried twice on a resource the server returned: with a value taken from
that resource (it must be found again, `_id=X&param=value` gives exactly X) and with a value that
cannot match (`_id=X&param=other` gives nothing).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
from demo_copy import demo_clinic
from fhir_validators import medplum_errors, r4b_errors
from sqlalchemy import select

from hindfoot.db.models import UserAccount
from hindfoot.demo import DEMO_PASSWORD
from hindfoot.fhir.registry import TYPES


def _codes(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    return (concept or {}).get("coding", [])


def _first_coding(concept: Any) -> str:
    if isinstance(concept, list):
        concept = concept[0]
    c = _codes(concept)[0]
    return f"{c['system']}|{c['code']}"


TOKENS = {
    "status": lambda r: r["status"],
    "identifier": lambda r: f"{r['identifier'][0]['system']}|{r['identifier'][0]['value']}",
    "gender": lambda r: r["gender"],
    "role": lambda r: _first_coding(r["code"]),
    "type": lambda r: _first_coding(r["type"]),
    "code": lambda r: _first_coding(r["code"]),
    "clinical-status": lambda r: r["clinicalStatus"]["coding"][0]["code"],
    "verification-status": lambda r: r["verificationStatus"]["coding"][0]["code"],
    "category": lambda r: _first_coding(r["category"]),
    "modality": lambda r: f"{r['modality'][0]['system']}|{r['modality'][0]['code']}",
    "service-type": lambda r: _first_coding(r["serviceType"]),
    "active": lambda r: "true" if r["active"] else "false",
    "version": lambda r: r["version"],
}
STRINGS = {
    "name": lambda r: r["name"] if isinstance(r["name"], str) else r["name"][0]["family"][:3],
    "family": lambda r: r["name"][0]["family"][:3],
    "given": lambda r: r["name"][0]["given"][0][:2],
    "title": lambda r: r["title"][:5],
}
DATES = {  # where each date parameter reads its value
    "birthdate": lambda r: r["birthDate"], "_lastUpdated": lambda r: r["meta"]["lastUpdated"],
    "recorded-date": lambda r: r["recordedDate"], "started": lambda r: r["started"],
    "authored": lambda r: r["authored"], "start": lambda r: r["start"],
}
UNPOPULATED_IN_DEMO: list[str] = []
DATE_FIELDS = ("period", "start", "effectiveDateTime", "performedDateTime", "issued", "date")


def _date_of(kind: str, name: str, r: dict[str, Any]) -> str | None:
    if name in DATES:
        return DATES[name](r)
    for field in DATE_FIELDS:
        if field in r:
            return r[field]["start"] if field == "period" else r[field]
    return None


def _references(resource: Any, targets: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    if isinstance(resource, dict):
        ref = resource.get("reference")
        if isinstance(ref, str) and ref.split("/")[0] in targets:
            found.append(ref)
        for value in resource.values():
            found += _references(value, targets)
    elif isinstance(resource, list):
        for value in resource:
            found += _references(value, targets)
    return found


def _value_for(kind: str, name: str, ptype: str, r: dict[str, Any]) -> tuple[str, str] | None:
    """(a value that finds r, a value that cannot), or None when r has nothing to search by."""
    if name == "_id":
        return r["id"], str(uuid.uuid4())
    if ptype == "reference":
        if kind == "PractitionerRole" and name == "practitioner":
            refs = [r["practitioner"]["reference"]]
        else:
            refs = _references({k: v for k, v in r.items() if k != "text"}, TYPES[kind].params[name].target)
        return (refs[0], f"{refs[0].split('/')[0]}/{uuid.uuid4()}") if refs else None
    if ptype == "date":
        value = _date_of(kind, name, r)
        return (value[:10], "lt1900-01-01") if value else None
    if ptype == "string":
        return STRINGS[name](r), "zzzq"
    return TOKENS[name](r), "no-such-code"


FHIR_WRITE = {"Content-Type": "application/fhir+json"}


def test_every_declared_interaction_and_parameter_answers_and_validates(client, db):
    demo_clinic(db, date(2026, 11, 20))
    db.commit()
    clinician = db.scalars(select(UserAccount).where(UserAccount.role == "clinician")).first()
    login = client.post("/api/auth/login", json={"email": clinician.email, "password": DEMO_PASSWORD})
    assert login.status_code == 200
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]

    r = client.get("/api/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    statement = r.json()
    returned: list[dict[str, Any]] = [statement]
    declared = {res["type"]: res for res in statement["rest"][0]["resource"]}
    assert {"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "EpisodeOfCare", "Encounter",
            "Condition", "Observation", "Procedure", "ImagingStudy", "DiagnosticReport", "CarePlan", "Appointment",
            "Slot", "Schedule", "Questionnaire", "QuestionnaireResponse", "DocumentReference"} <= set(declared)
    # the demo keeps no documents: a referral letter arrives first, through the declared create
    someone = client.get("/api/fhir/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
    letter = client.post("/api/fhir/DocumentReference", headers=FHIR_WRITE, content=orjson.dumps({
        "resourceType": "DocumentReference", "status": "current", "subject": {"reference": f"Patient/{someone}"},
        "type": {"coding": [{"system": "http://loinc.org", "code": "57133-1", "display": "Referral note"}]},
        "author": [{"display": "Dr A. General, Riverside Practice"}], "date": "2026-11-02T10:00:00Z",
        "content": [{"attachment": {"contentType": "text/plain", "title": "Referral letter",
                                    "data": "UmVmZXJyYWw6IHBvc3RlcmlvciBhbmtsZSBwYWlu"}}]}))
    assert letter.status_code == 201, letter.text
    tried = 0
    unpopulated: list[str] = []
    for kind, res in declared.items():
        interactions = {i["code"] for i in res["interaction"]}
        assert interactions in ({"read", "search-type"}, {"read", "search-type", "create", "update"}), kind
        bundle = client.get(f"/api/fhir/{kind}", params={"_count": 20}).json()
        assert bundle["type"] == "searchset", kind
        # the total is counted up to rest.COUNT_CAP matches; beyond, it is left out and a next page is linked
        assert isinstance(bundle.get("total"), int) or (
            len(bundle["entry"]) == 20 and any(link["relation"] == "next" for link in bundle["link"])), kind
        returned += [bundle] + [e["resource"] for e in bundle.get("entry", [])]
        if kind == "Slot" and not bundle.get("entry"):
            continue  # the demo keeps no stored slots (availability is computed); read is walked in test_rest
        assert bundle["entry"], f"the demo has no {kind}"
        sample = bundle["entry"][0]["resource"]
        read = client.get(f"/api/fhir/{kind}/{sample['id']}")
        assert read.status_code == 200 and read.json() == sample, kind
        assert read.headers["etag"] == f'W/"{sample["meta"]["versionId"]}"'
        if "update" in interactions:  # the resource as read, sent back unchanged: 200, and the same record
            put = client.put(f"/api/fhir/{kind}/{sample['id']}", content=orjson.dumps(sample),
                             headers={**FHIR_WRITE, "If-Match": read.headers["etag"]})
            assert put.status_code == 200, (kind, put.text)
            returned.append(put.json())
        if "create" in interactions:  # a copy of it as a new resource (a new record number for a patient)
            copy = {k: v for k, v in sample.items() if k not in ("id", "meta", "identifier")}
            made = client.post(f"/api/fhir/{kind}", content=orjson.dumps(copy), headers=FHIR_WRITE)
            assert made.status_code == 201 and made.headers["location"].endswith(made.json()["id"]), (kind, made.text)
            returned.append(made.json())
        candidates = [e["resource"] for e in client.get(f"/api/fhir/{kind}", params={"_count": 500}).json()["entry"]]
        for param in res.get("searchParam", []):
            name = param["name"]
            tries = [(c, v) for c in candidates if (v := _value_for(kind, name, param["type"], c))]
            if not tries:
                unpopulated.append(f"{kind}?{name}")
                continue
            subject, (hit, miss) = tries[0]
            found = client.get(f"/api/fhir/{kind}", params={"_id": subject["id"], name: hit})
            assert found.status_code == 200, (kind, name, found.text)
            assert found.json()["total"] == 1, f"{kind}?{name}={hit} does not find the resource it came from"
            missed = client.get(f"/api/fhir/{kind}", params={"_id": subject["id"], name: miss})
            assert missed.status_code == 200 and missed.json()["total"] == 0, f"{kind}?{name}={miss} matches"
            tried += 1
        for include in res.get("searchInclude", []):
            inc = client.get(f"/api/fhir/{kind}", params={"_include": include, "_count": 5})
            assert inc.status_code == 200, (include, inc.text)
            entries = inc.json().get("entry", [])
            target = TYPES[kind].params[include.split(":")[1]].target
            included = [e for e in entries if e["search"]["mode"] == "include"]
            refs = {ref for e in entries if e["search"]["mode"] == "match"
                    for ref in _references(e["resource"], target)}
            assert {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in included} == refs, include
            returned += [e["resource"] for e in included]
        for op in res.get("operation", []):
            assert (kind, op["name"]) in (("Patient", "everything"), ("Patient", "export"))
            if op["name"] == "everything":
                everything = client.get(f"/api/fhir/Patient/{sample['id']}/$everything")
                assert everything.status_code == 200
                returned.append(everything.json())
            else:  # bulk export is for backend services and admins (walked in test_bulk.py): refused here
                kick = client.get("/api/fhir/Patient/$export", headers={"Prefer": "respond-async"})
                assert kick.status_code == 403 and kick.json()["resourceType"] == "OperationOutcome"
    assert statement["rest"][0].get("interaction") == [{"code": "transaction"}]
    empty = client.post("/api/fhir", content=orjson.dumps({"resourceType": "Bundle", "type": "transaction",
                                                           "entry": []}), headers=FHIR_WRITE)
    assert empty.status_code == 400 and empty.json()["issue"][0]["expression"] == ["Bundle.entry"]
    for op in statement["rest"][0].get("operation", []):
        assert op["name"] == "export" and op["definition"].startswith("http://hl7.org/fhir/uv/bulkdata/")
        path = "$export" if op["definition"].endswith("/export") else f"Group/{clinician.organization_id}/$export"
        kick = client.get(f"/api/fhir/{path}", headers={"Prefer": "respond-async"})
        assert kick.status_code == 403 and kick.json()["resourceType"] == "OperationOutcome"
    assert tried > 100
    assert unpopulated == UNPOPULATED_IN_DEMO  # these are walked on their own data in test_rest.py

    assert r4b_errors(returned) == []
    assert medplum_errors(returned) == []
    # every coding the server returned carries a display
    missing = [c for res in returned for c in _all_codings(res) if not c.get("display")]
    assert missing == []


def _all_codings(resource: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(resource, dict):
        if "system" in resource and isinstance(resource.get("code"), str) and "value" not in resource:
            out.append(resource)
        for key, value in resource.items():
            if key not in ("valueCoding", "answerOption", "initial"):  # questionnaire definitions as stored
                out += _all_codings(value)
    elif isinstance(resource, list):
        for value in resource:
            out += _all_codings(value)
    return out
