from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit_service
from hindfoot.auth import mfa, reset
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.clinic import staff
from hindfoot.db.models.practitioner import ROLE_LABELS
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import InvalidInput
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()
PAGE_SIZE = 50


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    user: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(max_length=1)] = None,
    action: Annotated[str | None, Query(max_length=1)] = None,
    what: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    require_admin(actor)
    outcome = outcome if outcome in ("0", "4", "8") else None
    action = action if action in ("C", "R", "U", "D", "E") else None
    kinds = audit_service.entity_types(db, actor.organization_id)
    what = what if what in kinds else None
    rows, total = audit_service.search(
        db, audit_service.AuditQuery(organization_id=actor.organization_id, user_email=user or None, outcome=outcome, action=action, entity_type=what,
                                     limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
    )
    return render(request, "admin/audit.html", {
        "rows": rows, "total": total, "user": user or "", "outcome": outcome or "", "action": action or "",
        "what": what or "", "kinds": kinds, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
    })


# --------------------------------------------------------------------------- staff

def _staff_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
                message: str | None = None, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                edit_form: dict[str, str] | None = None, editing: uuid.UUID | None = None,
                status_code: int = 200) -> HTMLResponse:
    return render(request, "admin/staff.html", {
        "staff": staff.list_staff(db, actor), "roles": ROLE_LABELS, "error": error, "message": message,
        "form": form or {}, "me": actor.practitioner_id, "errors": (errors or {}) if editing is None else {},
        "edit_errors": (errors or {}) if editing is not None else {}, "edit_form": edit_form or {},
        "editing": editing, "role_options": list(staff.assignable_roles(actor).items()),
        "mfa_required": mfa.required_for(db, request.app.state.settings, mfa.account_of(db, actor)),
    }, status_code=status_code)


@router.get("/admin/staff", response_class=HTMLResponse)
def staff_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    return _staff_page(request, db, actor)


class StaffFields(BaseModel):
    """The staff form, checked whole so every problem is named at once (the service checks again)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    prefix: str = Field(default="", max_length=20)
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    role: Literal[tuple(ROLE_LABELS)]  # type: ignore[valid-type]
    email: str = Field(min_length=1, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    qualification: str = Field(default="", max_length=200)


STAFF_FIELDS = tuple(StaffFields.model_fields)
STAFF_LABELS = {"prefix": "Title", "given_name": "Given name", "family_name": "Family name", "role": "Role",
                "email": "Sign-in email", "qualification": "Qualification"}


def _staff_form(raw: dict[str, str]) -> tuple[dict[str, str], StaffFields | None, dict[str, str]]:
    form = {k: raw.get(k, "").strip() for k in STAFF_FIELDS}
    try:
        return form, StaffFields.model_validate(form), {}
    except ValidationError as exc:
        return form, None, errors_from(exc, STAFF_LABELS)


@router.post("/admin/staff", response_class=HTMLResponse)
def add_staff_page(
    request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings, background: BackgroundTasks,
    raw: RawForm,
) -> HTMLResponse:
    form, fields, errors = _staff_form(raw)
    if fields is None:
        return _staff_page(request, db, actor, errors=errors, form=form, status_code=422)
    try:
        member, invite = staff.add_staff(db, actor, settings, **fields.model_dump())
    except InvalidInput as exc:
        return _staff_page(request, db, actor, errors=errors_from(exc, STAFF_LABELS), form=form, status_code=422)
    background.add_task(reset.deliver, settings, request.app.state.sessionmaker, invite)
    return _staff_page(request, db, actor, message=(
        f"{member.practitioner.display_name} is added; an invitation to choose a password is on its way to "
        f"{member.practitioner.email}."))


@router.post("/admin/staff/{practitioner_id}", response_class=HTMLResponse)
def update_staff_page(practitioner_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                 raw: RawForm) -> HTMLResponse:
    form, fields, errors = _staff_form(raw)
    if fields is None:
        return _staff_page(request, db, actor, errors=errors, edit_form=form, editing=practitioner_id,
                           status_code=422)
    try:
        member = staff.update_staff(db, actor, practitioner_id, **fields.model_dump())
    except InvalidInput as exc:
        return _staff_page(request, db, actor, errors=errors_from(exc, STAFF_LABELS), edit_form=form,
                           editing=practitioner_id, status_code=422)
    return _staff_page(request, db, actor, message=f"{member.practitioner.display_name}: saved.")


@router.post("/admin/staff/{practitioner_id}/active", response_class=HTMLResponse)
def set_active_page(
    practitioner_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
    active: Annotated[str, Form(max_length=5)],
) -> HTMLResponse:
    try:
        member = staff.set_active(db, actor, practitioner_id, active == "true")
    except InvalidInput as exc:
        return _staff_page(request, db, actor, error=exc.message, status_code=422)
    state = "active again" if member.practitioner.active else "deactivated: they can no longer sign in or be booked"
    return _staff_page(request, db, actor, message=f"{member.practitioner.display_name} is {state}.")


@router.post("/admin/staff/{practitioner_id}/mfa-reset", response_class=HTMLResponse)
def reset_mfa_page(practitioner_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    member = staff.reset_mfa(db, actor, practitioner_id)
    return _staff_page(request, db, actor, message=(
        f"{member.practitioner.display_name}: two-step sign-in is reset; they set it up again at their next sign-in."))


@router.post("/admin/mfa-policy", response_class=HTMLResponse)
def mfa_policy(request: Request, db: DbSession, actor: CurrentActor,
               required: Annotated[str, Form(max_length=5)]) -> HTMLResponse:
    require_admin(actor)
    mfa.set_clinic_policy(db, actor, required == "true")
    return _staff_page(request, db, actor, message=(
        "Two-step sign-in is now required for every staff account." if required == "true"
        else "Two-step sign-in is now optional for staff."))
