"""Builders for pathway and recovery-plan tests: a clinician, a patient with an episode and a
provisional diagnosis, and the Actor the services expect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from factories import make_account, make_org, make_patient, make_practitioner
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import (
    Condition,
    EpisodeOfCare,
    Observation,
    Organization,
    Patient,
    UserAccount,
)


@dataclass
class Clinic:
    org: Organization
    doctor: UserAccount
    patient: Patient
    episode: EpisodeOfCare
    patient_account: UserAccount

    @property
    def doc(self) -> Actor:
        return Actor.from_account(self.doctor)

    @property
    def me(self) -> Actor:
        return Actor.from_account(self.patient_account)


def make_clinic(db: Session, stage: str = "conservative_care", *, diagnosis: bool = True,
                doctor_email: str = "doc@example.org", patient_email: str = "pat@example.org") -> Clinic:
    org = make_org(db)
    pr = make_practitioner(db, org)
    doctor = make_account(db, org, "clinician", practitioner=pr, email=doctor_email)
    patient = make_patient(db, org, stage=stage)
    episode = db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)).one()
    episode.condition_code = "posterior_ankle_impingement"
    if diagnosis:
        db.add(Condition(patient_id=patient.id, episode_id=episode.id, code="posterior_ankle_impingement",
                         display="Posterior ankle impingement", verification_status="provisional",
                         laterality="right"))
        db.add(Observation(patient_id=patient.id, episode_id=episode.id, category="exam",
                           code="hyperplantarflexion_test_positive", value_boolean=True,
                           effective_at=datetime(2026, 1, 2, 10, tzinfo=UTC)))
    account = make_account(db, org, "patient", patient=patient, email=patient_email)
    db.flush()
    return Clinic(org=org, doctor=doctor, patient=patient, episode=episode, patient_account=account)
