"""Browser hardening in one place: every answer gets the security headers; dynamic answers are not stored.

- Content-Security-Policy: scripts and styles only from this server's files (no inline <script>,
  no event-handler attributes, no eval, no <style> elements); `style` attributes stay allowed for the
  computed bar widths (they cannot run code); no plugins; forms post only here; no framing.
- X-Frame-Options DENY (older browsers' frame-ancestors), nosniff, Referrer-Policy same-origin.
- Strict-Transport-Security when the request came over HTTPS (behind a proxy: run uvicorn with
  --proxy-headers so the scheme is known).
- Cache-Control: no-store on every answer outside /static: pages and API answers carry patient data,
  and a shared computer's back button or a proxy must not keep them.

A plain ASGI middleware (not BaseHTTPMiddleware): it only edits the response's start message.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
# Swagger UI (/api/docs) is FastAPI's page: an inline bootstrap script and its files from jsDelivr.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", (DOCS_CSP if path == "/api/docs" else CSP).encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                if not path.startswith("/static/"):
                    headers = [(n, v) for n, v in headers if n.lower() not in (b"cache-control", b"pragma")]
                    extra += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
