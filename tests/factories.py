"""Small builders for test data; each returns flushed ORM objects."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from hindfoot.auth.passwords import hash_password
from hindfoot.db.models import (
    Encounter,
    EpisodeOfCare,
    Location,
    Observation,
    Organization,
    Patient,
    Practitioner,
    UserAccount,
)

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)
_seq = itertools.count(1)


def make_org(db: Session, name: str = "Test Clinic") -> Organization:
    org = Organization(name=name)
    db.add(org)
    db.flush()
    return org


def make_practitioner(db: Session, org: Organization, role: str = "surgeon", family: str = "Stone") -> Practitioner:
    p = Practitioner(organization_id=org.id, prefix="Mr", given_name="Alex", family_name=family, role=role)
    db.add(p)
    db.flush()
    return p


def make_patient(
    db: Session, org: Organization, given: str = "Ada", family: str = "Lovelace", sport: str = "ballet",
    stage: str | None = "assessment",
) -> Patient:
    n = next(_seq)
    patient = Patient(
        organization_id=org.id, identifier=f"T-{n:05d}", given_name=given, family_name=family,
        birth_date=date(2000, 1, 1), sex="female", sport=sport, level="professional",
        email=f"{given.lower()}.{n}@example.org",
    )
    db.add(patient)
    db.flush()
    if stage:
        db.add(EpisodeOfCare(patient_id=patient.id, organization_id=org.id, title="Right posterior ankle pain",
                             laterality="right", stage=stage, period_start=date(2026, 1, 1)))
        db.flush()
    return patient


def make_account(
    db: Session, org: Organization, role: str, *, email: str | None = None,
    patient: Patient | None = None, practitioner: Practitioner | None = None,
) -> UserAccount:
    n = next(_seq)
    account = UserAccount(
        email=email or f"{role}{n}@example.org", password_hash=_HASH, role=role, organization_id=org.id,
        patient_id=patient.id if patient else None, practitioner_id=practitioner.id if practitioner else None,
        display_name=f"{role.title()} {n}",
    )
    db.add(account)
    db.flush()
    return account


@dataclass
class FhirClinic:
    org: Organization
    surgeon: Practitioner
    location: Location
    alice: Patient
    bob: Patient
    visit: Encounter
    t0: datetime


def make_fhir_clinic(db: Session, pain_scores: int) -> FhirClinic:
    """The small clinic of the FHIR tests: a surgeon at one location, Alice with one visit (t0, 1 March 2026)
    and `pain_scores` daily pain scores from it, and Bob."""
    org = make_org(db)
    surgeon = make_practitioner(db, org)
    location = Location(organization_id=org.id, name="Heel Street Clinic", city="Leeds")
    db.add(location)
    db.flush()
    alice = make_patient(db, org, "Alice", "Able")
    bob = make_patient(db, org, "Bob", "Baker")
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    visit = Encounter(patient_id=alice.id, practitioner_id=surgeon.id, location_id=location.id,
                      type="new_consultation", start=t0, end=t0 + timedelta(minutes=40))
    db.add(visit)
    db.flush()
    for i in range(pain_scores):
        db.add(Observation(patient_id=alice.id, category="score", code="pain.nrs", value_quantity=float(i),
                           value_unit="/10", effective_at=t0 + timedelta(days=i), encounter_id=visit.id,
                           performer_id=surgeon.id))
    return FhirClinic(org, surgeon, location, alice, bob, visit, t0)


def login(client, email: str, password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    """Sign in through the API; the client then sends the CSRF token on every request."""
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token
