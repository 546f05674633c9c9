from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hindfoot.auth import service as auth_service
from hindfoot.deps import AppSettings, DbSession, OptionalActor, client_ip
from hindfoot.errors import NotAuthenticated, TooManyAttempts
from hindfoot.web.rendering import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/me"


def _demo_accounts(db: DbSession) -> list[tuple[str, str, str, str]]:
    from hindfoot.demo import DEMO_PASSWORD, demo_accounts

    return [(*a, DEMO_PASSWORD) for a in demo_accounts(db)] if demo_accounts else []  # type: ignore[misc]


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: DbSession, actor: OptionalActor, next: str | None = None) -> Response:
    if actor:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": _safe_next(next), "demo": _demo_accounts(db), "error": None})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form()] = "/me",
) -> Response:
    try:
        account = auth_service.sign_in(
            db, request.app.state.sessionmaker, email, password,
            policy=auth_service.throttle_policy(settings), source_ip=client_ip(request),
        )
    except (NotAuthenticated, TooManyAttempts) as exc:
        error = "Email or password is wrong." if isinstance(exc, NotAuthenticated) else (
            exc.message[0].upper() + exc.message[1:] + "."
        )
        page = render(request, "auth/login.html",
                      {"next": _safe_next(next), "demo": _demo_accounts(db), "error": error, "email": email},
                      status_code=exc.status_code)
        page.headers.update(exc.headers or {})
        return page
    request.session.clear()
    request.session["user_id"] = str(account.id)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)
