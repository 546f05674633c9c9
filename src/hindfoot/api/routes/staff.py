"""Staff and their sign-ins, for admins: list, add (an invitation email follows), (de)activate."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.auth import reset
from hindfoot.clinic import staff
from hindfoot.deps import AppSettings, CurrentActor, DbSession

router = APIRouter(tags=["staff"])


class StaffRead(BaseModel):
    practitioner_id: uuid.UUID
    display_name: str
    role: str
    role_label: str
    email: str | None
    active: bool
    account_email: str | None
    last_login_at: datetime | None


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=40)
    email: str = Field(min_length=3, max_length=200)
    prefix: str = Field(default="", max_length=20)
    qualification: str = Field(default="", max_length=200)


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: str | None = Field(default=None, min_length=1, max_length=40)
    email: str | None = Field(default=None, min_length=3, max_length=200)
    prefix: str | None = Field(default=None, max_length=20)
    qualification: str | None = Field(default=None, max_length=200)


class StaffActive(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


def _read(m: staff.StaffMember) -> StaffRead:
    p, a = m.practitioner, m.account
    return StaffRead(practitioner_id=p.id, display_name=p.display_name, role=p.role, role_label=p.role_label,
                     email=p.email, active=p.active, account_email=a.email if a else None,
                     last_login_at=a.last_login_at if a else None)


@router.get("/staff")
def list_staff(db: DbSession, actor: CurrentActor) -> list[StaffRead]:
    return [_read(m) for m in staff.list_staff(db, actor)]


@router.post("/staff", status_code=201)
def add_staff(body: StaffCreate, request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
              background: BackgroundTasks) -> StaffRead:
    """Add a practitioner with a sign-in; they get an email to choose their password (valid a week)."""
    member, invite = staff.add_staff(db, actor, settings, **body.model_dump())
    background.add_task(reset.deliver, settings, request.app.state.sessionmaker, invite)
    return _read(member)


@router.patch("/staff/{practitioner_id}")
def update_staff(practitioner_id: uuid.UUID, body: StaffUpdate, db: DbSession, actor: CurrentActor) -> StaffRead:
    """Change name, role, qualification or sign-in email (only the fields sent)."""
    return _read(staff.update_staff(db, actor, practitioner_id, **body.model_dump(exclude_unset=True)))


@router.post("/staff/{practitioner_id}/active")
def set_active(practitioner_id: uuid.UUID, body: StaffActive, db: DbSession, actor: CurrentActor) -> StaffRead:
    """Deactivate (no sign-in, not bookable; records stay) or reactivate a staff member."""
    return _read(staff.set_active(db, actor, practitioner_id, body.active))


@router.post("/staff/{practitioner_id}/mfa-reset")
def reset_mfa(practitioner_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> StaffRead:
    """Clear a member's two-step sign-in (lost phone and recovery codes): audited, their sessions end,
    and they set it up again at their next sign-in."""
    return _read(staff.reset_mfa(db, actor, practitioner_id))
