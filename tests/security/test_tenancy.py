"""Two clinics in one database: nobody reads the other clinic's data on any list, search or record route.

Each clinic has an admin, a clinician, a receptionist, a manager and a patient (with an account), another patient, a location, a
surgeon with a rota, an appointment, a registry episode with scores, and audit events from their own
use. Every GET route of the app is visited by each of the ten accounts and by an anonymous visitor;
no answer may carry the other clinic's name, people or ids. Routes that take an id are visited with
the OTHER clinic's patient, episode and appointment ids. A new GET route fails the test until it is
classified below, so the matrix stays complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from urllib.parse import quote

import pytest
from booking_helpers import at
from factories import PASSWORD, make_account, make_org, make_patient, make_practitioner
from fastapi.testclient import TestClient
from outcome_helpers import add_scores, add_surgery, episode_of
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import AvailabilityRule, Location, Schedule
from hindfoot.patients import rights as data_rights
from hindfoot.scheduling import booking as scheduling_booking

TAGS = ("Quokka", "Wombat")  # words no page would contain by chance

# Query strings for routes that need one.
PARAMS = {
    "/api/slots": {"service": "new_consultation", "days": "30"},
    "/book": {"service": "new_consultation"},
    "/api/patients": {"q": ""},
}
# GET routes with an id the matrix does not visit, and why.
NOT_VISITED = {
    "/api/care-plans/{plan_id}": "care plans: per-object policy, tests/recovery",
    "/api/care-plans/{plan_id}/calendar.ics": "care plans: per-object policy, tests/recovery",
    "/care-plans/{plan_id}": "care plans: per-object policy, tests/recovery",
    "/care-plans/{plan_id}/calendar.ics": "care plans: per-object policy, tests/recovery",
    "/api/questionnaire-responses/{response_id}": "responses: per-object policy, tests/outcomes",
    "/questionnaires/{response_id}/section/{n}": "responses: per-object policy, tests/outcomes",
    "/api/interviews/{interview_id}": "anonymous symptom checks hold no identity",
    "/api/interviews/{interview_id}/result": "anonymous symptom checks hold no identity",
    # FHIR reads of the types the matrix holds no ids for (Patient, EpisodeOfCare, Appointment and
    # $everything are visited): the same registry scopes as the searches, tests/fhir/test_rest.py
    **{f"/api/fhir/{kind}/{{ident}}": "FHIR read: registry scope, tests/fhir" for kind in (
        "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "Condition", "Observation",
        "Procedure", "ImagingStudy", "DiagnosticReport", "CarePlan", "Slot", "Schedule", "Questionnaire",
        "QuestionnaireResponse")},
    "/conditions/{slug}": "public knowledge-base pages: no clinic data",
    # Bulk Data: a job and its files answer only the client that started it; the group is the clinic
    "/api/fhir/$export-status/{job_id}": "bulk export: the starting client only, tests/fhir/test_bulk.py",
    "/api/fhir/$export-file/{file_id}": "bulk export: the starting client only, tests/fhir/test_bulk.py",
    "/api/fhir/Group/{group_id}/$export": "bulk export: only one's own clinic, tests/fhir/test_bulk.py",
    "/waitlist/offers/{token}": "an emailed offer's secret link: tests/scheduling/test_waitlist.py, tests/web/test_waitlist_pages.py",
    "/patients/{patient_id}/documents/{document_id}": "documents: the record's policy, tests/fhir/test_write.py",
}
# FHIR reads by resource type: the other clinic's row of that type, where the matrix makes one.
FHIR_IDS = {"Patient": "patient_id", "EpisodeOfCare": "episode_id", "Appointment": "appointment_id",
            "Organization": "org", "Practitioner": "surgeon", "Location": "location"}
for _type in ("CarePlan", "Condition", "DiagnosticReport", "DocumentReference", "Encounter", "ImagingStudy", "Observation",
              "PractitionerRole", "Procedure", "Questionnaire", "QuestionnaireResponse", "Schedule", "Slot"):
    NOT_VISITED[f"/api/fhir/{_type}/{{ident}}"] = "FHIR read: the same per-object policy as the record, tests/fhir"


@dataclass
class World:
    org_id: object
    tag: str
    emails: dict[str, str]
    ids: dict[str, str]


def _clinic(db: Session, tag: str) -> World:
    low = tag.lower()
    org = make_org(db, f"{tag} Ankle Clinic")
    loc = Location(organization_id=org.id, name=f"{tag} Studio", address_line=f"1 {tag} Row", city="London",
                   postcode="W1 1AA")
    db.add(loc)
    db.flush()
    surgeon = make_practitioner(db, org, "surgeon", family=f"{tag}surgeon")
    sched = Schedule(practitioner_id=surgeon.id, location_id=loc.id)
    db.add(sched)
    db.flush()
    for wd in range(7):
        db.add(AvailabilityRule(schedule_id=sched.id, weekday=wd, start_time=time(9), end_time=time(17), services=[]))
    admin = make_account(db, org, "admin", email=f"admin@{low}.test")
    admin.display_name = f"{tag} Admin"
    clinician = make_account(db, org, "clinician", practitioner=surgeon, email=f"doc@{low}.test")
    patient = make_patient(db, org, given=f"{tag}ina", family=f"{tag}son")
    patient.email = f"pat@{low}.test"
    patient_account = make_account(db, org, "patient", patient=patient, email=f"pat@{low}.test")
    desk = make_practitioner(db, org, "receptionist", family=f"{tag}desk")
    make_account(db, org, "receptionist", practitioner=desk, email=f"desk@{low}.test")
    boss = make_practitioner(db, org, "manager", family=f"{tag}boss")
    make_account(db, org, "manager", practitioner=boss, email=f"boss@{low}.test")
    make_patient(db, org, given=f"{tag}o", family=f"{tag}berg")
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 3, 1), surgeon_id=surgeon.id)
    add_scores(db, episode, "baseline", date(2026, 2, 20), {"faos.pain": 40})
    # a data-rights request of the patient's, waiting in the clinic's queue (its details name the clinic)
    request = data_rights.create_request(db, Actor.from_account(patient_account), "correction",
                                         f"My sport is {tag} ball, not ballet")
    day = date.today() + timedelta(days=10)
    appt = scheduling_booking.book_appointment(
        db, Actor.from_account(clinician), service="new_consultation", practitioner_id=surgeon.id,
        location_id=loc.id, start=at(day, "10:00"), patient_id=patient.id, reason=f"{tag} heel")
    db.flush()
    return World(org.id, tag, {"admin": admin.email, "clinician": clinician.email, "patient": f"pat@{low}.test",
                                  "receptionist": f"desk@{low}.test", "manager": f"boss@{low}.test"},
                 {"patient_id": str(patient.id), "episode_id": str(episode.id), "appointment_id": str(appt.id),
                  "request_id": str(request.id),
                  "org": str(org.id), "surgeon": str(surgeon.id), "location": str(loc.id)})


def _signed_in(app, email: str | None) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    if email:
        r = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def _get_routes(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every GET path of the app, through included routers too (FastAPI 0.16x nests them)."""
    paths = set()
    for r in app.routes:
        contexts = r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else [r]
        paths |= {c.path for c in contexts if "GET" in (getattr(c, "methods", None) or ())}
    return sorted(p for p in paths if p.startswith("/") and p not in {"/api/openapi.json", "/api/docs",
                                                                      "/docs/oauth2-redirect", "/static"})


def _leaks(body: str, other: World) -> list[str]:
    found = [other.tag] if other.tag.lower() in body.lower() else []
    found += [f"{k}={v}" for k, v in other.ids.items() if v in body or v.replace("-", "") in body]
    found += [e for e in other.emails.values() if e in body]
    return found


def test_no_cross_clinic_read_on_any_get_route(app, db):
    worlds = [_clinic(db, tag) for tag in TAGS]
    db.commit()
    # routes with ids last: a refused attempt puts the id the attacker typed on their own clinic's trail
    routes = sorted(_get_routes(app), key=lambda p: ("{" in p, p))
    id_params = {"patient_id", "episode_id", "appointment_id", "request_id"}
    visited, cells, refused = [], 0, 0
    clients = {(w.tag, role): _signed_in(app, email) for w in worlds for role, email in w.emails.items()}
    # every account uses the app first, so both clinics' audit trails hold reads of their own patients
    for (tag, role), c in clients.items():
        me = next(w for w in worlds if w.tag == tag)
        if role in ("admin", "clinician"):
            assert c.get(f"/api/patients/{me.ids['patient_id']}").status_code == 200
        if role == "receptionist":
            assert c.get(f"/api/patients/{me.ids['patient_id']}/contact").status_code == 200
        assert c.get("/me").status_code in (200, 303)
    clients[("-", "anonymous")] = TestClient(app)
    for path in routes:
        names = set(re.findall(r"{(\w+)}", path))
        if names and path in NOT_VISITED:
            continue
        fhir_type = path.split("/")[3] if path.startswith("/api/fhir/") and "{ident}" in path else None
        if fhir_type:
            assert fhir_type in FHIR_IDS, f"classify {path}: add it to FHIR_IDS or to NOT_VISITED"
        else:
            assert not names or names <= id_params, f"classify {path}: add its ids to the matrix or to NOT_VISITED"
        visited.append(path)
        for (tag, role), c in clients.items():
            # an anonymous visitor meets the clinic this server runs (the first one set up): Quokka
            others = [w for w in worlds if w.tag != (tag if tag != "-" else TAGS[0])]
            for other in others:
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", other.ids[FHIR_IDS[fhir_type] if fhir_type else name])
                r = c.get(url, params=PARAMS.get(path), follow_redirects=False)
                cells += 1
                assert r.status_code < 500, (url, role, tag, r.status_code)
                # a sign-in redirect echoes the path asked for; that is the visitor's own input, not a read
                echoed = (r.text + r.headers.get("location", "")).replace(quote(url, safe=""), "").replace(url, "")
                if names and r.status_code >= 400:  # a refusal may name the id it was asked for (FHIR OperationOutcome)
                    for name in names:
                        typed = other.ids[FHIR_IDS[fhir_type] if fhir_type else name]
                        echoed = echoed.replace(typed, "").replace(typed.replace("-", ""), "")
                leaks = _leaks(echoed, other)
                assert not leaks, f"{role} of {tag} read {other.tag}'s data on GET {url}: {leaks}"
                if names:
                    assert r.status_code in (303, 401, 403, 404), (url, role, tag, r.status_code)
                    refused += 1
    for c in clients.values():
        c.close()
    # The matrix is what the closing note reports: routes x (6 accounts + anonymous) x the other clinic.
    print(f"tenancy matrix: {len(visited)} GET routes, {cells} cells ({refused} with the other clinic's ids), no leak")
    assert len(visited) >= 40 and cells >= 40 * 7


def test_each_admin_sees_only_their_own_clinics_audit_trail(app, db):
    quokka, wombat = (_clinic(db, tag) for tag in TAGS)
    db.commit()
    for me, other in ((quokka, wombat), (wombat, quokka)):
        doc = _signed_in(app, me.emails["clinician"])
        assert doc.get(f"/api/patients/{me.ids['patient_id']}").status_code == 200
        assert doc.get(f"/api/patients/{other.ids['patient_id']}").status_code == 404  # audited as a denial
        admin = _signed_in(app, me.emails["admin"])
        events = admin.get("/api/audit-events", params={"limit": 500}).json()
        assert events["total"] > 0
        assert {e["user_email"] for e in events["items"] if e["user_email"]} <= set(me.emails.values())
        assert any(e["patient_id"] == me.ids["patient_id"] for e in events["items"])
        # the denial is on the trail of the clinic whose clinician tried, with the id they typed; nothing else
        assert [e["outcome_label"] for e in events["items"] if e["patient_id"] == other.ids["patient_id"]] == ["denied"]
        other_ids = {k: v for k, v in other.ids.items() if k != "patient_id"}
        assert not _leaks(str(events), World(other.org_id, other.tag, other.emails, other_ids))
        page = admin.get("/admin/audit")
        assert page.status_code == 200 and me.emails["clinician"] in page.text
        assert not _leaks(page.text, World(other.org_id, other.tag, other.emails, other_ids))
        # asking by the other clinic's patient finds only this clinic's own refused attempt, not their reads
        by_patient = admin.get("/api/audit-events", params={"patient_id": other.ids["patient_id"]}).json()["items"]
        assert [(e["user_email"], e["outcome_label"]) for e in by_patient] == [(me.emails["clinician"], "denied")]


def test_each_clinic_sees_only_its_own_registry(app, db):
    quokka, wombat = (_clinic(db, tag) for tag in TAGS)
    # a second registry episode in Wombat only, so the counts differ
    extra = make_patient(db, _org(db, wombat), given="Wombatix", family="Wombatfield")
    add_surgery(db, episode_of(db, extra), date(2026, 3, 5))
    db.commit()
    counts = {}
    for w in (quokka, wombat):
        admin = _signed_in(app, w.emails["admin"])
        r = admin.get("/api/outcomes/dashboard")
        assert r.status_code == 200
        counts[w.tag] = r.json()["episodes"]
        assert not _leaks(r.text, quokka if w is wombat else wombat)
    assert counts["Quokka"] >= 1 and counts["Wombat"] == counts["Quokka"] + 1


def _org(db: Session, w: World):  # type: ignore[no-untyped-def]
    from hindfoot.db.models import Organization

    return db.get(Organization, w.org_id)


@pytest.mark.parametrize("path", ["/api/locations", "/api/practitioners", "/api/services"])
def test_public_clinic_lists_show_the_signed_in_users_own_clinic(app, db, path):
    quokka, wombat = (_clinic(db, tag) for tag in TAGS)
    db.commit()
    for me, other in ((quokka, wombat), (wombat, quokka)):
        r = _signed_in(app, me.emails["patient"]).get(path)
        assert r.status_code == 200 and r.json()
        assert not _leaks(r.text, other)
