"""Patient (FHIR Patient) with the sport and level that drive triage priors and recovery plans.

For the patient list at clinic-group scale, each patient also carries its current episode (the
latest by start date) and that episode's pathway stage: derived columns kept in step by a flush
hook in `hindfoot.db.models.episode` (bulk loaders that bypass the ORM write them themselves), so
a search is an indexed scan of one table instead of an aggregate over every episode.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class SportLevel(enum.StrEnum):
    recreational = "recreational"
    competitive = "competitive"
    professional = "professional"


SEPARATOR = "\x1f"  # between the searched fields: a control character no search term keeps


class Patient(IdMixin, TimestampMixin, Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("organization_id", "identifier"),)

    # no index of its own: the list's index and the unique record number lead with it
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    identifier: Mapped[str] = mapped_column(String(40))  # clinic record number, e.g. HF-000123
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    gp_practice: Mapped[str | None] = mapped_column(String(200))
    emergency_contact: Mapped[str | None] = mapped_column(String(200))  # name and relationship
    emergency_phone: Mapped[str | None] = mapped_column(String(40))
    preferred_contact: Mapped[str | None] = mapped_column(String(10))  # email | phone | sms
    sport: Mapped[str] = mapped_column(String(40), default="none")
    level: Mapped[str] = mapped_column(String(20), default="recreational")
    active: Mapped[bool] = mapped_column(default=True)
    # data rights (hindfoot.patients.rights): processing restricted (GDPR art. 18: kept, shown as
    # restricted, left out of the registry) and identity erased (art. 17: the clinical record stays)
    restricted_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # derived: the latest episode (by start date) and its stage; not a foreign key, since the episode
    # rows reference the patient (a cycle), and kept in step by `episode._keep_current_episode`
    current_episode_id: Mapped[uuid.UUID | None]
    current_stage: Mapped[str | None] = mapped_column(String(30))
    # derived: what a search matches (see `search_text_of`), set on every ORM insert and update
    search_text: Mapped[str] = mapped_column(Text, default="")

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


# GIN over (search_text gin_trgm_ops) (pg_trgm): made by migration 0010 on
# PostgreSQL only (SQLite has no trigram index), so not in the metadata:
# schema comparisons (tests/db/test_migrations.py) leave it out by this name.
POSTGRES_ONLY_INDEXES = frozenset({"ix_patient_search_trgm"})


def search_text_of(given_name: str, family_name: str, identifier: str, email: str | None, sport: str) -> str:
    """What a patient search matches, lower-cased: the full name, the record number, the email and the
    sport, separated so that no term spans two of them. Stored (`Patient.search_text`) rather than
    computed per query: PostgreSQL indexes it with trigrams (GIN, pg_trgm), so `LIKE '%term%'` is an
    index scan, statistics or not, and the recheck of each candidate row is a plain comparison."""
    return SEPARATOR.join((f"{given_name} {family_name}", identifier, email or "", sport)).lower()


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_search_text(_mapper: Any, _connection: Any, patient: Patient) -> None:
    if patient.sport is None:  # the column default is applied after this hook: apply it now, so it is searched too
        patient.sport = "none"
    patient.search_text = search_text_of(patient.given_name, patient.family_name, patient.identifier,
                                         patient.email, patient.sport)


def search_pattern(term: str) -> str:
    """`%term%` for LIKE ... ESCAPE '\\', lower-cased, with LIKE's wildcards taken literally."""
    cleaned = term.strip().lower().replace(SEPARATOR, "")
    escaped = cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# the list's order (name, then id) within an organisation, with or without a stage filter; keyset pages
Index("ix_patient_org_name", Patient.organization_id, Patient.family_name, Patient.given_name, Patient.id)
# (the stage leads, so that the plain list has one index that leads with the organisation: its own)
Index("ix_patient_stage_org_name", Patient.current_stage, Patient.organization_id, Patient.family_name,
      Patient.given_name, Patient.id)
# the few restricted patients of a clinic, which the registry leaves out (partial: erased or not, most are not)
Index("ix_patient_restricted", Patient.organization_id, sqlite_where=text("restricted_at IS NOT NULL"),
      postgresql_where=text("restricted_at IS NOT NULL"))
