"""SMART on FHIR endpoints of the API: the OAuth2 token endpoint, the id_token signing keys, and the
admin registration of SMART apps and backend services. The authorization endpoint is a page
(web/routes/smart.py): the user signs in and approves there. The FHIR API's own
`.well-known/smart-configuration` is served by api/routes/fhir.py."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.deps import CurrentActor, DbSession
from hindfoot.fhir import smart

public_router = APIRouter(prefix="/oauth", tags=["smart"])
router = APIRouter(tags=["smart"])


def fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/fhir"


def token_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/oauth/token"


def server_for(request: Request, db: Any) -> smart.Server:
    return smart.Server(db, fhir_base(request), token_url(request))


@public_router.post("/token")
async def token(request: Request, db: DbSession) -> Response:
    """The token endpoint (RFC 6749 section 3.2): authorization_code (+ PKCE code_verifier),
    refresh_token, and client_credentials with a private_key_jwt assertion (SMART Backend Services).
    Answers the token JSON, or an OAuth2 error JSON with 400/401."""
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    try:
        oauth_request = smart.HttpRequest("POST", str(request.url), dict(request.headers), [], items)
    except OAuth2Error as error:  # plain http to a host that is not loopback
        status, body, headers = error()
    else:
        status, body, headers = server_for(request, db).create_token_response(oauth_request)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={**dict(headers), "Cache-Control": "no-store", "Pragma": "no-cache"})


@public_router.get("/jwks")
def jwks(db: DbSession) -> dict[str, Any]:
    """The public key that signs this server's id_tokens (RS256)."""
    return smart.public_jwks(db)


class SmartClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:/@-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["smart-app", "smart-backend"]
    redirect_uris: list[str] = Field(default_factory=list, max_length=10,
                                     description="smart-app: the exact redirect URIs it may use")
    launch_url: str | None = Field(default=None, max_length=500,
                                   description="smart-app: where the record page's launch link opens it")
    scope: str | None = Field(default=None, max_length=1000,
                              description="the most the client may be granted (default: all its kind may have)")
    jwks: dict[str, Any] | None = Field(default=None, description="smart-backend: its public keys (JWKS)")


class SmartClientRead(BaseModel):
    id: str
    client_id: str
    name: str
    kind: str
    redirect_uris: list[str]
    launch_url: str | None
    scope: str


@router.post("/smart-clients", status_code=201)
def register_smart_client(body: SmartClientCreate, db: DbSession, actor: CurrentActor) -> SmartClientRead:
    """An admin registers a SMART app (public client, PKCE) or a backend service (private_key_jwt)."""
    client = smart.register_client(db, actor, client_id=body.client_id, name=body.name, kind=body.kind,
                                   redirect_uris=body.redirect_uris, scope=body.scope,
                                   launch_url=body.launch_url, jwks=body.jwks)
    return SmartClientRead(id=str(client.id), client_id=client.client_id, name=client.name, kind=client.kind,
                           redirect_uris=client.redirect_uris, launch_url=client.launch_url, scope=client.scope)
