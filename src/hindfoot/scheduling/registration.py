"""New patients: self-registration to book directly, no referral needed.

Booking as a new patient never tells whether the email already has an account: `register_patient`
makes an account that works only once its owner opens the emailed confirmation link
(hindfoot.auth.verify), and when the email has an account already, `check_booking_for_existing`
runs the same checks without writing and the page answers the same, while that account's owner
gets an email instead.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.passwords import hash_password
from hindfoot.db.base import utcnow
from hindfoot.db.models import Patient, Sex, UserAccount
from hindfoot.errors import Conflict, InvalidInput
from hindfoot.scheduling import guards
from hindfoot.scheduling.clinic import bookable_service, clinic_for


def register_patient(
    db: Session,
    *,
    given_name: str,
    family_name: str,
    birth_date: date,
    sex: str,
    email: str,
    password: str,
    phone: str | None = None,
    today: date | None = None,
    active: bool = True,
) -> UserAccount:
    """Create a Patient and their sign-in (role patient) for a direct booking: no referral needed.
    `active=False`: the sign-in works once the email is confirmed (the booking pages)."""
    check_fields(given_name=given_name, family_name=family_name, birth_date=birth_date, sex=sex, email=email,
                 password=password, today=today)
    given_name, family_name, email = given_name.strip(), family_name.strip(), email.strip().lower()
    if existing_account(db, email) is not None:
        raise Conflict("an account with this email already exists: sign in to book", field="email")
    org = clinic_for(db, None)
    patient = Patient(
        organization_id=org.id, identifier=f"HF-W{secrets.token_hex(4).upper()}", given_name=given_name[:100],
        family_name=family_name[:100], birth_date=birth_date, sex=sex, email=email, phone=phone, sport="none",
        level="recreational",
    )
    db.add(patient)
    db.flush()
    account = UserAccount(
        email=email, password_hash=hash_password(password), role="patient", organization_id=org.id,
        patient_id=patient.id, display_name=patient.display_name, active=active,
    )
    db.add(account)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict("an account with this email already exists: sign in to book", field="email") from exc
    audit.record(db, None, audit.CREATE, "Patient", patient.id, patient_id=patient.id,
                 description="self-registered to book an appointment")
    return account


def existing_account(db: Session, email: str) -> UserAccount | None:
    return db.scalar(select(UserAccount).where(func.lower(UserAccount.email) == email.strip().lower()))


def check_booking_for_existing(db: Session, *, service: str, practitioner_id: uuid.UUID, location_id: uuid.UUID,
                               start: datetime, password: str, now: datetime | None = None) -> None:
    """The checks (and the password hashing) a new patient's booking would do, writing nothing: the
    same refusals (a taken slot: 409) and about the same time as `register_patient` + a booking."""
    org = clinic_for(db, None)
    svc = bookable_service(db, org, service)
    practitioner = guards.bookable_practitioner(db, org, practitioner_id)
    location = guards.active_location(db, org, location_id)
    guards.check_time(db, org, svc, practitioner, location, start, now=now or utcnow(), min_notice=guards.PATIENT_MIN_NOTICE)
    hash_password(password)


def check_fields(*, given_name: str, family_name: str, birth_date: date, sex: str, email: str, password: str,
                 today: date | None = None) -> None:
    """The registration form's checks, naming the field at fault."""
    today = today or date.today()
    given_name, family_name, email = given_name.strip(), family_name.strip(), email.strip().lower()
    if not given_name:
        raise InvalidInput("enter your first name", field="given_name")
    if not family_name:
        raise InvalidInput("enter your last name", field="family_name")
    if not (date(today.year - 120, 1, 1) <= birth_date <= today):
        raise InvalidInput("enter your real date of birth", field="birth_date")
    if sex not in Sex.__members__:
        raise InvalidInput("choose one of the options", field="sex")
    if "@" not in email or "." not in email.rsplit("@", 1)[-1] or len(email) > 200:
        raise InvalidInput("enter an email address like name@example.com", field="email")
    if len(password) < 10:
        raise InvalidInput("choose a password of at least 10 characters", field="password")
