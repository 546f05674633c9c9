"""Staff passkeys on the web: add and remove them (`/account/passkeys`), and use one instead of a code
at the second sign-in step (`/login/mfa`). The browser side is `static/js/passkeys.js`; the ceremony
endpoints answer JSON to its fetch calls (CSRF token in the X-CSRF-Token header)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.auth import mfa, passkeys, sessions
from hindfoot.auth import service as auth_service
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_staff
from hindfoot.db.models import UserAccount, UserSession
from hindfoot.deps import (
    AppSettings,
    CurrentActor,
    DbSession,
    client_ip,
    complete_sign_in,
    lifetimes,
    session_token,
)
from hindfoot.errors import InvalidInput, NotAuthenticated, TooManyAttempts
from hindfoot.web.forms import RawForm
from hindfoot.web.rendering import render
from hindfoot.web.routes.auth import _safe_next

router = APIRouter()
BODY_MAX = 20_000  # a WebAuthn credential as JSON is a few kilobytes


def _session_row(request: Request, db: Session, *, pending: bool) -> tuple[UserSession, UserAccount] | None:
    found = sessions.resolve(db, session_token(request), lifetimes(request), allow_mfa_pending=pending)
    if found is None or found[0].mfa_pending != pending:
        return None
    return found


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > BODY_MAX:
        raise InvalidInput("the credential is too large", field="credential")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise InvalidInput("malformed JSON", field="body") from exc
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object", field="body")
    return body


def _problem(exc: InvalidInput | NotAuthenticated | TooManyAttempts) -> JSONResponse:
    return JSONResponse({"error": exc.code, "message": exc.message, "field": exc.field},
                        status_code=exc.status_code, headers=getattr(exc, "headers", None) or {})


def _own(db: Session, actor: Actor) -> tuple[UserAccount, bool]:
    require_staff(actor)
    account = mfa.account_of(db, actor)
    return account, mfa.enabled(account)


@router.get("/account/passkeys", response_class=HTMLResponse)
def passkeys_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    account, mfa_on = _own(db, actor)
    return render(request, "auth/passkeys.html", {"passkeys": passkeys.of(db, account), "mfa_on": mfa_on,
                                                  "added": request.query_params.get("added") == "1"})


@router.post("/account/passkeys/options")
def registration_options(request: Request, db: DbSession, settings: AppSettings, actor: CurrentActor) -> Response:
    account, mfa_on = _own(db, actor)
    found = _session_row(request, db, pending=False)
    if not mfa_on or found is None:
        return JSONResponse({"error": "invalid_input", "field": "mfa",
                             "message": "turn on two-step sign-in with an authenticator app first"}, status_code=422)
    return Response(passkeys.registration_options(db, settings, account, found[0]), media_type="application/json")


@router.post("/account/passkeys")
async def add_passkey(request: Request, db: DbSession, settings: AppSettings, actor: CurrentActor) -> Response:
    account, _ = _own(db, actor)
    found = _session_row(request, db, pending=False)
    try:
        body = await _json_body(request)
        if found is None:
            raise InvalidInput("sign in again", field="credential")
        name = body.get("name")
        key = passkeys.register(db, settings, actor, account, found[0], body.get("credential"),
                                name if isinstance(name, str) else "")
    except InvalidInput as exc:
        db.commit()  # the challenge is spent either way
        return _problem(exc)
    return JSONResponse({"id": str(key.id), "name": key.name}, status_code=201)


@router.post("/account/passkeys/{passkey_id}/delete")
def delete_passkey(passkey_id: uuid.UUID, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    account, _ = _own(db, actor)
    passkeys.remove(db, actor, account, passkey_id)
    return RedirectResponse("/account/passkeys", status_code=303)


@router.post("/login/mfa/passkey/options")
def authentication_options(request: Request, db: DbSession, settings: AppSettings) -> Response:
    found = _session_row(request, db, pending=True)
    if found is None or not passkeys.of(db, found[1]):
        return JSONResponse({"error": "not_authenticated", "field": "credential",
                             "message": "sign in with your password first"}, status_code=401)
    return Response(passkeys.authentication_options(db, settings, found[1], found[0]), media_type="application/json")


@router.post("/login/mfa/passkey")
async def use_passkey(request: Request, db: DbSession, settings: AppSettings) -> Response:
    """The second step by passkey: a full session, and where to go next."""
    found = _session_row(request, db, pending=True)
    if found is None:
        return JSONResponse({"error": "not_authenticated", "field": "credential",
                             "message": "sign in with your password first"}, status_code=401)
    row, account = found
    try:
        body = await _json_body(request)
        credential = body.get("credential")
        auth_service.second_factor(
            db, account, "", policy=auth_service.throttle_policy(settings), source_ip=client_ip(request),
            checker=lambda: "passkey" if passkeys.check(db, settings, account, row, credential) else None)
    except (InvalidInput, NotAuthenticated, TooManyAttempts) as exc:
        db.commit()  # the spent challenge, the failure's count and its audit entry stay
        return _problem(exc)
    complete_sign_in(request, db, account)
    nxt = body.get("next")
    return JSONResponse({"redirect": _safe_next(nxt if isinstance(nxt, str) else "/me")})
