from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit_service
from hindfoot.auth import mfa, reset
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.clinic import staff
from hindfoot.db.models.practitioner import ROLE_LABELS
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import InvalidInput
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

Field = Annotated[str, Form(max_length=200)]


def _staff_page(request: Request, db: Session, actor: Actor, *, error: str | None = None,
                message: str | None = None, form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "admin/staff.html", {
        "staff": staff.list_staff(db, actor), "roles": ROLE_LABELS, "error": error, "message": message,
        "form": form or {}, "me": actor.practitioner_id,
        "mfa_required": mfa.required_for(db, request.app.state.settings, mfa.account_of(db, actor)),
    }, status_code=status_code)


@router.get("/admin/staff", response_class=HTMLResponse)
def staff_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    return _staff_page(request, db, actor)


@router.post("/admin/staff", response_class=HTMLResponse)
def add_staff(
    request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings, background: BackgroundTasks,
    given_name: Field, family_name: Field, role: Field, email: Field, prefix: Field = "", qualification: Field = "",
) -> HTMLResponse:
    form = {"given_name": given_name, "family_name": family_name, "role": role, "email": email, "prefix": prefix,
            "qualification": qualification}
    try:
        member, invite = staff.add_staff(db, actor, settings, given_name=given_name, family_name=family_name,
                                         role=role, email=email, prefix=prefix, qualification=qualification)
    except InvalidInput as exc:
        return _staff_page(request, db, actor, error=f"{exc.field}: {exc.message}" if exc.field else exc.message,
                           form=form, status_code=422)
    background.add_task(reset.deliver, settings, request.app.state.sessionmaker, invite)
    return _staff_page(request, db, actor, message=(
        f"{member.practitioner.display_name} is added; an invitation to choose a password is on its way to "
        f"{member.practitioner.email}."))


@router.post("/admin/staff/{practitioner_id}", response_class=HTMLResponse)
def update_staff(
    practitioner_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
    given_name: Field, family_name: Field, role: Field, email: Field, prefix: Field = "", qualification: Field = "",
) -> HTMLResponse:
    try:
        member = staff.update_staff(db, actor, practitioner_id, given_name=given_name, family_name=family_name,
                                    role=role, email=email, prefix=prefix, qualification=qualification)
    except InvalidInput as exc:
        return _staff_page(request, db, actor, error=f"{exc.field}: {exc.message}" if exc.field else exc.message,
                           status_code=422)
    return _staff_page(request, db, actor, message=f"{member.practitioner.display_name}: saved.")


@router.post("/admin/staff/{practitioner_id}/active", response_class=HTMLResponse)
def set_active(
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
def reset_mfa(practitioner_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
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
