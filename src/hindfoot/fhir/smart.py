"""SMART App Launch 2.0 and SMART Backend Services: the OAuth2 / OpenID Connect authorization server.

Built on Authlib's framework-neutral `AuthorizationServer` and grants (RFC 6749 authorization code and
refresh token, RFC 7636 PKCE with S256 only, RFC 7523 private_key_jwt client assertions, OpenID
Connect id_tokens); this module supplies the storage (the rows of `db/models/oauth.py`) and the SMART
rules on top:

- A `smart-app` client is public (no secret): authorization code with PKCE, exact redirect URIs,
  scopes within those it was registered for. EHR launch (`launch` from the record page) and
  standalone launch (`launch/patient`: the patient's own record, or a patient picked by a clinician)
  both put the patient in the token response; `openid fhirUser` adds an RS256 id_token naming the
  user's Practitioner or Patient; `offline_access` adds a refresh token.
- A `smart-backend` client authenticates with a JWT signed by a key of its registered JWKS
  (`private_key_jwt`, each `jti` accepted once) and gets `system/` scopes for its organisation.

Access tokens are opaque random strings; only their SHA-256 is stored. `actor_for_token` turns a
presented token into the `Actor` the FHIR API authorises and audits, carrying its scopes.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth import replay
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    ApiClient,
    OAuthCode,
    OAuthToken,
    Patient,
    SigningKey,
    SmartLaunch,
    UserAccount,
)
from hindfoot.errors import Conflict, InvalidInput, NotAuthenticated
from hindfoot.fhir import scopes as smart_scopes

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_DAYS = 30
CODE_SECONDS = 300
LAUNCH_SECONDS = 600
ASSERTION_ALGORITHMS = ["RS384", "ES384"]
# what a client is registered for unless the admin says otherwise: reading
APP_SCOPES = ("launch launch/patient openid fhirUser offline_access online_access "
              "patient/*.rs user/*.rs patient/*.read user/*.read")
BACKEND_SCOPES = "system/*.rs system/*.read"
# the most an admin may register one for: also create and update (of what the API can write)
APP_CEILING = APP_SCOPES + " patient/*.cruds user/*.cruds patient/*.write user/*.write"
BACKEND_CEILING = BACKEND_SCOPES + " system/*.cruds system/*.write"
CAPABILITIES = ["launch-ehr", "launch-standalone", "client-public", "context-ehr-patient",
                "context-standalone-patient", "context-banner", "context-style", "permission-offline",
                "permission-online", "permission-patient", "permission-user", "permission-v1", "permission-v2",
                "sso-openid-connect", "authorize-post"]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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


@dataclass
class Grantee:
    """Who approved an authorization request, and the patient they put in its context."""

    account: UserAccount
    patient_id: uuid.UUID | None


# ------------------------------------------------------------------------------------- clients
class SmartClient(ClientMixin):
    def __init__(self, row: ApiClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.row.redirect_uris[0] if self.row.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return smart_scopes.allowed(scope, self.row.scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # no client has a shared secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == ("private_key_jwt" if self.row.kind == "smart-backend" else "none")

    def check_response_type(self, response_type: str) -> bool:
        return self.row.kind == "smart-app" and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.row.kind == "smart-backend":
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")


class _Code:
    """An authorization code row as Authlib's grants and OpenID extension read it."""

    def __init__(self, row: OAuthCode) -> None:
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.created_at.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Token:
    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    def check_client(self, client: SmartClient) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return ACCESS_TOKEN_SECONDS

    def is_expired(self) -> bool:
        return self.row.refresh_expires_at is None or self.row.refresh_expires_at < utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked


# -------------------------------------------------------------------------------------- grants
class _S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def get_authorization_code_challenge(self, authorization_code: _Code) -> str:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: _Code) -> str:
        return authorization_code.row.code_challenge_method


class _AuthorizationCode(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    server: Server

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        grantee: Grantee = request.user
        data = request.payload.data
        self.server.db.add(OAuthCode(
            code_hash=digest(code), client_id=request.client.get_client_id(), user_id=grantee.account.id,
            redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri(),
            scope=request.scope or "", code_challenge=data["code_challenge"],
            code_challenge_method=data.get("code_challenge_method", "S256"), nonce=data.get("nonce"),
            patient_id=grantee.patient_id, expires_at=utcnow() + timedelta(seconds=CODE_SECONDS)))

    def query_authorization_code(self, code: str, client: SmartClient) -> _Code | None:
        row = self.server.db.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code),
                                                            OAuthCode.client_id == client.get_client_id()))
        if row is None or row.expires_at < utcnow():
            return None
        return _Code(row)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.db.delete(authorization_code.row)

    def authenticate_user(self, authorization_code: _Code) -> Grantee | None:
        account = self.server.db.get(UserAccount, authorization_code.row.user_id)
        if account is None or not account.active:
            return None
        return Grantee(account, authorization_code.row.patient_id)


class _RefreshToken(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Server

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        row = self.server.db.scalar(select(OAuthToken).where(OAuthToken.refresh_token_hash == digest(refresh_token)))
        if row is None:
            return None
        token = _Token(row)
        return None if token.is_revoked() or token.is_expired() else token

    def authenticate_user(self, refresh_token: _Token) -> Grantee | None:
        if refresh_token.row.user_id is None:
            return None
        account = self.server.db.get(UserAccount, refresh_token.row.user_id)
        if account is None or not account.active:
            return None
        return Grantee(account, refresh_token.row.patient_id)

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        refresh_token.row.revoked = True


class _ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class _PrivateKeyJwt(JWTBearerClientAssertion):
    """SMART Backend Services client authentication: a JWT signed by a key of the client's JWKS,
    `aud` the token endpoint, each `jti` accepted once (remembered until the JWT expires)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: Server) -> None:
        super().__init__(validate_jti=True)
        self.server = server

    def get_audiences(self) -> list[str]:
        return [self.server.token_url]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        # SMART Backend Services signs with RS384 or ES384, which joserfc does not accept by default
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description) from exc
        self.verify_claims(token.claims)
        return token.claims

    def resolve_client_public_key(self, client: SmartClient) -> KeySet:
        return KeySet.import_key_set(client.row.jwks)  # type: ignore[arg-type]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return replay.remember_jti(self.server.db, str(claims["iss"]), str(jti), int(claims["exp"]))


class _OpenID(OpenIDCode):
    def __init__(self, server: Server) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.server.db.scalar(select(OAuthCode.id).where(OAuthCode.nonce == nonce)) is not None

    def resolve_client_private_key(self, client: SmartClient) -> RSAKey:
        return signing_key(self.server.db)

    def get_client_algorithm(self, client: SmartClient) -> str:
        return "RS256"

    def get_client_claims(self, client: SmartClient) -> dict[str, Any]:
        return {"iss": self.server.issuer, "aud": [client.get_client_id()]}

    def get_encode_header(self, client: SmartClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": signing_key(self.server.db).kid or ""}

    def generate_user_info(self, user: Grantee, scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {"sub": str(user.account.id), "name": user.account.display_name}
        if "fhirUser" in smart_scopes.split(scope):
            if user.account.practitioner_id is not None:
                info["fhirUser"] = f"{self.server.issuer}/Practitioner/{user.account.practitioner_id}"
            elif user.account.patient_id is not None:
                info["fhirUser"] = f"{self.server.issuer}/Patient/{user.account.patient_id}"
        return info


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
        self.register_client_auth_method(_PrivateKeyJwt.CLIENT_AUTH_METHOD, _PrivateKeyJwt(self))
        self.register_grant(_AuthorizationCode, [_S256Only(required=True), _OpenID(self)])
        self.register_grant(_RefreshToken)
        self.register_grant(_ClientCredentials)

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
            audit.record(self.db, _actor(grantee.account, request.client.get_client_id()), audit.CREATE,
                         "OAuthToken", None, patient_id=patient_id,
                         description=f"SMART token for {request.client.get_client_id()}: {scope}")

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def prune(db: Session) -> None:
    """Forget codes, launches and tokens that can no longer be used (keeps the tables small)."""
    now = utcnow()
    db.execute(delete(OAuthCode).where(OAuthCode.expires_at < now))
    db.execute(delete(SmartLaunch).where(SmartLaunch.expires_at < now))
    db.execute(delete(OAuthToken).where(OAuthToken.expires_at < now, or_(
        OAuthToken.refresh_expires_at.is_(None), OAuthToken.refresh_expires_at < now, OAuthToken.revoked.is_(True))))


def _refresh_token(client: SmartClient, grant_type: str, user: Any, scope: str | None) -> str | None:
    # only a grant that asked for it gets a refresh token (offline_access, or online_access)
    wanted = set(smart_scopes.split(scope))
    return secrets.token_urlsafe(32) if wanted & {"offline_access", "online_access"} else None


def configuration(fhir_base: str, authorize_url: str, token_url: str, jwks_url: str) -> dict[str, Any]:
    """`.well-known/smart-configuration` (SMART App Launch 2.0, section 2.2)."""
    return {
        "issuer": fhir_base,
        "jwks_uri": jwks_url,
        "authorization_endpoint": authorize_url,
        "token_endpoint": token_url,
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "scopes_supported": sorted(set(smart_scopes.split(APP_CEILING + " " + BACKEND_CEILING))),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "capabilities": CAPABILITIES,
    }


# ------------------------------------------------------------------------------- keys and jtis
_KEYS: dict[str, RSAKey] = {}


def signing_key(db: Session) -> RSAKey:
    """The server's RS256 key for id_tokens, made (and stored) the first time it is needed."""
    row = db.scalar(select(SigningKey).order_by(SigningKey.created_at))
    if row is None:
        key = RSAKey.generate_key(2048, private=True, auto_kid=True)
        row = SigningKey(kid=key.kid, private_jwk=key.as_dict(private=True))
        db.add(row)
        db.flush()
    if row.kid not in _KEYS:
        _KEYS[row.kid] = RSAKey.import_key(row.private_jwk)  # type: ignore[arg-type]
    return _KEYS[row.kid]


def public_jwks(db: Session) -> dict[str, Any]:
    key = signing_key(db)
    return {"keys": [{**key.as_dict(private=False), "alg": "RS256", "use": "sig"}]}


# -------------------------------------------------------------------------------------- tokens
def _actor(account: UserAccount, client_id: str, **extra: Any) -> Actor:
    base = Actor.from_account(account)
    return Actor(**{**base.__dict__, "client_id": client_id, **extra})


def actor_for_token(db: Session, token: str, *, source_ip: str | None = None, path: str | None = None) -> Actor:
    """The actor a bearer access token stands for, with its scopes (401 if unknown, expired or revoked)."""
    row = db.scalar(select(OAuthToken).where(OAuthToken.access_token_hash == digest(token)))
    if row is None or row.revoked or row.expires_at < utcnow():
        raise NotAuthenticated("the access token is unknown, expired or revoked")
    granted = frozenset(smart_scopes.split(row.scope))
    if row.user_id is None:  # a backend service: its organisation, system scopes only
        client = db.scalar(select(ApiClient).where(ApiClient.client_id == row.client_id, ApiClient.active.is_(True)))
        if client is None:
            raise NotAuthenticated("the client of this token is no longer registered")
        return Actor(user_id=None, email=f"smart-backend:{client.client_id}", role="clinician",  # type: ignore[arg-type]
                     organization_id=client.organization_id, display_name=client.name, source_ip=source_ip,
                     path=path, scopes=frozenset(s for s in granted if s.startswith("system/")),
                     client_id=client.client_id)
    account = db.get(UserAccount, row.user_id)
    if account is None or not account.active:
        raise NotAuthenticated("the user of this token can no longer sign in")
    contexts = smart_scopes.contexts(granted)
    usable = frozenset(s for s in granted if not s.startswith("system/"))
    limited = None
    if "patient" in contexts and account.role != "patient":
        if row.patient_id is not None:
            limited = row.patient_id  # any patient-level scope: the launch patient's compartment only
        else:  # patient scopes without a patient in context reach nothing
            usable = frozenset(s for s in usable if not s.startswith("patient/"))
    return _actor(account, row.client_id, source_ip=source_ip, path=path, scopes=usable, smart_patient_id=limited)


# ------------------------------------------------------------------------------------- launches
def create_launch(db: Session, actor: Actor, client_id: str, patient_id: uuid.UUID) -> tuple[str, ApiClient]:
    """An EHR launch from the record page: a one-use `launch` value naming the patient, for this user."""
    client = db.scalar(select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.kind == "smart-app",
                                               ApiClient.active.is_(True)))
    if client is None or client.organization_id != actor.organization_id or not client.launch_url:
        raise InvalidInput(f"no app {client_id!r} with a launch URL is registered", field="client_id")
    if actor.user_id is None:
        raise NotAuthenticated("sign in first")
    value = secrets.token_urlsafe(24)
    db.add(SmartLaunch(token_hash=digest(value), client_id=client_id, user_id=actor.user_id, patient_id=patient_id,
                       expires_at=utcnow() + timedelta(seconds=LAUNCH_SECONDS)))
    return value, client


def launch_patient(db: Session, actor: Actor, client_id: str, launch: str) -> uuid.UUID:
    """The patient an EHR launch named (it must be this user's, for this app, and fresh)."""
    row = db.scalar(select(SmartLaunch).where(SmartLaunch.token_hash == digest(launch)))
    if row is None or row.client_id != client_id or row.user_id != actor.user_id or row.expires_at < utcnow():
        raise InvalidInput("the launch is unknown, expired or not for this app and user", field="launch")
    return row.patient_id


def launch_apps(db: Session, actor: Actor) -> list[ApiClient]:
    """The apps of the actor's organisation that can be launched from a record."""
    return list(db.scalars(_LAUNCHABLE, {"organization_id": actor.organization_id}))


# every record page asks it: built once, the organisation bound
_LAUNCHABLE = select(ApiClient).where(
    ApiClient.organization_id == bindparam("organization_id"), ApiClient.kind == "smart-app",
    ApiClient.active.is_(True), ApiClient.launch_url.is_not(None)).order_by(ApiClient.name)


def pickable_patients(db: Session, actor: Actor, name: str = "", limit: int = 50) -> list[Patient]:
    """Patients a clinician may put in a standalone launch's context (their organisation's)."""
    stmt = select(Patient).where(Patient.organization_id == actor.organization_id)
    if name:
        needle = name.lower() + "%"
        from sqlalchemy import func, or_

        stmt = stmt.where(or_(func.lower(Patient.family_name).like(needle), func.lower(Patient.given_name).like(needle)))
    return list(db.scalars(stmt.order_by(Patient.family_name, Patient.given_name).limit(limit)))


# --------------------------------------------------------------------------------- registration
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


def invalid_client(message: str) -> InvalidClientError:
    return InvalidClientError(description=message)
