"""Map domain errors and validation failures to HTTP once: JSON for /api, pages for the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hindfoot.audit import service as audit
from hindfoot.errors import HindfootError, NotAuthenticated

PageRenderer = Callable[[Request, int, str], Response]
"""(request, status code, message) -> an HTML error page."""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def validation_payload(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for err in exc.errors():
        field = _field_name(err.get("loc", ()))
        msg = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            field, msg = "body", "malformed JSON: " + str(err.get("ctx", {}).get("error", msg))
        elif err.get("type") == "missing":
            msg = "this field is required"
        errors.append({"field": field, "message": msg, "type": err.get("type")})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return {"error": "invalid_input", "message": summary or "invalid request", "errors": errors}


def install_error_handlers(app: FastAPI, render_error: PageRenderer) -> None:
    """JSON for /api and JSON clients; for pages, ``render_error`` (the web's error page, handed in by
    ``create_app`` so that this module never imports the pages)."""

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
        if _wants_json(request):
            return JSONResponse(payload, status_code=422)
        return render_error(request, 422, payload["message"])

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            message = "no such page" if not _wants_json(request) else "not found"
        if _wants_json(request):
            return JSONResponse({"error": "http_error", "message": message}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return render_error(request, exc.status_code, message)
