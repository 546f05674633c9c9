from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.auth import mfa, passkeys, reset, sessions
from hindfoot.auth import service as auth_service
from hindfoot.db.models import Organization, UserAccount
from hindfoot.deps import (
    AppSettings,
    CurrentActor,
    DbSession,
    OptionalActor,
    client_ip,
    complete_sign_in,
    end_session,
    pending_account,
    session_token,
    start_session,
)
from hindfoot.errors import InvalidInput, NotAuthenticated, TooManyAttempts
from hindfoot.settings import Settings
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/me"


def _demo_accounts(db: DbSession) -> list[tuple[str, str, str, str, str]]:
    """(role, email, name, description, password) of each demo account, when the demo clinic is loaded."""
    from hindfoot.demo import DEMO_PASSWORD, demo_accounts

    return [(*a, DEMO_PASSWORD) for a in demo_accounts(db)]


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, db: DbSession, actor: OptionalActor, next: str | None = None, changed: str | None = None,
) -> Response:
    if actor:
        return RedirectResponse(_safe_next(next), status_code=303)
    message = "Your new password is set. Sign in with it." if changed else None
    return render(request, "auth/login.html",
                  {"next": _safe_next(next), "demo": _demo_accounts(db), "error": None, "message": message})


LOGIN_LABELS = {"email": "Email", "password": "Password"}


def _login_problems(email: str, password: str) -> dict[str, str]:
    errors = {}
    if not email:
        errors["email"] = "Enter your email"
    elif len(email) > 200:
        errors["email"] = f"Email: at most 200 characters (you typed {len(email)})"
    if not password:
        errors["password"] = "Enter your password"
    elif len(password) > 500:
        errors["password"] = "Password: at most 500 characters"
    return errors


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, db: DbSession, settings: AppSettings, raw: RawForm) -> Response:
    email, password, next = raw.get("email", "").strip(), raw.get("password", ""), raw.get("next", "/me")
    errors = _login_problems(email, password)
    if errors:  # named by field, the email kept (never the password)
        return render(request, "auth/login.html", {"next": _safe_next(next), "demo": _demo_accounts(db),
                                                    "error": None, "errors": errors, "email": email}, status_code=422)
    try:
        account = auth_service.sign_in(
            db, email, password, policy=auth_service.throttle_policy(settings), source_ip=client_ip(request),
            clear=False,
        )
    except (NotAuthenticated, TooManyAttempts) as exc:
        error = "Email or password is wrong." if isinstance(exc, NotAuthenticated) else _sentence(exc.message)
        page = render(request, "auth/login.html",
                      {"next": _safe_next(next), "demo": _demo_accounts(db), "error": error, "email": email},
                      status_code=exc.status_code)
        page.headers.update(exc.headers or {})
        db.commit()  # the failure's count and audit entry stay (the page answers rather than raises)
        return page
    if mfa.enabled(account) or mfa.required_for(db, settings, account):
        start_session(request, db, account, mfa_pending=True)  # signed in only after the second factor
        return RedirectResponse("/login/mfa?" + urlencode({"next": _safe_next(next)}), status_code=303)
    auth_service.clear_failures(db, account.email)
    start_session(request, db, account)
    return RedirectResponse(_safe_next(next), status_code=303)


# --------------------------------------------------------------------------- the second factor


def _mfa_page(request: Request, db: Session, settings: Settings, account: UserAccount, next: str, *,
              errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    """The code form; a problem is shown by the Code field (the code itself is never typed back in)."""
    ctx: dict[str, Any] = {"next": _safe_next(next), "errors": errors or {}, "enrolling": not mfa.enabled(account),
                           "action": "/login/mfa", "has_passkeys": bool(passkeys.of(db, account))}
    if ctx["enrolling"]:
        secret = account.mfa_secret or mfa.begin_enrolment(db, account)
        org = db.get(Organization, account.organization_id)
        uri = mfa.provisioning_uri(account, org.name if org else "")
        ctx.update(secret=secret, qr=mfa.qr_data_uri(uri))
    return render(request, "auth/mfa.html", ctx, status_code=status_code)


def _code_problem(code: str) -> dict[str, str]:
    if not code:
        return {"code": "Enter the code from your authenticator app, or a recovery code"}
    if len(code) > 40:
        return {"code": f"Code: at most 40 characters (you typed {len(code)})"}
    return {}


@router.get("/login/mfa", response_class=HTMLResponse)
def mfa_page(request: Request, db: DbSession, settings: AppSettings, next: str | None = None) -> Response:
    account = pending_account(request, db)
    if account is None:
        return RedirectResponse("/login", status_code=303)
    return _mfa_page(request, db, settings, account, next or "/me")  # type: ignore[arg-type]


@router.post("/login/mfa", response_class=HTMLResponse)
def mfa_submit(request: Request, db: DbSession, settings: AppSettings, raw: RawForm) -> Response:
    code, next = raw.get("code", "").strip(), raw.get("next", "/me")[:500]
    account = pending_account(request, db)
    if account is None:
        return RedirectResponse("/login", status_code=303)
    assert isinstance(account, UserAccount)
    if problem := _code_problem(code):
        return _mfa_page(request, db, settings, account, next, errors=problem, status_code=422)
    if not mfa.enabled(account):  # first sign-in since the clinic required MFA (or since a reset): enrol
        try:
            codes = mfa.confirm_enrolment(db, account, code)
        except InvalidInput as exc:
            return _mfa_page(request, db, settings, account, next, errors={"code": _sentence(exc.message)},
                             status_code=422)
        auth_service.clear_failures(db, account.email)
        complete_sign_in(request, db, account)
        return render(request, "auth/mfa_codes.html", {"codes": codes, "next": _safe_next(next)})
    try:
        auth_service.second_factor(db, account, code, policy=auth_service.throttle_policy(settings),
                                   source_ip=client_ip(request))
    except (NotAuthenticated, TooManyAttempts) as exc:
        page = _mfa_page(request, db, settings, account, next, errors={"code": _sentence(exc.message)},
                         status_code=exc.status_code)
        page.headers.update(exc.headers or {})
        db.commit()  # the failure's count and audit entry stay
        return page
    complete_sign_in(request, db, account)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/account/mfa", response_class=HTMLResponse)
def account_mfa(request: Request, db: DbSession, settings: AppSettings, actor: CurrentActor) -> HTMLResponse:
    account = mfa.account_of(db, actor)
    if mfa.enabled(account):
        return render(request, "auth/mfa_status.html", {
            "left": mfa.recovery_codes_left(db, account), "required": mfa.required_for(db, settings, account)})
    page = _mfa_page(request, db, settings, account, "/account/mfa")
    return page


@router.post("/account/mfa", response_class=HTMLResponse)
def account_mfa_confirm(request: Request, db: DbSession, settings: AppSettings, actor: CurrentActor,
                        raw: RawForm) -> HTMLResponse:
    account = mfa.account_of(db, actor)
    code = raw.get("code", "").strip()
    if problem := _code_problem(code):
        return _mfa_page(request, db, settings, account, "/account/mfa", errors=problem, status_code=422)
    try:
        codes = mfa.confirm_enrolment(db, account, code)
    except InvalidInput as exc:
        return _mfa_page(request, db, settings, account, "/account/mfa", errors={"code": _sentence(exc.message)},
                         status_code=422)
    return render(request, "auth/mfa_codes.html", {"codes": codes, "next": "/account"})


@router.post("/account/mfa/recovery-codes", response_class=HTMLResponse)
def account_new_codes(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    account = mfa.account_of(db, actor)
    if not mfa.enabled(account):
        return RedirectResponse("/account/mfa", status_code=303)  # type: ignore[return-value]
    codes = mfa.new_recovery_codes(db, account)
    return render(request, "auth/mfa_codes.html", {"codes": codes, "next": "/account"})


@router.post("/logout")
def logout_page(request: Request, db: DbSession) -> Response:
    end_session(request, db)
    return RedirectResponse("/", status_code=303)


# --------------------------------------------------------------------------- passwords


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> HTMLResponse:
    return render(request, "auth/forgot.html", {"sent": False})


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot_submit(
    request: Request, db: DbSession, settings: AppSettings, background: BackgroundTasks, raw: RawForm,
) -> HTMLResponse:
    email = raw.get("email", "").strip()
    problem = "Enter your email" if not email else (
        f"Email: at most 200 characters (you typed {len(email)})" if len(email) > 200 else None)
    if problem:  # named by its field, what was typed kept
        return render(request, "auth/forgot.html", {"sent": False, "email": email, "errors": {"email": problem}},
                      status_code=422)
    pending = reset.request_reset(db, settings, email, source_ip=client_ip(request))
    background.add_task(reset.deliver, settings, request.app.state.sessionmaker, pending)  # after the answer
    return render(request, "auth/forgot.html", {"sent": True, "email": email})  # the same answer for any email


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, db: DbSession, settings: AppSettings, token: str = "") -> HTMLResponse:
    try:
        reset.account_for_token(db, settings.secret_key, token)
    except InvalidInput as exc:
        return render(request, "auth/reset.html", {"token": None, "error": _sentence(exc.message)}, status_code=400)
    return render(request, "auth/reset.html", {"token": token, "error": None})


@router.post("/password/reset", response_class=HTMLResponse)
def reset_submit(request: Request, db: DbSession, settings: AppSettings, raw: RawForm) -> Response:
    token, password, confirm = raw.get("token", "")[:500], raw.get("password", ""), raw.get("confirm", "")
    try:
        _check_new(password, confirm)
        reset.reset_password(db, settings, token, password, source_ip=client_ip(request))
    except InvalidInput as exc:
        spent = exc.field == "token"
        return render(request, "auth/reset.html", {
            "token": None if spent else token, "error": _sentence(exc.message) if spent else None,
            "errors": {} if spent else errors_from(exc, PASSWORD_LABELS)}, status_code=400 if spent else 422)
    request.session.clear()
    return RedirectResponse("/login?changed=1", status_code=303)


@router.get("/account/password", response_class=HTMLResponse)
def change_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    return render(request, "auth/change_password.html", {"error": None, "message": None})


@router.post("/account/password", response_class=HTMLResponse)
def change_submit(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> HTMLResponse:
    current_password, password, confirm = (raw.get(k, "") for k in ("current_password", "password", "confirm"))
    try:
        if not current_password:
            raise InvalidInput("Enter your current password", field="current_password")
        _check_new(password, confirm)
        reset.change_password(db, actor, current_password, password, keep_session=session_token(request))
    except InvalidInput as exc:
        return render(request, "auth/change_password.html", {
            "error": None, "errors": errors_from(exc, PASSWORD_LABELS), "message": None}, status_code=422)
    return render(request, "auth/change_password.html", {"error": None, "message": "Your new password is set."})


PASSWORD_LABELS = {"current_password": "Current password", "password": "New password", "confirm": "New password again"}


def _check_new(password: str, confirm: str) -> None:
    if not password:
        raise InvalidInput("Enter the new password", field="password")
    if len(password) > 500:
        raise InvalidInput("New password: at most 500 characters", field="password")
    if password != confirm:
        raise InvalidInput("New password again: the two new passwords differ", field="confirm")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


# --------------------------------------------------------------------------- sessions


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, db: DbSession, actor: CurrentActor, ended: int | None = None) -> HTMLResponse:
    current = sessions.session_id(session_token(request) or "")
    rows = sessions.list_for(db, actor.user_id)
    return render(request, "auth/account.html", {
        "sessions": [(row, sessions.device_label(row.user_agent), row.id == current) for row in rows],
        "message": f"{ended} session{'s' if ended != 1 else ''} ended." if ended is not None else None,
    })


@router.post("/account/sessions/{sid}/end")
def end_one_session(sid: str, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    sessions.end_one(db, actor.user_id, sid[:64])
    if sid == sessions.session_id(session_token(request) or ""):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/account?ended=1", status_code=303)


@router.post("/account/sessions/end-others")
def end_other_sessions(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    n = sessions.end_all(db, actor.user_id, keep_token=session_token(request))
    return RedirectResponse(f"/account?ended={n}", status_code=303)
