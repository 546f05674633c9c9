"""The CSRF check shared by API and pages: unsafe methods need the session's token."""

from __future__ import annotations

from fastapi import Request

from hindfoot.auth.csrf import CSRF_FORM_FIELD, CSRF_HEADER, SAFE_METHODS, token_matches
from hindfoot.errors import Forbidden


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if not presented and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        presented = value if isinstance(value, str) else None
    if not token_matches(request.session, presented):
        raise Forbidden("missing or invalid CSRF token; reload the page and try again", field=CSRF_FORM_FIELD)
