"""Validation moved to the tests: what the server writes from its rows (plain dicts, orjson, no models
per request) must be exactly what the R4B models give back for it, for every resource type it serves.

A resource is sent through `r4.validate` (the models parse it and dump it again, no empty elements);
any element the models would drop, rename, retype or respell (an instant, a decimal) shows up as a
difference in the sorted JSON bytes. The demo clinic holds every type but DocumentReference, which
arrives the way a referral letter does (POST), and Slot (one is stored). Patient/$everything reads the compartment in one
round trip (a pipeline on PostgreSQL); its resources must also equal what the mappers make of the
ORM objects.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from fhir_validators import medplum_errors
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hindfoot.db.models import CarePlan, QuestionnaireResponse, Schedule, Slot, UserAccount
from hindfoot.demo import DEMO_PASSWORD
from hindfoot.demo.loader import load_demo
from hindfoot.fhir import r4
from hindfoot.fhir.registry import TYPES


def _sorted(resource: dict[str, Any]) -> bytes:
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def _round_trip_differences(resources: list[dict[str, Any]]) -> list[str]:
    out = []
    for resource in resources:
        ours, models = _sorted(resource), _sorted(r4.validate(resource))
        if ours != models:
            out.append(f"{resource['resourceType']}/{resource['id']}:\n  ours   {ours[:400]!r}\n  models {models[:400]!r}")
    return out


def _orm_resources(db: Any, bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The bundle's resources mapped again from ORM objects (the slow way the rows must agree with)."""
    children = {"CarePlan": [selectinload(CarePlan.activities)],
                "QuestionnaireResponse": [selectinload(QuestionnaireResponse.questionnaire)]}
    out = []
    for entry in bundle["entry"]:
        rt = TYPES[entry["resource"]["resourceType"]]
        row = db.get(rt.model, uuid.UUID(entry["resource"]["id"]), options=children.get(rt.name, []))
        out.append(rt.mapper(row))
    return out


def test_every_served_resource_is_its_own_r4_round_trip(client, db):
    load_demo(db, date(2026, 11, 20))
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the demo stores no slots (availability is computed)
    db.add(Slot(schedule_id=db.scalars(select(Schedule.id)).first(), start=start, end=start + timedelta(minutes=20),
                status="free", service_type="follow_up"))
    db.commit()
    clinician = db.scalars(select(UserAccount).where(UserAccount.role == "clinician")).first()
    login = client.post("/api/auth/login", json={"email": clinician.email, "password": DEMO_PASSWORD})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    patient = client.get("/api/fhir/Patient", params={"_count": 1}).json()["entry"][0]["resource"]["id"]
    letter = client.post("/api/fhir/DocumentReference", headers={"Content-Type": "application/fhir+json"},
                         content=orjson.dumps({
                             "resourceType": "DocumentReference", "status": "current",
                             "subject": {"reference": f"Patient/{patient}"},
                             "type": {"coding": [{"system": "http://loinc.org", "code": "57133-1"}]},
                             "date": "2026-11-02T10:00:00Z", "description": "Posterior ankle pain",
                             "content": [{"attachment": {"contentType": "text/plain", "title": "Referral",
                                                         "data": "UmVmZXJyYWw="}}]}))
    assert letter.status_code == 201, letter.text

    served: list[dict[str, Any]] = []
    for kind in TYPES:
        bundle = client.get(f"/api/fhir/{kind}", params={"_count": 30}).json()
        assert bundle["entry"], f"the demo clinic serves no {kind}"
        served += [e["resource"] for e in bundle["entry"]]
        assert _sorted(bundle) == _sorted(r4.validate(bundle)), kind  # the searchset Bundle itself
    read = client.get(f"/api/fhir/DocumentReference/{letter.json()['id']}").json()
    served.append(read)
    assert {r["resourceType"] for r in served} == set(TYPES)
    assert _round_trip_differences(served) == []

    # the richest record: every compartment type and what it points to, read in one round trip
    everything = client.get(f"/api/fhir/Patient/{patient}/$everything").json()
    kinds = {e["resource"]["resourceType"] for e in everything["entry"]}
    assert {"Patient", "EpisodeOfCare", "Observation", "CarePlan", "QuestionnaireResponse", "Questionnaire",
            "DocumentReference", "Practitioner", "Organization"} <= kinds
    assert _sorted(everything) == _sorted(r4.validate(everything))
    db.expire_all()
    assert [_sorted(r) for r in _orm_resources(db, everything)] == [_sorted(e["resource"]) for e in everything["entry"]]
    assert medplum_errors([everything]) == []
