"""Load the demo clinic: a fictional organisation with 50 patients spread over the whole PAI pathway.

`load_demo(session, today)` is idempotent (an existing demo organisation means nothing is done)
and transactional: it only adds and flushes; the caller's unit of work commits once. Every date is
relative to `today` and every random choice comes from seeded generators, so two loads with the
same `today` produce the same clinic (ids included).

Where things are: ``cast.py`` (the fixed organisation, locations, staff and rota), ``patients.py``
(the scripted patients and the clinical pictures they draw on), ``clinic.py`` (builds the clinic
and its diary, writes every row), ``stories/`` (one patient's pathway, stage by stage) and
``registry.py`` (the large synthetic outcomes registry).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.db.models import EpisodeOfCare, Organization, Patient, UserAccount
from hindfoot.demo import cast
from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from hindfoot.demo.clinic import ClinicBuilder
from hindfoot.demo.patients import STAGES

__all__ = ["DemoSummary", "demo_accounts", "load_demo"]


@dataclass
class DemoSummary:
    created: bool
    organization_id: uuid.UUID | None
    patients: int
    stage_counts: dict[str, int]
    accounts: list[tuple[str, str, str, str]]
    rows: dict[str, int] = field(default_factory=dict)
    password: str = DEMO_PASSWORD


def demo_accounts(session: Session) -> list[tuple[str, str, str, str]]:
    """One account per role for the login page: (role, email, display name, description)."""
    org_id = session.scalar(select(Organization.id).where(Organization.is_demo).limit(1))
    if org_id is None:
        return []
    wanted = [
        ("admin", "admin", "Administrator"),
        ("reception", "reception", "Receptionist"),
        ("manager", "manager", "Clinic manager"),
        ("surgeon", "surgeon", "Clinician (surgeon)"),
        ("physio", "physio", "Clinician (physiotherapist)"),
        ("nurse", "nurse", "Clinician (nurse)"),
        ("patient", "patient", "Patient"),
    ]
    emails = [f"{local}@{DEMO_EMAIL_DOMAIN}" for local, _, _ in wanted]
    accounts = {a.email: a for a in session.scalars(
        select(UserAccount).where(UserAccount.organization_id == org_id, UserAccount.email.in_(emails))
    )}
    descriptions = {p["account"]: str(p["description"]) for p in cast.PRACTITIONERS.values()}
    descriptions["patient"] = "Ballet dancer seven weeks after posterior ankle arthroscopy, in rehabilitation"
    out: list[tuple[str, str, str, str]] = []
    for (_local, key, label), email in zip(wanted, emails, strict=True):
        account = accounts.get(email)
        if account is not None:
            out.append((label, email, account.display_name, descriptions.get(key, "")))
    return out

def load_demo(session: Session, today: date) -> DemoSummary:
    """Create the demo clinic unless one exists. Adds and flushes only; the caller commits."""
    existing = session.scalar(select(Organization).where(Organization.is_demo).limit(1))
    if existing is not None:
        return _summary(session, existing.id, created=False)
    builder = ClinicBuilder(session, today)
    builder.build()
    builder.write()
    summary = _summary(session, builder.org.id, created=True)
    summary.rows = dict(sorted(Counter(type(r).__name__ for r in builder.rows).items()))
    return summary

def _summary(session: Session, org_id: uuid.UUID, *, created: bool) -> DemoSummary:
    patients = session.scalar(select(func.count()).select_from(Patient).where(Patient.organization_id == org_id)) or 0
    stage_rows = session.execute(
        select(EpisodeOfCare.stage, func.count()).where(EpisodeOfCare.organization_id == org_id)
        .group_by(EpisodeOfCare.stage)
    ).all()
    counts = dict.fromkeys(STAGES, 0)
    counts.update(dict(stage_rows))
    return DemoSummary(created=created, organization_id=org_id, patients=patients, stage_counts=counts,
                       accounts=demo_accounts(session))
