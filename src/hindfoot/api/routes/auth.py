"""Sign in and out with a session cookie; `csrf_token` in the answer goes in X-CSRF-Token."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.auth import reset
from hindfoot.auth import service as auth_service
from hindfoot.auth.actor import Actor
from hindfoot.auth.csrf import csrf_token
from hindfoot.deps import AppSettings, CurrentActor, DbSession, client_ip

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=200)
    password: str = Field(min_length=1, max_length=500)


class Me(BaseModel):
    user_id: str
    email: str
    role: str
    display_name: str
    patient_id: str | None
    practitioner_id: str | None
    csrf_token: str


def _me(actor: Actor, request: Request) -> Me:
    return Me(
        user_id=str(actor.user_id), email=actor.email, role=actor.role, display_name=actor.display_name,
        patient_id=str(actor.patient_id) if actor.patient_id else None,
        practitioner_id=str(actor.practitioner_id) if actor.practitioner_id else None,
        csrf_token=csrf_token(request.session),
    )


@public_router.post("/auth/login")
def login(body: LoginBody, request: Request, db: DbSession, settings: AppSettings) -> Me:
    """Sign in. Wrong email or password: 401. Too many failures for this email: 429 with Retry-After
    (the lock holds even for the right password until it runs out)."""
    account = auth_service.sign_in(
        db, request.app.state.sessionmaker, body.email, body.password,
        policy=auth_service.throttle_policy(settings), source_ip=client_ip(request),
    )
    request.session.clear()  # a fresh session (and CSRF token) at every sign-in
    request.session["user_id"] = str(account.id)
    return _me(Actor.from_account(account, source_ip=client_ip(request)), request)


@router.post("/auth/logout", status_code=204)
def logout(request: Request) -> None:
    request.session.clear()


@router.get("/me")
def me(actor: CurrentActor, request: Request) -> Me:
    return _me(actor, request)


# --------------------------------------------------------------------------- passwords

RESET_ASKED = "if an account uses this email, a link to choose a new password is on its way"


class ResetRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=200)


class ResetConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=10, max_length=500)
    password: str = Field(min_length=1, max_length=500)


class PasswordChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=500)
    password: str = Field(min_length=1, max_length=500)


@public_router.post("/auth/password-reset", status_code=202)
def ask_for_reset(
    body: ResetRequestBody, request: Request, db: DbSession, settings: AppSettings, background: BackgroundTasks,
) -> dict[str, str]:
    """Email a reset link, valid for an hour and once. The answer is the same whether or not the
    email has an account; the email goes out after it."""
    pending = reset.request_reset(db, settings, body.email, source_ip=client_ip(request))
    background.add_task(reset.deliver, settings, request.app.state.sessionmaker, pending)
    return {"message": RESET_ASKED}


@public_router.post("/auth/password-reset/confirm", status_code=204)
def confirm_reset(body: ResetConfirmBody, request: Request, db: DbSession, settings: AppSettings) -> None:
    """Set a new password with the token of a reset link (422 naming `token` or `password` otherwise)."""
    reset.reset_password(db, settings, body.token, body.password, source_ip=client_ip(request))


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChangeBody, actor: CurrentActor, db: DbSession) -> None:
    """Change the signed-in account's password (the current one is checked)."""
    reset.change_password(db, actor, body.current_password, body.password)
