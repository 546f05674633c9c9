"""New patients: self-registration to book directly, no referral needed."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.passwords import hash_password
from hindfoot.db.models import Patient, Sex, UserAccount
from hindfoot.errors import Conflict, InvalidInput
from hindfoot.scheduling.clinic import clinic_for


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
) -> UserAccount:
    """Create a Patient and their sign-in (role patient) for a direct booking: no referral needed."""
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
    if db.scalar(select(UserAccount.id).where(func.lower(UserAccount.email) == email)) is not None:
        raise Conflict("an account with this email already exists: sign in to book", field="email")
    org = clinic_for(db, None)
    patient = Patient(
        organization_id=org.id, identifier=f"HF-W{secrets.token_hex(4).upper()}", given_name=given_name[:100],
        family_name=family_name[:100], birth_date=birth_date, sex=sex, email=email, phone=phone,
        sport="none", level="recreational",  # explicit: the search text is built before column defaults apply
    )
    db.add(patient)
    db.flush()
    account = UserAccount(
        email=email, password_hash=hash_password(password), role="patient", organization_id=org.id,
        patient_id=patient.id, display_name=patient.display_name,
    )
    db.add(account)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict("an account with this email already exists: sign in to book", field="email") from exc
    audit.record(db, None, audit.CREATE, "Patient", patient.id, patient_id=patient.id,
                 description="self-registered to book an appointment")
    return account
