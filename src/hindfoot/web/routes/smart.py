"""SMART App Launch pages: the OAuth2 authorization endpoint (sign in, pick a patient, approve or
deny an app's request), the record page's app-launch action (EHR launch), and the admin page that
registers apps and backend services. The token endpoint is in the API (api/routes/smart.py)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from hindfoot.auth.policy import require_admin
from hindfoot.db.models import ApiClient, Patient, UserAccount
from hindfoot.deps import CurrentActor, DbSession, OptionalActor
from hindfoot.errors import HindfootError, InvalidInput, NotAuthenticated
from hindfoot.fhir import scopes as smart_scopes
from hindfoot.fhir import smart
from hindfoot.patients import service as patient_service
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render, render_error

router = APIRouter()

SCOPE_WORDS = {
    "openid": "confirm who you are", "fhirUser": "know which clinician or patient you are",
    "profile": "see your name", "launch": "open with the record you are looking at",
    "launch/patient": "ask which patient's record to open", "offline_access": "keep access until you revoke it",
    "online_access": "keep access while you stay signed in",
}
PERMISSIONS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def describe(scope: str) -> str:
    if scope in SCOPE_WORDS:
        return SCOPE_WORDS[scope]
    parsed = smart_scopes.parse(scope)
    if parsed is None:
        return scope
    what = "all record types" if parsed.type == "*" else parsed.type
    verbs = " and ".join(PERMISSIONS[p] for p in "cruds" if p in parsed.permissions)
    whose = {"patient": "of this patient", "user": "you can see", "system": "of the clinic"}[parsed.context]
    return f"{verbs} {what} {whose}"


def _oauth_request(request: Request, form: list[tuple[str, str]] | None = None) -> smart.HttpRequest:
    return smart.HttpRequest(request.method, str(request.url), dict(request.headers),
                             request.query_params.multi_items(), form or [])


def _server(request: Request, db: Any) -> smart.Server:
    root = str(request.base_url).rstrip("/")
    return smart.Server(db, f"{root}/api/fhir", f"{root}/api/oauth/token")


def _oauth_error(server: smart.Server, oauth_request: smart.HttpRequest, error: OAuth2Error,
                 request: Request) -> Response:
    if getattr(error, "redirect_uri", None):  # the client and its redirect URI are known: tell the app
        status, _, headers = server.handle_error_response(oauth_request, error)
        return RedirectResponse(dict(headers)["Location"], status_code=303)
    return render_error(request, 400, f"This app's sign-in request was refused: {error.description or error.error}")


def _needs_patient(requested: list[str]) -> bool:
    return "launch/patient" in requested or any(s.startswith("patient/") for s in requested)


def _context(request: Request, db: Any, actor: Any, grant: Any, picked: str | None) -> tuple[uuid.UUID | None, bool]:
    """(the patient in context, whether the user still has to pick one)."""
    data = grant.request.payload.data
    requested = smart_scopes.split(grant.request.scope)
    if data.get("launch"):
        if "launch" not in requested:
            raise InvalidInput("an EHR launch needs the launch scope", field="scope")
        return smart.launch_patient(db, actor, grant.request.client.get_client_id(), data["launch"]), False
    if not _needs_patient(requested):
        return None, False
    if actor.role == "patient":
        return actor.patient_id, False
    if picked:
        try:
            pid = uuid.UUID(picked)
        except ValueError:
            raise InvalidInput("pick a patient from the list", field="patient_id") from None
        patient = db.get(Patient, pid)
        if patient is None or patient.organization_id != actor.organization_id:
            raise InvalidInput("pick a patient from the list", field="patient_id")
        return pid, False
    return None, True


def _validate(request: Request, db: Any, actor: Any, form: list[tuple[str, str]] | None = None) -> Any:
    server = _server(request, db)
    oauth_request = _oauth_request(request, form)
    grant = server.get_consent_grant(oauth_request, end_user=None)
    grant.validate_authorization_request()
    aud = oauth_request.payload.data.get("aud")
    if aud and aud.rstrip("/") != server.issuer:
        raise InvalidInput(f"aud must be this server's FHIR base URL, {server.issuer}", field="aud")
    return server, oauth_request, grant


@router.get("/oauth/authorize", response_class=HTMLResponse)
def authorize_page(request: Request, db: DbSession, actor: OptionalActor, name: str = "") -> Response:
    """The authorization endpoint: sign in, then see what the app asks for and approve or deny it."""
    if request.url.scheme != "https" and request.url.hostname not in ("localhost", "127.0.0.1", "::1"):
        return render_error(request, 400, "Apps may only be authorised over https.")
    if actor is None:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    try:
        server, oauth_request, grant = _validate(request, db, actor)
    except OAuth2Error as error:
        return _oauth_error(_server(request, db), _oauth_request(request), error, request)
    patient_id, must_pick = _context(request, db, actor, grant, None)
    patient = db.get(Patient, patient_id) if patient_id else None
    requested = smart_scopes.split(grant.request.scope)
    return render(request, "smart/authorize.html", {
        "client": grant.request.client.row, "scopes": [(s, describe(s)) for s in requested],
        "patient": patient, "must_pick": must_pick, "name": name,
        "candidates": smart.pickable_patients(db, actor, name) if must_pick else [],
        "action": request.url.path + "?" + request.url.query,
    })


@router.post("/oauth/authorize", response_class=HTMLResponse)
async def authorize(request: Request, db: DbSession, actor: OptionalActor) -> Response:
    """The user's decision: approve (a code goes back to the app) or deny (access_denied)."""
    if actor is None:
        raise NotAuthenticated("sign in first")
    if request.url.scheme != "https" and request.url.hostname not in ("localhost", "127.0.0.1", "::1"):
        return render_error(request, 400, "Apps may only be authorised over https.")
    form = await request.form()
    decision = form.get("decision")
    picked = form.get("patient_id")
    try:
        server, oauth_request, grant = _validate(request, db, actor)
    except OAuth2Error as error:
        return _oauth_error(_server(request, db), _oauth_request(request), error, request)
    if decision != "approve":
        status, _, headers = server.create_authorization_response(oauth_request, grant_user=None, grant=grant)
        return RedirectResponse(dict(headers)["Location"], status_code=303)
    patient_id, must_pick = _context(request, db, actor, grant, picked if isinstance(picked, str) else None)
    if must_pick:
        raise InvalidInput("pick the patient whose record the app may open", field="patient_id")
    account = db.get(UserAccount, actor.user_id)
    status, _, headers = server.create_authorization_response(
        oauth_request, grant_user=smart.Grantee(account, patient_id), grant=grant)  # type: ignore[arg-type]
    return RedirectResponse(dict(headers)["Location"], status_code=303)


@router.post("/patients/{patient_id}/launch")
def launch(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
           client_id: Annotated[str, Form(max_length=200)]) -> Response:
    """EHR launch: open a registered app for this patient (its launch URL gets `iss` and `launch`)."""
    patient_service.get_patient(db, actor, patient_id)  # authorises and audits the read
    value, client = smart.create_launch(db, actor, client_id, patient_id)
    iss = str(request.base_url).rstrip("/") + "/api/fhir"
    sep = "&" if "?" in (client.launch_url or "") else "?"
    return RedirectResponse(f"{client.launch_url}{sep}{urlencode({'iss': iss, 'launch': value})}", status_code=303)


# ----------------------------------------------------------------------------------- admin
APP_LABELS = {"kind": "Kind", "client_id": "Client id", "name": "Name", "redirect_uris": "Redirect URIs",
              "launch_url": "Launch URL", "scope": "Scope", "jwks": "Public keys (JWKS)"}
APP_LIMITS = {"client_id": 200, "name": 200, "redirect_uris": 2000, "launch_url": 500, "scope": 1000, "jwks": 20000}


def _apps_page(request: Request, db: Any, actor: Any, *, errors: dict[str, str] | None = None,
               message: str | None = None, form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    clients = list(db.scalars(select(ApiClient).where(ApiClient.organization_id == actor.organization_id)
                              .order_by(ApiClient.kind, ApiClient.name)))
    root = str(request.base_url).rstrip("/")
    return render(request, "smart/apps.html", {
        "clients": clients, "errors": errors or {}, "message": message, "form": form or {}, "labels": APP_LABELS,
        "fhir_base": f"{root}/api/fhir", "app_scopes": smart.APP_SCOPES, "backend_scopes": smart.BACKEND_SCOPES,
        "app_ceiling": smart.APP_CEILING, "backend_ceiling": smart.BACKEND_CEILING,
    }, status_code=status_code)


@router.get("/admin/apps", response_class=HTMLResponse)
def apps(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The SMART apps and backend services registered for this clinic, and a form to add one."""
    require_admin(actor)
    return _apps_page(request, db, actor)


@router.post("/admin/apps", response_class=HTMLResponse)
def register_app(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> HTMLResponse:
    """Every problem named by its field, next to it; everything typed kept."""
    require_admin(actor)
    form = {k: raw.get(k, "") for k in APP_LABELS}
    kind, client_id, name = form["kind"], form["client_id"].strip(), form["name"].strip()
    errors = {k: f"{APP_LABELS[k]}: at most {n} characters (you typed {len(form[k])})"
              for k, n in APP_LIMITS.items() if len(form[k]) > n}
    for k, value in (("client_id", client_id), ("name", name)):
        if not value and k not in errors:
            errors[k] = f"Enter the {APP_LABELS[k][:1].lower()}{APP_LABELS[k][1:]}"
    if errors:
        return _apps_page(request, db, actor, errors=errors, form=form, status_code=422)
    try:
        keys = None
        if kind == "smart-backend":
            try:
                keys = json.loads(form["jwks"] or "{}")
            except ValueError:
                raise InvalidInput("jwks must be a JSON Web Key Set (JSON)", field="jwks") from None
        with db.begin_nested():
            smart.register_client(db, actor, client_id=client_id, name=name, kind=kind,
                                  redirect_uris=form["redirect_uris"].split(), scope=form["scope"] or None,
                                  launch_url=form["launch_url"].strip() or None, jwks=keys)
    except HindfootError as exc:
        return _apps_page(request, db, actor, errors=errors_from(exc, APP_LABELS), form=form,
                          status_code=exc.status_code)
    return _apps_page(request, db, actor, message=f"{name} is registered as {client_id}.")
