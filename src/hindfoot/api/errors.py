"""Map domain errors and validation failures to HTTP once: JSON for /api, pages for the rest."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from hindfoot.audit import service as audit
from hindfoot.errors import HindfootError, NotAuthenticated


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


FHIR_PREFIX = "/api/fhir"
FHIR_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
              406: "not-supported", 409: "conflict", 410: "deleted", 412: "conflict", 422: "processing",
              429: "throttled"}


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith(FHIR_PREFIX)


def operation_outcome(status: int, message: str, field: str | None = None,
                      headers: dict[str, str] | None = None) -> Response:
    """The FHIR API answers every error with an OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html)."""
    import orjson

    issue: dict[str, Any] = {"severity": "error", "code": FHIR_ISSUE.get(status, "exception"),
                             "diagnostics": message}
    if field:
        issue["expression"] = [field]
    body = {"resourceType": "OperationOutcome",
            "text": {"status": "generated",
                     "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
                            + message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                            + "</p></div>"},
            "issue": [issue]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/fhir+json", headers=headers)


def validation_payload(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        field = _field_name(err.get("loc", ()))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            field, msg = "body", "malformed JSON: " + str(err.get("ctx", {}).get("error", msg))
        elif err.get("type") == "missing":
            msg = "this field is required"
        errors.append({"field": field, "message": msg, "type": err.get("type")})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return {"error": "invalid_input", "message": summary or "invalid request", "errors": errors}


log = logging.getLogger("hindfoot.errors")
BUSY_RETRY_AFTER_SECONDS = 2


def install_error_handlers(app: FastAPI) -> None:
    from hindfoot.web.rendering import render_error

    @app.exception_handler(HindfootError)
    async def _domain_error(request: Request, exc: HindfootError) -> Response:
        if exc.denial is not None:  # access refused, or a refused pathway move: on the record all the same
            d = exc.denial
            audit.record_denial(
                request.app.state.sessionmaker,
                getattr(request.state, "actor", None),
                d.action,
                d.entity_type,
                d.entity_id,
                patient_id=d.patient_id,  # type: ignore[arg-type]
                description=d.description,
            )
        if _is_fhir(request):
            return operation_outcome(exc.status_code, exc.message, exc.field, exc.headers)
        if _wants_json(request):
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        page = render_error(request, exc.status_code, exc.message)
        page.headers.update(exc.headers or {})
        return page

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        payload = validation_payload(exc)
        if _is_fhir(request):
            first = payload["errors"][0]["field"] if payload["errors"] else None
            return operation_outcome(400, payload["message"], first)
        if _wants_json(request):
            return JSONResponse(payload, status_code=422)
        return render_error(request, 422, payload["message"])

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            message = "no such page" if not _wants_json(request) else "not found"
        if _is_fhir(request):
            if exc.status_code == 404:
                message = f"{request.url.path} is not served by this FHIR server (see /api/fhir/metadata)"
            return operation_outcome(exc.status_code, message, None, getattr(exc, "headers", None))
        if _wants_json(request):
            return JSONResponse({"error": "http_error", "message": message}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return render_error(request, exc.status_code, message)

    # The database said "not now" rather than "no": the connection pool stayed exhausted for the
    # whole pool timeout, the server is unreachable, SQLite's writer lock outlasted busy_timeout, or
    # PostgreSQL broke a deadlock. Nothing was written (the unit of work rolled back); the same
    # request is likely to succeed in a moment, so the answer is 503 with Retry-After, never a 500.
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(sa_exc.OperationalError)
    async def _busy(request: Request, exc: Exception) -> Response:
        log.warning("database busy request_id=%s %s %s: %s", getattr(request.state, "request_id", "-"),
                    request.method, request.url.path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        message = "the clinic's server is busy: please try again in a moment"
        headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
        if _wants_json(request):
            return JSONResponse({"error": "busy", "message": message, "retry_after_seconds": BUSY_RETRY_AFTER_SECONDS},
                                status_code=503, headers=headers)
        page = render_error(request, 503, message)
        page.headers.update(headers)
        return page

    # A constraint refused a write that a concurrent request made first (e.g. the same unique
    # value at the same moment): the caller's view was out of date, which is a conflict.
    @app.exception_handler(sa_exc.IntegrityError)
    async def _integrity(request: Request, exc: Exception) -> Response:
        log.warning("integrity conflict request_id=%s %s %s", getattr(request.state, "request_id", "-"),
                    request.method, request.url.path)
        message = "someone else changed this at the same moment: reload and try again"
        if _wants_json(request):
            return JSONResponse({"error": "conflict", "message": message}, status_code=409)
        return render_error(request, 409, message)
