"""The authorization server, one per request, on Authlib's framework-neutral `AuthorizationServer`.

The web layer builds an `HttpRequest` from what it received and hands it to `Server`, which
carries the request's database session, runs the grants of `grants.py` and stores the tokens it
issues (their SHA-256 only), auditing each one issued to a user.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.db.base import utcnow
from hindfoot.db.models import ApiClient, OAuthToken
from hindfoot.fhir import scopes as smart_scopes
from hindfoot.fhir.smart.grants import (
    AuthorizationCode,
    ClientCredentials,
    Grantee,
    OpenID,
    PrivateKeyJwt,
    RefreshToken,
    S256Only,
    SmartClient,
)
from hindfoot.fhir.smart.tokens import (
    ACCESS_TOKEN_SECONDS,
    REFRESH_TOKEN_DAYS,
    actor_for,
    digest,
    prune,
)


# ------------------------------------------------------------------------------------ requests
class _Payload(OAuth2Payload):
    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class HttpRequest(OAuth2Request):
    """An HTTP request as Authlib sees it, built by the web layer from what it received."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], query: Sequence[tuple[str, str]],
                 form: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = _Payload([*query, *form])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# -------------------------------------------------------------------------------------- server
class Server(AuthorizationServer):
    """One per request: it carries the request's database session. `issuer` is the FHIR base URL
    (the `aud` an app must ask for), `token_url` the token endpoint (a backend assertion's `aud`)."""

    def __init__(self, db: Session, issuer: str, token_url: str) -> None:
        super().__init__(scopes_supported=None)
        self.db = db
        self.issuer = issuer
        self.token_url = token_url
        self.register_token_generator("default", BearerTokenGenerator(
            access_token_generator=lambda *a, **k: secrets.token_urlsafe(32),
            refresh_token_generator=_refresh_token,
            expires_generator=lambda *a, **k: ACCESS_TOKEN_SECONDS,
        ))
        self.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(self))
        self.register_grant(AuthorizationCode, [S256Only(required=True), OpenID(self)])
        self.register_grant(RefreshToken)
        self.register_grant(ClientCredentials)

    def query_client(self, client_id: str) -> SmartClient | None:
        row = self.db.scalar(select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.active.is_(True),
                                                     ApiClient.kind.in_(("smart-app", "smart-backend"))))
        return SmartClient(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        prune(self.db)
        grantee: Grantee | None = request.user if isinstance(request.user, Grantee) else None
        if token.get("refresh_token") is None:
            token.pop("refresh_token", None)  # none asked for (no offline_access): not even a null
        now = utcnow()
        scope = token.get("scope", "")
        patient_id = grantee.patient_id if grantee else None
        self.db.add(OAuthToken(
            access_token_hash=digest(token["access_token"]),
            refresh_token_hash=digest(token["refresh_token"]) if token.get("refresh_token") else None,
            client_id=request.client.get_client_id(), user_id=grantee.account.id if grantee else None,
            scope=scope, patient_id=patient_id, expires_at=now + timedelta(seconds=token["expires_in"]),
            refresh_expires_at=now + timedelta(days=REFRESH_TOKEN_DAYS) if token.get("refresh_token") else None))
        self.db.flush()
        if patient_id is not None and {"launch", "launch/patient"} & set(smart_scopes.split(scope)):
            token["patient"] = str(patient_id)
            token["need_patient_banner"] = True
        if grantee is not None:
            audit.record(self.db, actor_for(grantee.account, request.client.get_client_id()), audit.CREATE,
                         "OAuthToken", None, patient_id=patient_id,
                         description=f"SMART token for {request.client.get_client_id()}: {scope}")

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def _refresh_token(client: SmartClient, grant_type: str, user: Any, scope: str | None) -> str | None:
    # only a grant that asked for it gets a refresh token (offline_access, or online_access)
    wanted = set(smart_scopes.split(scope))
    return secrets.token_urlsafe(32) if wanted & {"offline_access", "online_access"} else None
