"""CSRF protection: a per-session token, required on every state-changing request.

The token is derived from the cookie's session id (SHA-256 with a purpose prefix), so the cookie
holds nothing but that id, the page can show the token without showing the id, and a new session
(every sign-in) has a new token. A visitor who is not signed in gets an id too, one that matches no
stored session. Forms carry the token in a hidden `csrf_token` field; API clients send it in the
`X-CSRF-Token` header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

SESSION_KEY = "sid"  # the same key as hindfoot.auth.sessions.COOKIE_KEY
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _derive(sid: str) -> str:
    return hashlib.sha256(b"hindfoot-csrf:" + sid.encode()).hexdigest()


def csrf_token(session: MutableMapping[str, Any]) -> str:
    sid = session.get(SESSION_KEY)
    if not sid or not isinstance(sid, str):
        sid = secrets.token_urlsafe(32)
        session[SESSION_KEY] = sid
    return _derive(sid)


def token_matches(session: MutableMapping[str, Any], presented: str | None) -> bool:
    sid = session.get(SESSION_KEY)
    if not sid or not isinstance(sid, str) or not presented:
        return False
    return hmac.compare_digest(_derive(sid), presented)
