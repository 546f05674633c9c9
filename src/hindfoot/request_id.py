"""Every request gets an id; no unexpected exception leaves without being logged with it.

`RequestIdMiddleware` is a plain ASGI middleware just inside Starlette's ServerErrorMiddleware:
- it takes a sane `X-Request-ID` from the client (a proxy's), or makes one, and returns it on
  every answer, so a user's report and the log line meet;
- an exception that no handler in `api/errors.py` mapped (a bug) is logged once, with the
  request id, method and path and its traceback, on the `hindfoot.errors` logger, and answered
  500 with the id (JSON for the API, a page otherwise) instead of a bare "Internal Server Error".
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
request_id_var: ContextVar[str | None] = ContextVar("hindfoot_request_id", default=None)
log = logging.getLogger("hindfoot.errors")


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record (\"-\" outside a request), for log formats that show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = given if _SANE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error request_id=%s %s %s", rid, scope.get("method"), scope.get("path"))
            if started:  # the answer is half sent: nothing better to do than let the server drop it
                raise
            response = _error_response(Request(scope, receive), rid)
            await response(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def _error_response(request: Request, rid: str):  # type: ignore[no-untyped-def]
    from fastapi.responses import JSONResponse

    message = f"something went wrong on our side; it has been logged as {rid}"
    if request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": "internal_error", "message": message, "request_id": rid}, status_code=500)
    try:
        from hindfoot.web.rendering import render_error

        return render_error(request, 500, message)
    except Exception:  # noqa: BLE001 - the error page itself failed: plain text still carries the id
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(message, status_code=500)
