"""A clinic of its own: set one up (organisation, services, first admin) and manage its staff.

`init_clinic` is what a real installation runs once instead of the demo (`hindfoot clinic init`).
Admins then add practitioners with their sign-in (`/admin/staff`): each new account gets an
invitation email with a link to choose a password (the reset mechanism, valid for a week, once),
so no one ever types a colleague's password. Deactivating a member ends their sign-ins and
removes them from online booking; their records stay.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth import reset, sessions
from hindfoot.auth.actor import Actor
from hindfoot.auth.passwords import hash_password
from hindfoot.auth.policy import require_admin, require_manage
from hindfoot.db.models import Organization, Practitioner, UserAccount
from hindfoot.db.models.practitioner import ROLE_LABELS
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.scheduling.clinic_setup import seed_default_services
from hindfoot.settings import Settings


@dataclass(frozen=True)
class StaffMember:
    practitioner: Practitioner
    account: UserAccount | None


def _email(value: str, field: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"{value!r} is not an email address: {exc}", field=field) from None


def _name(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidInput("this field is required", field=field)
    if len(cleaned) > 100:
        raise InvalidInput("at most 100 characters", field=field)
    return cleaned


def _unused(db: Session, email: str, field: str) -> None:
    if db.scalar(select(UserAccount.id).where(func.lower(UserAccount.email) == email.lower())) is not None:
        raise InvalidInput(f"an account with the email {email} already exists", field=field)


def _role(value: str) -> str:
    if value not in ROLE_LABELS:
        raise InvalidInput(f"unknown role {value!r}; allowed: {', '.join(ROLE_LABELS)}", field="role")
    return value


def _account_role(practitioner_role: str) -> str:
    """The sign-in role for a practitioner role: admins, receptionists and managers keep theirs, the rest are clinicians."""
    return practitioner_role if practitioner_role in ("admin", "receptionist", "manager") else "clinician"


def assignable_roles(actor: Actor) -> dict[str, str]:
    """The roles this person may give: an admin any, a manager every role but admin."""
    return {k: v for k, v in ROLE_LABELS.items() if actor.role == "admin" or k != "admin"}


def _may_change(actor: Actor, prac: Practitioner) -> None:
    if actor.role != "admin" and prac.role == "admin":
        raise InvalidInput("only an admin can change an admin's account", field="role")


def _may_give(actor: Actor, role: str) -> str:
    role = _role(role)
    if role not in assignable_roles(actor):
        raise InvalidInput("only an admin can make someone an admin", field="role")
    return role


def init_clinic(
    db: Session, *, name: str, admin_email: str, admin_given_name: str, admin_family_name: str, password: str,
    timezone: str = "Europe/London",
) -> tuple[Organization, UserAccount]:
    """A new clinic with the default bookable services and its first admin, who signs in with `password`."""
    org_name = _name(name, "name")
    email = _email(admin_email, "admin_email")
    _unused(db, email, "admin_email")
    reset.check_new_password(password, email)
    org = Organization(name=org_name, timezone=timezone, email=email)
    db.add(org)
    db.flush()
    seed_default_services(db, org.id)
    prac = Practitioner(organization_id=org.id, given_name=_name(admin_given_name, "admin_given_name"),
                        family_name=_name(admin_family_name, "admin_family_name"), role="admin", email=email)
    db.add(prac)
    db.flush()
    account = UserAccount(email=email, password_hash=hash_password(password), role="admin", organization_id=org.id,
                          practitioner_id=prac.id, display_name=prac.display_name)
    db.add(account)
    db.flush()
    audit.record(db, Actor.from_account(account, path="hindfoot clinic init"), audit.CREATE, "Organization", org.id,
                 description=f"clinic {org_name!r} set up with its first admin {email}")
    return org, account


def list_staff(db: Session, actor: Actor) -> list[StaffMember]:
    """Everyone on the organisation's staff, active first, by family name."""
    require_manage(actor)
    rows = db.execute(
        select(Practitioner, UserAccount)
        .outerjoin(UserAccount, UserAccount.practitioner_id == Practitioner.id)
        .where(Practitioner.organization_id == actor.organization_id)
        .order_by(Practitioner.active.desc(), Practitioner.family_name, Practitioner.given_name)
    ).all()
    return [StaffMember(p, a) for p, a in rows]


def add_staff(
    db: Session, actor: Actor, settings: Settings, *, given_name: str, family_name: str, role: str, email: str,
    prefix: str = "", qualification: str = "",
) -> tuple[StaffMember, reset.ResetMail]:
    """A new practitioner with a sign-in, and the invitation to send once this commits (`reset.deliver`)."""
    require_manage(actor)
    address = _email(email, "email")
    _unused(db, address, "email")
    role = _may_give(actor, role)
    if len(prefix) > 20 or len(qualification) > 200:
        raise InvalidInput("prefix: at most 20 characters; qualification: at most 200", field="prefix")
    prac = Practitioner(organization_id=actor.organization_id, prefix=prefix.strip(),
                        given_name=_name(given_name, "given_name"), family_name=_name(family_name, "family_name"),
                        role=role, qualification=qualification.strip(), email=address)
    db.add(prac)
    db.flush()
    account = UserAccount(
        email=address, password_hash=hash_password(secrets.token_urlsafe(32)),  # unusable until they choose one
        role=_account_role(role), organization_id=actor.organization_id, practitioner_id=prac.id,
        display_name=prac.display_name,
    )
    db.add(account)
    db.flush()
    audit.record(db, actor, audit.CREATE, "Practitioner", prac.id,
                 description=f"staff member added: {prac.display_name}, {ROLE_LABELS[role]}, {address}")
    org = db.get(Organization, actor.organization_id)
    invite = reset.invitation(settings, account, actor, clinic=org.name if org else "the clinic")
    return StaffMember(prac, account), invite


def update_staff(
    db: Session, actor: Actor, practitioner_id: uuid.UUID, *, given_name: str | None = None,
    family_name: str | None = None, prefix: str | None = None, role: str | None = None,
    qualification: str | None = None, email: str | None = None,
) -> StaffMember:
    """Change a staff member's name, role, qualification or sign-in email (fields left None stay).
    An admin cannot take away their own admin role, so the clinic always keeps one."""
    require_manage(actor)
    prac = _own(db, actor, practitioner_id)
    _may_change(actor, prac)
    account = db.scalar(select(UserAccount).where(UserAccount.practitioner_id == prac.id))
    changed: list[str] = []
    if role is not None and role != prac.role:
        role = _may_give(actor, role)
        if prac.id == actor.practitioner_id and role != "admin":
            raise InvalidInput("you cannot take away your own admin role", field="role")
        prac.role = role
        if account is not None:
            account.role = _account_role(role)
        changed.append(f"role {ROLE_LABELS[role]}")
    if email is not None and email.strip().lower() != (prac.email or "").lower():
        address = _email(email, "email")
        if address != (prac.email or "").lower():
            _unused(db, address, "email")
            prac.email = address
            if account is not None:
                account.email = address
            changed.append(f"email {address}")
    for name, value, limit in (("prefix", prefix, 20), ("qualification", qualification, 200)):
        if value is not None and value.strip() != getattr(prac, name):
            if len(value.strip()) > limit:
                raise InvalidInput(f"at most {limit} characters", field=name)
            setattr(prac, name, value.strip())
            changed.append(name)
    for name, value in (("given_name", given_name), ("family_name", family_name)):
        if value is not None and _name(value, name) != getattr(prac, name):
            setattr(prac, name, _name(value, name))
            changed.append(name.replace("_", " "))
    if account is not None:
        account.display_name = prac.display_name
    if changed:
        audit.record(db, actor, audit.UPDATE, "Practitioner", prac.id,
                     description=f"staff member {prac.display_name} changed: {', '.join(changed)}")
    db.flush()
    return StaffMember(prac, account)


def _own(db: Session, actor: Actor, practitioner_id: uuid.UUID) -> Practitioner:
    prac = db.get(Practitioner, practitioner_id)
    if prac is None or prac.organization_id != actor.organization_id:
        raise NotFound("no such staff member")
    return prac


def set_active(db: Session, actor: Actor, practitioner_id: uuid.UUID, active: bool) -> StaffMember:
    """Activate or deactivate a staff member and their sign-in (not oneself; a manager not an admin)."""
    require_manage(actor)
    prac = _own(db, actor, practitioner_id)
    _may_change(actor, prac)
    if prac.id == actor.practitioner_id and not active:
        raise InvalidInput("you cannot deactivate your own account", field="active")
    account = db.scalar(select(UserAccount).where(UserAccount.practitioner_id == prac.id))
    prac.active = active
    if account is not None:
        account.active = active
        if not active:
            sessions.end_all(db, account.id)  # signed out everywhere, now
    audit.record(db, actor, audit.UPDATE, "Practitioner", prac.id,
                 description=f"staff member {'reactivated' if active else 'deactivated'}: {prac.display_name}")
    db.flush()
    return StaffMember(prac, account)


def reset_mfa(db: Session, actor: Actor, practitioner_id: uuid.UUID) -> StaffMember:
    """Clear a member's two-step sign-in (lost phone and codes); audited, their sessions end."""
    from hindfoot.auth import mfa

    require_admin(actor)
    prac = _own(db, actor, practitioner_id)
    account = db.scalar(select(UserAccount).where(UserAccount.practitioner_id == prac.id))
    if account is None:
        raise InvalidInput("this staff member has no sign-in", field="practitioner_id")
    mfa.reset(db, actor, account)
    return StaffMember(prac, account)
