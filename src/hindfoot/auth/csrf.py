"""CSRF protection: a per-session secret token, required on every state-changing request.

Forms carry it in a hidden `csrf_token` field; API clients send it in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, MutableMapping

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_token(session: MutableMapping[str, Any]) -> str:
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return str(token)


def token_matches(session: MutableMapping[str, Any], presented: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    if not expected or not presented:
        return False
    return hmac.compare_digest(str(expected), presented)
