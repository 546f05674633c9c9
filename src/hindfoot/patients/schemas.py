"""Boundary schemas for patients, episodes and observations (separate from the ORM classes)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from hindfoot.bounds import SaneDate, SaneDatetime
from hindfoot.db.models import Laterality, PathwayStage, Sex, SportLevel

SPORTS = (
    "ballet", "contemporary_dance", "football", "rugby", "cricket_fast_bowling", "gymnastics",
    "running", "basketball", "tennis", "swimming", "cycling", "other_sport", "none",
)
Sport = Literal[
    "ballet", "contemporary_dance", "football", "rugby", "cricket_fast_bowling", "gymnastics",
    "running", "basketball", "tennis", "swimming", "cycling", "other_sport", "none",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Staff-entered and imported addresses get a shape check, not email-validator's list of special-use names:
# addresses already on file (a clinic's own .local test domain, the demo's) must save again, and a record read
# from the FHIR API must go back unchanged. Public sign-up (SelfRegistration) keeps the full check.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class PatientCreate(Strict):
    identifier: str | None = Field(default=None, max_length=40)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Sex
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_SHAPE)
    phone: str | None = Field(default=None, max_length=40)
    sport: Sport = "none"
    level: SportLevel = SportLevel.recreational

    @field_validator("birth_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("birth date cannot be in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
        return value


PHONE_PATTERN = r"^\+?[0-9 ()\-]{7,25}$"
PreferredContact = Literal["email", "phone", "sms"]


class SelfRegistration(Strict):
    """What a new patient gives to book online; every field is checked at once (the page names each)."""

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Sex
    email: EmailStr = Field(max_length=200)
    phone: str = Field(min_length=1, max_length=40, pattern=PHONE_PATTERN)
    password: str = Field(min_length=10, max_length=500)

    @field_validator("birth_date")
    @classmethod
    def _real_birth(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("a date of birth cannot be in the future")
        if value.year < date.today().year - 120:
            raise ValueError("enter your real date of birth")
        return value


class ContactDetails(Strict):
    """How to reach a patient and who to call; the patient and the clinic's staff may both change these.
    Every field is optional; an empty one clears it."""

    # a plain shape check: addresses already on file (e.g. a clinic's own .local test domain) must save again
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_SHAPE)
    phone: str | None = Field(default=None, max_length=40, pattern=PHONE_PATTERN)
    address: str | None = Field(default=None, max_length=300)
    gp_practice: str | None = Field(default=None, max_length=200)
    emergency_contact: str | None = Field(default=None, max_length=200)
    emergency_phone: str | None = Field(default=None, max_length=40, pattern=PHONE_PATTERN)
    preferred_contact: PreferredContact | None = None


CONTACT_FIELDS = tuple(ContactDetails.model_fields)
CONTACT_LABELS = {
    "email": "Email", "phone": "Phone number", "address": "Home address", "gp_practice": "GP practice",
    "emergency_contact": "Emergency contact (name and relationship)", "emergency_phone": "Emergency contact phone",
    "preferred_contact": "How we contact you",
}
PREFERRED_CONTACT_LABELS = {"email": "Email", "phone": "Phone call", "sms": "Text message"}


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str | None
    phone: str | None
    address: str | None
    gp_practice: str | None
    emergency_contact: str | None
    emergency_phone: str | None
    preferred_contact: str | None


class PatientUpdate(Strict):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_SHAPE)
    phone: str | None = Field(default=None, max_length=40)
    sport: Sport | None = None
    level: SportLevel | None = None


class EpisodeCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    laterality: Laterality
    condition_code: str | None = Field(default=None, max_length=80)
    period_start: SaneDate | None = None
    stage: PathwayStage = PathwayStage.enquiry


class ObservationCreate(Strict):
    category: Literal["history", "exam", "imaging", "tests", "measurement"]
    code: str = Field(min_length=1, max_length=80)
    present: bool | None = None
    value: float | None = None
    unit: str | None = Field(default=None, max_length=20)
    effective_at: SaneDatetime | None = None
    note: str = Field(default="", max_length=2000)

    @field_validator("effective_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("effective_at needs a time zone, e.g. 2026-05-01T10:00:00Z")
        return value


class PatientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    identifier: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    email: str | None
    phone: str | None
    address: str | None = None
    gp_practice: str | None = None
    emergency_contact: str | None = None
    emergency_phone: str | None = None
    preferred_contact: str | None = None
    sport: str
    level: str


class PatientSummary(PatientRead):
    stage: str | None = None
    episode_title: str | None = None


class EpisodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    title: str
    condition_code: str | None
    laterality: str
    status: str
    stage: str
    period_start: date
    period_end: date | None


class ObservationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    episode_id: uuid.UUID | None
    category: str
    code: str
    value_boolean: bool | None
    value_quantity: float | None
    value_unit: str | None
    value_string: str | None
    effective_at: datetime
    note: str
