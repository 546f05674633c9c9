"""Patients' data rights (GDPR articles 15-18, 20): a patient downloads the whole record (FHIR Bundle,
readable summary, PDF) and asks for a correction, erasure or restriction; an admin of their clinic
accepts or refuses with a reason; erasure anonymises the identity and keeps the clinical record and
the audit trail; restriction keeps the record out of the registry. Everything is audited, and
another clinic's staff never see a request."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from factories import PASSWORD, login, make_account, make_org, make_patient, make_practitioner
from fastapi.testclient import TestClient
from outcome_helpers import actor_for, add_scores, add_surgery, episode_of
from sqlalchemy import func, select

from hindfoot.audit.service import verify_chain
from hindfoot.db.models import (
    Appointment,
    AuditEvent,
    DataRequest,
    EpisodeOfCare,
    Location,
    Observation,
    Patient,
    Procedure,
    UserAccount,
    UserSession,
)
from hindfoot.errors import Conflict
from hindfoot.outcomes import analytics
from hindfoot.patients import rights


def _clinic(db, tag: str):  # type: ignore[no-untyped-def]
    org = make_org(db, f"{tag} Clinic")
    surgeon = make_practitioner(db, org, family=f"{tag}cutter")
    admin = make_account(db, org, "admin", email=f"admin@{tag.lower()}.test")
    doc = make_account(db, org, "clinician", practitioner=surgeon, email=f"doc@{tag.lower()}.test")
    patient = make_patient(db, org, given="Zelda", family=f"{tag}hart")
    patient.phone, patient.address, patient.gp_practice = "07700 900123", "1 Quay Street", "Harbour Surgery"
    account = make_account(db, org, "patient", patient=patient, email=f"zelda@{tag.lower()}.test")
    episode = episode_of(db, patient)
    add_surgery(db, episode, date(2026, 3, 1), surgeon_id=surgeon.id)
    add_scores(db, episode, "baseline", date(2026, 2, 20), {"faos.pain": 40})
    location = Location(organization_id=org.id, name=f"{tag} Studio", address_line="1 Row", city="London",
                        postcode="W1 1AA")
    db.add(location)
    db.flush()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    db.add(Appointment(patient_id=patient.id, practitioner_id=surgeon.id, location_id=location.id,
                       service_type="follow_up", start=start, end=start + timedelta(minutes=20)))
    db.flush()
    return org, admin, doc, patient, account


def _client(app, email: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app)
    login(c, email)
    return c


def test_a_patient_downloads_the_whole_record_as_fhir_html_and_pdf(app, db):
    _, _, doc, patient, account = _clinic(db, "Quokka")
    db.commit()
    staff = _client(app, doc.email)
    assert staff.get(f"/api/patients/{patient.id}").status_code == 200  # a read the patient will see listed
    c = _client(app, account.email)
    page = c.get("/me/data")
    assert page.status_code == 200 and "Download my record" in page.text and "no-store" in page.headers["cache-control"]
    bundle = c.get("/me/data/record.json")
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/fhir+json"
    assert "attachment" in bundle.headers["content-disposition"]
    kinds = {e["resource"]["resourceType"] for e in bundle.json()["entry"]}
    assert {"Patient", "EpisodeOfCare", "Procedure", "Observation", "QuestionnaireResponse"} <= kinds
    summary = c.get("/me/data/summary")
    assert summary.status_code == 200
    for text in ("Zelda Quokkahart", "Harbour Surgery", "Who opened or changed your record", "clinician"):
        assert text in summary.text, text
    pdf = c.get("/me/data/summary.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 2000
    db.expire_all()
    reads = db.scalars(select(AuditEvent.description).where(AuditEvent.patient_id == patient.id,
                                                            AuditEvent.user_id == account.id)).all()
    assert any("$everything" in d for d in reads) and sum("full record viewed" in d for d in reads) == 2
    # staff have no "my data" page; the pages need a sign-in
    assert staff.get("/me/data").status_code == 403
    assert TestClient(app).get("/me/data/record.json", follow_redirects=False).status_code in (303, 401)


def test_erasure_accepted_anonymises_the_identity_and_keeps_the_clinical_record(app, db):
    org, admin, doc, patient, account = _clinic(db, "Quokka")
    _, other_admin, _, _, _ = _clinic(db, "Wombat")
    db.commit()
    pid, aid = patient.id, account.id
    p = _client(app, account.email)
    r = p.post("/api/data-requests", json={"kind": "erasure", "details": "I moved abroad"})
    assert r.status_code == 201 and r.json()["status"] == "open"
    rid = r.json()["id"]
    assert p.post("/api/data-requests", json={"kind": "erasure"}).json()["field"] == "kind"  # one open at a time

    # another clinic's admin neither sees nor decides it; a clinician cannot handle the queue
    other = _client(app, other_admin.email)
    assert rid not in other.get("/api/data-requests").text
    assert other.get(f"/api/data-requests/{rid}").status_code == 404
    assert other.post(f"/api/data-requests/{rid}/decision", json={"decision": "accept"}).status_code == 404
    assert _client(app, doc.email).get("/api/data-requests").status_code == 403

    a = _client(app, admin.email)
    queue = a.get("/api/data-requests", params={"status": "open"}).json()["items"]
    assert [(q["id"], q["patient_name"]) for q in queue] == [(rid, "Zelda Quokkahart")]
    refused = a.post(f"/api/data-requests/{rid}/decision", json={"decision": "refuse"})
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    ok = a.post(f"/api/data-requests/{rid}/decision", json={"decision": "accept"})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert "Erased:" in ok.json()["answer"] and "Kept:" in ok.json()["answer"]
    assert a.post(f"/api/data-requests/{rid}/decision", json={"decision": "refuse", "reason": "x"}).status_code == 409

    # the patient is signed out everywhere and cannot sign in again, by the old email or any other
    assert p.get("/api/me").status_code == 401
    assert TestClient(app).post("/api/auth/login", json={"email": account.email, "password": PASSWORD}).status_code == 401
    db.expire_all()
    erased = db.get(Patient, pid)
    assert (erased.given_name, erased.family_name) == ("Erased", "patient") and erased.erased_at is not None
    assert (erased.email, erased.phone, erased.address, erased.gp_practice) == (None, None, None, None)
    assert "quokkahart" not in erased.search_text and "zelda" not in erased.search_text
    login_row = db.get(UserAccount, aid)
    assert not login_row.active and login_row.email.endswith("@erased.invalid")
    assert db.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == aid)) == 0
    # the name is gone from the clinic's search; the clinical record and the trail stay
    assert a.get("/api/patients", params={"q": "Quokkahart"}).json()["total"] == 0
    assert a.get("/api/patients", params={"q": "Zelda"}).json()["total"] == 0
    for model in (EpisodeOfCare, Procedure, Observation):
        assert db.scalar(select(func.count()).select_from(model).where(model.patient_id == pid)) > 0, model
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.patient_id == pid)) > 3
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.description.contains("identity erased"))) is not None
    assert db.scalar(select(DataRequest.status).where(DataRequest.patient_id == pid)) == "accepted"
    assert verify_chain(db)[1] is None  # erasure never edits the audit trail
    # the future appointment is cancelled (and kept); no notice goes to the erased address
    assert db.scalar(select(Appointment.status).where(Appointment.patient_id == pid)) == "cancelled"
    record = a.get(f"/patients/{pid}")
    assert "Identity erased" in record.text and "Zelda" not in record.text


def test_a_refused_correction_shows_its_reason_and_is_emailed(mail_client, db):
    _, admin, _, patient, account = _clinic(db, "Quokka")
    db.commit()
    client, inbox = mail_client
    login(client, account.email)
    missing = client.post("/api/data-requests", json={"kind": "correction", "details": "  "})
    assert missing.status_code == 422 and missing.json()["field"] == "details"
    bad = client.post("/api/data-requests", json={"kind": "deletion"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    rid = client.post("/api/data-requests", json={"kind": "correction",
                                                  "details": "My sport is tennis, not ballet"}).json()["id"]
    client.post("/api/auth/logout")
    login(client, admin.email)
    r = client.post(f"/api/data-requests/{rid}/decision",
                    json={"decision": "refuse", "reason": "Your physio recorded ballet on 3 March; please call us."})
    assert r.status_code == 200 and r.json()["status"] == "refused"
    client.post("/api/auth/logout")
    login(client, account.email)
    mine = client.get(f"/api/data-requests/{rid}").json()
    assert mine["status"] == "refused" and "recorded ballet" in mine["answer"]
    page = client.get("/me/data")
    assert "refused" in page.text and "recorded ballet" in page.text
    mail = next(m for m in inbox if m["To"] == patient.email)  # the contact email on the record
    assert "refused" in mail["Subject"] and "recorded ballet" in mail.get_content()
    db.expire_all()
    assert {d for (d,) in db.execute(select(AuditEvent.description).where(AuditEvent.entity_type == "DataRequest"))} \
        >= {"data-rights request: correction", "data-rights request refused: correction"}


def test_a_restricted_record_is_left_out_of_the_registry_and_marked_for_staff(app, db):
    org, admin, doc, patient, account = _clinic(db, "Quokka")
    other = make_patient(db, org, given="Otto", family="Other")
    add_scores(db, episode_of(db, other), "baseline", date(2026, 2, 21), {"faos.pain": 50})
    db.commit()
    before = analytics.dashboard(db, actor_for(doc), analytics.Filters(), today=date(2026, 6, 1))
    db.rollback()  # (the dashboard's audit entry: not kept, so the app can write)
    p = _client(app, account.email)
    rid = p.post("/api/data-requests", json={"kind": "restriction"}).json()["id"]
    a = _client(app, admin.email)
    page = a.get("/admin/data-requests")
    assert "Restrict the use of my data: Zelda Quokkahart" in page.text
    r = a.post(f"/admin/data-requests/{rid}", data={"decision": "accept", "reason": "",
                                                   "csrf_token": a.headers["X-CSRF-Token"]})
    assert r.status_code == 200 and "accepted and carried out" in r.text
    db.expire_all()
    after = analytics.dashboard(db, actor_for(doc), analytics.Filters(), today=date(2026, 6, 1))
    assert (before.patients, after.patients) == (2, 1)
    assert analytics.export_csv(db, actor_for(doc), analytics.Filters(), min_group=1).rows == 1
    db.rollback()
    record = a.get(f"/patients/{patient.id}").text
    assert "Processing restricted" in record and "Lift the restriction" in record
    assert "restricted" in a.get("/patients", params={"q": "Quokkahart"}).text
    assert db.get(Patient, patient.id).restricted_at is not None
    db.rollback()
    # an admin lifts it, with a reason the patient is told (art. 18(3)); another clinic's admin cannot
    _, other_admin, _, _, _ = _clinic(db, "Wombat")
    db.commit()
    lift = f"/api/patients/{patient.id}/restriction/lift"
    assert _client(app, other_admin.email).post(lift, json={"reason": "x"}).status_code == 404
    assert a.post(lift, json={"reason": " "}).json()["field"] == "reason"
    assert a.post(lift, json={"reason": "You withdrew the restriction by phone on 2 June."}).status_code == 204
    assert a.post(lift, json={"reason": "again"}).status_code == 409
    db.expire_all()
    assert db.get(Patient, patient.id).restricted_at is None
    assert analytics.dashboard(db, actor_for(doc), analytics.Filters(), today=date(2026, 6, 1)).patients == 2
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.description.contains("restriction lifted"))) is not None
    db.rollback()


def test_two_admins_deciding_at_once_make_one_decision(db, session_factory, settings):
    """The claim is one conditional UPDATE: of two admins pressing at the same moment, one decides and
    the other is told it is already decided (409), on both databases."""
    org, admin, _, _, account = _clinic(db, "Quokka")
    second = make_account(db, org, "admin", email="admin2@quokka.test")
    rid = rights.create_request(db, actor_for(account), "erasure", "").id
    db.commit()
    barrier = threading.Barrier(2)

    def decide(who: UserAccount, decision: str) -> str:
        with session_factory() as s:
            barrier.wait()
            try:
                rights.decide(s, actor_for(who), settings, rid, decision, "done" if decision == "accept" else "no")
                s.commit()
                return decision
            except Conflict:
                s.rollback()
                return "conflict"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(decide, (admin, second), ("accept", "refuse")))
    assert outcomes in (["accept", "conflict"], ["conflict", "refuse"]), outcomes
    db.expire_all()
    request = db.get(DataRequest, rid)
    assert request.status == ("accepted" if "accept" in outcomes else "refused")
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "DataRequest", AuditEvent.description.startswith("data-rights request accepted")
        | AuditEvent.description.startswith("data-rights request refused"))) == 1


def test_the_request_form_names_the_field_and_needs_its_csrf_token(app, db):
    _, _, _, _, account = _clinic(db, "Quokka")
    db.commit()
    c = _client(app, account.email)
    token = c.headers["X-CSRF-Token"]
    del c.headers["X-CSRF-Token"]
    assert c.post("/me/data/requests", data={"kind": "erasure"}).status_code == 403  # no CSRF token
    r = c.post("/me/data/requests", data={"kind": "", "details": "please", "csrf_token": token})
    assert r.status_code == 422 and 'href="#r-kind"' in r.text and "please" in r.text  # named, and kept
    r = c.post("/me/data/requests", data={"kind": "correction", "details": "", "csrf_token": token})
    assert r.status_code == 422 and 'href="#r-details"' in r.text
    ok = c.post("/me/data/requests", data={"kind": "restriction", "details": "", "csrf_token": token},
                follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/me/data?sent=1"
    assert "Restrict the use of my data" in c.get("/me/data").text
