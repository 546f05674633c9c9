"""Sign in and out with a session cookie; `csrf_token` in the answer goes in X-CSRF-Token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.auth import mfa, reset, sessions
from hindfoot.auth import service as auth_service
from hindfoot.auth.actor import Actor
from hindfoot.auth.csrf import csrf_token
from hindfoot.deps import (
    AppSettings,
    CurrentActor,
    DbSession,
    client_ip,
    end_session,
    session_token,
    start_session,
)
from hindfoot.errors import Forbidden, NotAuthenticated

public_router = APIRouter(tags=["auth"])


class MfaRequired(NotAuthenticated):
    code = "mfa_required"
    keep_writes = True  # the password was right: keep the sign-in's bookkeeping (rehash, last sign-in)
router = APIRouter(tags=["auth"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=200)
    password: str = Field(min_length=1, max_length=500)
    code: str | None = Field(default=None, max_length=40, description="Staff with two-step sign-in: the app's "
                             "6-digit code or a recovery code.")


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
    """Sign in. Wrong email or password: 401. Too many failures for this email or address: 429 with
    Retry-After (the lock holds even for the right password until it runs out). Staff with two-step
    sign-in also send `code` (401 `mfa_required` without it); staff who must set it up do so on the web."""
    policy = auth_service.throttle_policy(settings)
    account = auth_service.sign_in(db, body.email, body.password, policy=policy, source_ip=client_ip(request),
                                   clear=False)
    if mfa.enabled(account):
        if not body.code:
            raise MfaRequired("this account signs in in two steps: send the authenticator code as `code`",
                              field="code")
        auth_service.second_factor(db, account, body.code, policy=policy, source_ip=client_ip(request))
    elif mfa.required_for(db, settings, account):
        raise Forbidden("your clinic requires two-step sign-in: set it up by signing in on the web first",
                        field="code")
    else:
        auth_service.clear_failures(db, account.email)
    start_session(request, db, account)  # a fresh session (and CSRF token) at every sign-in
    return _me(Actor.from_account(account, source_ip=client_ip(request)), request)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, db: DbSession) -> None:
    """Sign out: the session ends on the server too, so a copy of the cookie no longer works."""
    end_session(request, db)


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
def change_password(body: PasswordChangeBody, request: Request, actor: CurrentActor, db: DbSession) -> None:
    """Change the signed-in account's password (the current one is checked); every other session ends."""
    reset.change_password(db, actor, body.current_password, body.password, keep_session=session_token(request))


# --------------------------------------------------------------------------- sessions


class SessionRead(BaseModel):
    id: str
    device: str
    user_agent: str
    source_ip: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


@router.get("/auth/sessions")
def list_sessions(request: Request, actor: CurrentActor, db: DbSession) -> list[SessionRead]:
    """The signed-in account's live sessions, most recently used first; `current` is this one."""
    current = sessions.session_id(session_token(request) or "")
    return [SessionRead(id=r.id, device=sessions.device_label(r.user_agent), user_agent=r.user_agent,
                        source_ip=r.source_ip, created_at=r.created_at, last_seen_at=r.last_seen_at,
                        expires_at=r.expires_at, current=r.id == current)
            for r in sessions.list_for(db, actor.user_id)]


@router.delete("/auth/sessions/{sid}", status_code=204)
def end_session_by_id(sid: Annotated[str, Path(max_length=64)], request: Request, actor: CurrentActor,
                      db: DbSession) -> None:
    """End one of your own sessions (404 for any other id); ending the current one signs you out."""
    sessions.end_one(db, actor.user_id, sid)
    if sid == sessions.session_id(session_token(request) or ""):
        request.session.clear()
