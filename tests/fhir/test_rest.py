"""The FHIR REST API on small, known data: who sees what, audit, errors as OperationOutcome, paging,
ETags, codes, and Patient/$everything as the spec defines it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from factories import login, make_account, make_fhir_clinic, make_org, make_patient
from fhir_validators import medplum_errors, r4b_errors
from sqlalchemy import select

from hindfoot.db.models import (
    AuditEvent,
    CarePlan,
    CarePlanActivity,
    Condition,
    Encounter,
    Observation,
    Procedure,
    Schedule,
    Slot,
)


def _clinic(db):  # type: ignore[no-untyped-def]
    c = make_fhir_clinic(db, pain_scores=7)
    org, surgeon, location, alice, t0 = c.org, c.surgeon, c.location, c.alice, c.t0
    db.add(Observation(patient_id=c.bob.id, category="exam", code="pain_on_forced_plantarflexion",
                       value_boolean=True, effective_at=t0))
    db.add(Condition(patient_id=alice.id, code="osteochondral_lesion_talus", display="Osteochondral lesion",
                     snomed_code="187371000119108", icd10_code="M93.27", laterality="right"))
    db.add(Condition(patient_id=alice.id, code="lateral_ankle_sprain", display="Lateral ankle sprain",
                     snomed_code="44465007", icd10_code="S93.4", laterality="left"))
    db.add(Procedure(patient_id=alice.id, code="open_excision", display="Open os trigonum excision",
                     performed_at=t0 + timedelta(days=30), performer_id=surgeon.id, location_id=location.id))
    schedule = Schedule(practitioner_id=surgeon.id, location_id=location.id)
    db.add(schedule)
    db.flush()
    db.add(Slot(schedule_id=schedule.id, start=t0 + timedelta(days=60), end=t0 + timedelta(days=60, minutes=20),
                status="free", service_type="follow_up"))
    clinician = make_account(db, org, "clinician", practitioner=surgeon)
    patient_account = make_account(db, org, "patient", patient=alice)
    other_org = make_org(db, "Elsewhere")
    stranger = make_account(db, other_org, "clinician")
    db.commit()
    return {"org": org, "surgeon": surgeon, "location": location, "alice": alice, "bob": c.bob, "visit": c.visit,
            "schedule": schedule, "clinician": clinician, "patient": patient_account, "stranger": stranger}


def _outcome(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == code
    assert r4b_errors([body]) == []
    return body


def test_a_patient_sees_only_their_own_compartment_and_denials_are_audited(client, db):
    c = _clinic(db)
    login(client, c["patient"].email)
    bundle = client.get("/api/fhir/Observation").json()
    assert bundle["total"] == 7
    assert {e["resource"]["subject"]["reference"] for e in bundle["entry"]} == {f"Patient/{c['alice'].id}"}
    assert client.get("/api/fhir/Patient").json()["total"] == 1
    bob_obs = db.scalar(select(Observation.id).where(Observation.patient_id == c["bob"].id))
    _outcome(client.get(f"/api/fhir/Observation/{bob_obs}"), 404, "not-found")
    _outcome(client.get(f"/api/fhir/Patient/{c['bob'].id}/$everything"), 404, "not-found")
    denials = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4")).all()
    assert {d.entity_type for d in denials} == {"Observation", "Patient"}
    # the clinic's directory is visible so references resolve
    assert client.get(f"/api/fhir/Practitioner/{c['surgeon'].id}").status_code == 200


def test_staff_see_their_organisation_only_and_reads_are_audited(client, db):
    c = _clinic(db)
    login(client, c["stranger"].email)
    assert client.get("/api/fhir/Patient").json()["total"] == 0
    _outcome(client.get(f"/api/fhir/Patient/{c['alice'].id}"), 404, "not-found")
    _outcome(client.get(f"/api/fhir/Practitioner/{c['surgeon'].id}"), 404, "not-found")
    client.post("/api/auth/logout")
    client.cookies.clear()
    login(client, c["clinician"].email)
    assert client.get("/api/fhir/Patient").json()["total"] == 2
    assert client.get(f"/api/fhir/Patient/{c['alice'].id}").status_code == 200
    events = db.scalars(select(AuditEvent).where(AuditEvent.user_email == c["clinician"].email,
                                                 AuditEvent.action == "R")).all()
    assert {e.patient_id for e in events} == {c["alice"].id, c["bob"].id}


def test_errors_are_operation_outcomes(client, db):
    c = _clinic(db)
    _outcome(client.get("/api/fhir/Patient"), 401, "login")
    login(client, c["clinician"].email)
    body = _outcome(client.get("/api/fhir/Patient", params={"shoe-size": "9"}), 400, "invalid")
    assert body["issue"][0]["expression"] == ["shoe-size"]
    _outcome(client.get("/api/fhir/Observation", params={"date": "yesterday"}), 400, "invalid")
    _outcome(client.get("/api/fhir/Observation", params={"patient": "Practitioner/" + str(uuid.uuid4())}),
             400, "invalid")
    _outcome(client.get("/api/fhir/Observation", params={"_include": "Observation:nonsense"}), 400, "invalid")
    _outcome(client.get("/api/fhir/Observation/not-an-id"), 404, "not-found")
    _outcome(client.get(f"/api/fhir/Observation/{uuid.uuid4()}"), 404, "not-found")
    _outcome(client.get("/api/fhir/Medication"), 404, "not-found")
    _outcome(client.get("/api/fhir/Patient", params={"_format": "xml"}), 406, "not-supported")
    _outcome(client.get("/api/fhir/Patient", headers={"Accept": "application/fhir+xml"}), 406, "not-supported")
    assert client.get("/api/fhir/Patient", params={"_format": "json"}).status_code == 200
    assert client.get("/api/fhir/Patient", headers={"Accept": "application/fhir+json"}).status_code == 200


def test_search_pages_with_total_and_links_and_includes(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    first = client.get("/api/fhir/Observation", params={"patient": str(c["alice"].id), "_count": 3}).json()
    assert first["total"] == 7 and len(first["entry"]) == 3
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["next"].startswith("http://testserver/api/fhir/Observation?")
    seen = [e["resource"]["id"] for e in first["entry"]]
    url = links["next"]
    while url:
        page = client.get(url).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 7
    # newest first; date prefixes
    assert client.get("/api/fhir/Observation", params={"date": "ge2026-03-05"}).json()["total"] == 3
    assert client.get("/api/fhir/Observation", params={"date": ["ge2026-03-02", "lt2026-03-04"]}).json()["total"] == 2
    assert client.get("/api/fhir/Observation", params={"date": "2026-03"}).json()["total"] == 8
    inc = client.get("/api/fhir/Observation", params={"patient": str(c["alice"].id), "_count": 2,
                                                      "_include": ["Observation:performer", "Observation:encounter"]})
    included = [e["resource"]["resourceType"] for e in inc.json()["entry"] if e["search"]["mode"] == "include"]
    assert sorted(included) == ["Encounter", "Practitioner"]
    # parameters the demo clinic does not populate
    assert client.get("/api/fhir/Observation", params={"encounter": f"Encounter/{c['visit'].id}"}).json()["total"] == 7
    slots = client.get("/api/fhir/Slot", params={"schedule": str(c["schedule"].id), "status": "free",
                                                 "start": "ge2026-04-01", "_include": "Slot:schedule"}).json()
    assert slots["total"] == 1 and slots["entry"][1]["resource"]["resourceType"] == "Schedule"
    slot_id = slots["entry"][0]["resource"]["id"]
    assert client.get(f"/api/fhir/Slot/{slot_id}").json()["status"] == "free"


def test_read_has_version_etag_and_answers_304(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    r = client.get(f"/api/fhir/Patient/{c['alice'].id}")
    version = r.json()["meta"]["versionId"]
    assert r.headers["etag"] == f'W/"{version}"' and r.json()["meta"]["lastUpdated"]
    assert client.get(f"/api/fhir/Patient/{c['alice'].id}", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    c["alice"].phone = "+44 113 496 0000"
    db.commit()
    again = client.get(f"/api/fhir/Patient/{c['alice'].id}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 200 and int(again.json()["meta"]["versionId"]) > int(version)


def test_codes_loinc_ucum_displays_and_proxies_marked(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    pain = client.get("/api/fhir/Observation", params={"code": "http://loinc.org|72514-3", "_count": 1}).json()
    assert pain["total"] == 7
    obs = pain["entry"][0]["resource"]
    loinc = obs["code"]["coding"][0]
    assert (loinc["system"], loinc["code"]) == ("http://loinc.org", "72514-3") and loinc["display"]
    assert obs["valueQuantity"]["system"] == "http://unitsofmeasure.org" and obs["valueQuantity"]["code"] == "{score}"
    assert obs["text"]["status"] == "generated" and "Pain" in obs["text"]["div"]
    conditions = {e["resource"]["code"]["text"]: e["resource"] for e in client.get("/api/fhir/Condition").json()["entry"]}
    snomed = {k: next(x for x in v["code"]["coding"] if x["system"] == "http://snomed.info/sct")
              for k, v in conditions.items()}
    assert snomed["Osteochondral lesion"]["extension"][0]["valueCode"] == "wider"  # a proxy concept
    assert snomed["Lateral ankle sprain"]["extension"][0]["valueCode"] == "equivalent"  # verified (V)
    assert client.get("/api/fhir/Condition", params={"code": "http://snomed.info/sct|44465007"}).json()["total"] == 1
    procedure = client.get("/api/fhir/Procedure").json()["entry"][0]["resource"]
    cpt = next(x for x in procedure["code"]["coding"] if x["system"] == "http://www.ama-assn.org/go/cpt")
    assert cpt["code"] == "28120" and cpt["display"]
    assert client.get("/api/fhir/Procedure", params={"code": "http://www.ama-assn.org/go/cpt|28120"}).json()["total"] == 1


def test_everything_is_a_searchset_with_no_dangling_references(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    r = client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything")
    bundle = r.json()
    assert bundle["type"] == "searchset" and bundle["total"] == len(bundle["entry"])
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert {f"Practitioner/{c['surgeon'].id}", f"Location/{c['location'].id}", f"Organization/{c['org'].id}"} <= present
    refs = _refs(bundle)
    assert refs and refs <= present
    assert all(e["fullUrl"].startswith("http://testserver/api/fhir/") for e in bundle["entry"])
    assert not any(f"Patient/{c['bob'].id}" in x for x in refs)
    assert r4b_errors([bundle]) == [] and medplum_errors([bundle]) == []
    # _type, _count with paging, _since
    only = client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything", params={"_type": "Observation"}).json()
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Observation"} and only["total"] == 7
    page = client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything", params={"_count": 4}).json()
    assert len(page["entry"]) == 4 and page["total"] == bundle["total"]
    ids = [e["fullUrl"] for e in page["entry"]]
    url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    while url:
        p = client.get(url).json()
        ids += [e["fullUrl"] for e in p["entry"]]
        url = next((link["url"] for link in p["link"] if link["relation"] == "next"), None)
    assert sorted(ids) == sorted(e["fullUrl"] for e in bundle["entry"])
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    since = client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything", params={"_since": future}).json()
    assert [e["resource"]["resourceType"] for e in since["entry"]] == ["Patient", "Organization"]
    _outcome(client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything", params={"_type": "Spaceship"}),
             400, "invalid")


def _refs(resource) -> set[str]:  # type: ignore[no-untyped-def]
    out: set[str] = set()
    if isinstance(resource, dict):
        if isinstance(resource.get("reference"), str):
            out.add(resource["reference"])
        for v in resource.values():
            out |= _refs(v)
    elif isinstance(resource, list):
        for v in resource:
            out |= _refs(v)
    return out


def test_everything_keeps_birth_date_of_a_day_column_searchable(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    assert client.get("/api/fhir/Patient", params={"birthdate": "2000-01-01"}).json()["total"] == 2
    assert client.get("/api/fhir/Patient", params={"birthdate": "lt2000-01-01"}).json()["total"] == 0
    assert client.get("/api/fhir/Patient", params={"name": "ali"}).json()["total"] == 1
    assert client.get("/api/fhir/Patient", params={"birthdate": date(2000, 1, 1).isoformat()[:4]}).json()["total"] == 2


def test_patient_name_searches_match_the_start_of_a_name_part_only(client, db):
    c = _clinic(db)
    make_patient(db, c["org"], "Mary Ann", "O'Neil-Smith", sport="running")
    make_patient(db, c["org"], "Zoë", "Le_Roux")
    db.commit()
    login(client, c["clinician"].email)

    def names(**params: str) -> set[str]:
        bundle = client.get("/api/fhir/Patient", params=params).json()
        assert bundle["total"] == len(bundle["entry"])
        return {e["resource"]["name"][0]["family"] for e in bundle["entry"]}

    assert names(name="A") == {"Able"} and names(name="b") == {"Baker"}  # Alice Able, Bob Baker
    assert names(family="ab") == {"Able"} and names(given="ab") == set()
    assert names(name="mary ann") == {"O'Neil-Smith"} and names(family="o'neil-s") == {"O'Neil-Smith"}
    assert names(name="eil") == set() and names(name="lice") == set()  # not the middle of a name
    assert names(name="run") == set() and names(name="example") == set()  # nor the sport or the email
    assert names(name="ZOË") == {"Le_Roux"} and names(family="le_") == {"Le_Roux"} and names(family="le%") == set()
    assert names(name="zz,bak") == {"Baker"}
    assert names(given="bob", family="baker") == {"Baker"} and names(given="bob", family="able") == set()


def test_the_total_is_counted_up_to_a_cap_and_left_out_beyond(client, db, monkeypatch):
    from hindfoot.fhir import rest

    c = _clinic(db)
    login(client, c["clinician"].email)
    query = {"patient": str(c["alice"].id), "_count": 3}  # alice has 7 observations
    monkeypatch.setattr(rest, "COUNT_CAP", 7)
    assert client.get("/api/fhir/Observation", params=query).json()["total"] == 7
    monkeypatch.setattr(rest, "COUNT_CAP", 6)
    capped = client.get("/api/fhir/Observation", params=query).json()
    links = {link["relation"]: link["url"] for link in capped["link"]}
    assert "total" not in capped and len(capped["entry"]) == 3 and "last" not in links
    seen = [e["resource"]["id"] for e in capped["entry"]]
    url: str | None = links["next"]
    while url:  # the pages still walk every match, each page saying whether another follows
        page = client.get(url).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 7
    assert client.get("/api/fhir/Observation", params={**query, "_total": "accurate"}).json()["total"] == 7
    assert client.get("/api/fhir/Observation", params={**query, "_total": "estimate"}).json().get("total") is None
    small = client.get("/api/fhir/Observation", params={"patient": str(c["bob"].id), "_total": "none"}).json()
    assert "total" not in small and len(small["entry"]) == 1
    body = _outcome(client.get("/api/fhir/Observation", params={**query, "_total": "exact"}), 400, "invalid")
    assert "_total" in body["issue"][0]["diagnostics"]


def test_patient_demographics_are_mapped_and_validate(client, db):
    c = _clinic(db)
    alice = c["alice"]
    alice.phone, alice.address, alice.gp_practice = "+44 113 496 0000", "1 Heel Street, Leeds LS1 1AA", "Leeds GP"
    alice.emergency_contact, alice.emergency_phone, alice.preferred_contact = "Bob Able (brother)", "+44 7700 900000", "phone"
    db.commit()
    login(client, c["clinician"].email)
    patient = client.get(f"/api/fhir/Patient/{alice.id}").json()
    assert patient["address"] == [{"text": "1 Heel Street, Leeds LS1 1AA"}]
    assert patient["generalPractitioner"] == [{"display": "Leeds GP"}]
    assert patient["contact"][0]["name"]["text"] == "Bob Able (brother)"
    assert next(t for t in patient["telecom"] if t["system"] == "phone")["rank"] == 1
    assert r4b_errors([patient]) == [] and medplum_errors([patient]) == []


def test_everything_asks_the_same_number_of_statements_however_big_the_record(client, db, engine):
    """One round trip per type (per related collection), never one per resource (no N+1)."""
    from sqlalchemy import event


    c = _clinic(db)
    login(client, c["clinician"].email)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def asked() -> int:
        statements.clear()
        assert client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything").status_code == 200
        return len(statements)

    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything")  # warm: sessions, caches
        small = asked()
        t0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
        for i in range(3):
            visit = Encounter(patient_id=c["alice"].id, practitioner_id=c["surgeon"].id,
                              location_id=c["location"].id, type="follow_up", start=t0 + timedelta(days=7 * i))
            db.add(visit)
            db.flush()
            db.add(Observation(patient_id=c["alice"].id, category="score", code="pain.nrs", value_quantity=2.0,
                               value_unit="/10", effective_at=visit.start, encounter_id=visit.id))
            plan = CarePlan(patient_id=c["alice"].id, title=f"Rehab {i}", kind="recovery",
                            period_start=date(2026, 4, 1), author_id=c["surgeon"].id)
            db.add(plan)
            db.flush()
            db.add_all([CarePlanActivity(care_plan_id=plan.id, position=k, code=f"step{k}", title=f"Step {k}")
                        for k in range(4)])
        db.commit()
        big = asked()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    bundle = client.get(f"/api/fhir/Patient/{c['alice'].id}/$everything").json()
    plans = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    assert len(plans) == 3 and all(len(p["activity"]) == 4 for p in plans)
    assert big == small, (small, big)
