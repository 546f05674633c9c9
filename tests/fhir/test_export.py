"""FHIR export: the demo record as an R4 searchset Bundle that validates; authorised and audited."""

from __future__ import annotations

from datetime import date

from demo_copy import demo_clinic
from factories import login, make_account, make_org, make_patient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Patient, UserAccount
from hindfoot.demo import DEMO_PASSWORD


def test_capability_statement_declares_r4(client):
    statement = client.get("/api/fhir/metadata").json()
    assert statement["fhirVersion"] == "4.0.1"


def test_demo_patient_exports_as_a_valid_bundle(client, db):
    demo_clinic(db, date(2026, 11, 20))
    db.commit()
    account = db.scalar(select(UserAccount).where(UserAccount.email == "patient@demo.hindfoot.local"))
    client.post("/api/auth/login", json={"email": account.email, "password": DEMO_PASSWORD})
    r = client.get(f"/api/fhir/Patient/{account.patient_id}/$everything")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(r.json())
    kinds = {e.resource.__resource_type__ for e in bundle.entry}
    assert {"Patient", "EpisodeOfCare", "Encounter", "Condition", "Procedure", "Observation"} <= kinds
    condition = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "Condition")
    systems = {c.system for c in condition.code.coding}
    assert "http://snomed.info/sct" in systems
    assert db.scalar(select(AuditEvent).where(AuditEvent.entity_type == "Bundle")) is not None


def test_patient_cannot_export_another_patient(client, db):
    org = make_org(db)
    alice = make_patient(db, org, "Alice", "Able")
    bob = make_patient(db, org, "Bob", "Baker")
    make_account(db, org, "patient", patient=alice, email="alice@example.org")
    db.commit()
    login(client, "alice@example.org")
    assert client.get(f"/api/fhir/Patient/{bob.id}/$everything").status_code == 404
    assert client.get(f"/api/fhir/Patient/{alice.id}/$everything").status_code == 200
    assert db.scalar(select(Patient.id).where(Patient.id == bob.id))
