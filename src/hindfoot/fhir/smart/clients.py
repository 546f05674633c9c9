"""Registering SMART clients: an admin registers an app (public, PKCE; its redirect URIs) or a
backend service (its JWKS), and the scopes each kind may be registered for."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.db.models import ApiClient
from hindfoot.errors import Conflict, InvalidInput
from hindfoot.fhir import scopes as smart_scopes

# what a client is registered for unless the admin says otherwise: reading
APP_SCOPES = ("launch launch/patient openid fhirUser offline_access online_access "
              "patient/*.rs user/*.rs patient/*.read user/*.read")
BACKEND_SCOPES = "system/*.rs system/*.read"
# the most an admin may register one for: also create and update (of what the API can write)
APP_CEILING = APP_SCOPES + " patient/*.cruds user/*.cruds patient/*.write user/*.write"
BACKEND_CEILING = BACKEND_SCOPES + " system/*.cruds system/*.write"


def register_client(db: Session, actor: Actor, *, client_id: str, name: str, kind: str,
                    redirect_uris: list[str] | None = None, scope: str | None = None,
                    launch_url: str | None = None, jwks: dict[str, Any] | None = None) -> ApiClient:
    """An admin registers a SMART app (public, PKCE; its redirect URIs) or a backend service (its JWKS)."""
    require_admin(actor)
    if kind not in ("smart-app", "smart-backend"):
        raise InvalidInput("kind must be smart-app or smart-backend", field="kind")
    ceiling = APP_CEILING if kind == "smart-app" else BACKEND_CEILING
    requested = smart_scopes.split(scope) or smart_scopes.split(APP_SCOPES if kind == "smart-app" else BACKEND_SCOPES)
    unknown = [s for s in requested if s not in smart_scopes.split(smart_scopes.allowed(s, ceiling))]
    if unknown:
        raise InvalidInput(f"scope: {', '.join(unknown)} cannot be granted to a {kind} (allowed: {ceiling})",
                           field="scope")
    keys: dict[str, Any] = {}
    uris = [u.strip() for u in (redirect_uris or []) if u.strip()]
    if kind == "smart-app":
        if not uris:
            raise InvalidInput("a SMART app needs at least one redirect URI", field="redirect_uris")
        for uri in [*uris, *([launch_url] if launch_url else [])]:
            if not uri.startswith(("https://", "http://localhost", "http://127.0.0.1")):
                raise InvalidInput(f"{uri!r}: redirect and launch URLs must be https (or a loopback http)",
                                   field="redirect_uris")
    else:
        try:
            parsed = KeySet.import_key_set(jwks or {})  # type: ignore[arg-type]
        except Exception as exc:  # joserfc raises several kinds for a malformed set
            raise InvalidInput(f"jwks is not a JSON Web Key Set: {exc}", field="jwks") from None
        if not parsed.keys:
            raise InvalidInput("a backend service needs a JWKS with its public key", field="jwks")
        if any(k.is_private for k in parsed.keys):
            raise InvalidInput("jwks must hold public keys only", field="jwks")
        keys = {"keys": [k.as_dict(private=False) for k in parsed.keys]}
    if db.scalar(select(ApiClient.id).where(ApiClient.client_id == client_id)) is not None:
        raise Conflict(f"a client {client_id!r} is already registered", field="client_id")
    client = ApiClient(organization_id=actor.organization_id, client_id=client_id, name=name, kind=kind, jwks=keys,
                       redirect_uris=uris, scope=" ".join(requested),
                       launch_url=launch_url if kind == "smart-app" else None)
    db.add(client)
    db.flush()
    audit.record(db, actor, audit.CREATE, "ApiClient", client.id, description=f"SMART {kind} {client_id} registered")
    return client
