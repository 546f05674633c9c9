"""The registered client as Authlib sees it, and the grants the server offers.

Authorization code with PKCE (S256 only) and refresh token for `smart-app` clients (public, no
secret); client credentials for `smart-backend` clients, which authenticate with `private_key_jwt`
(SMART Backend Services); the OpenID Connect extension adds an RS256 id_token naming the user's
Practitioner or Patient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select

from hindfoot.auth import replay
from hindfoot.db.base import utcnow
from hindfoot.db.models import ApiClient, OAuthCode, OAuthToken, UserAccount
from hindfoot.fhir import scopes as smart_scopes
from hindfoot.fhir.smart.keys import signing_key
from hindfoot.fhir.smart.tokens import ACCESS_TOKEN_SECONDS, digest

if TYPE_CHECKING:
    from hindfoot.fhir.smart.server import Server

CODE_SECONDS = 300
ASSERTION_ALGORITHMS = ["RS384", "ES384"]


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


class Code:
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


class Token:
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
class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def get_authorization_code_challenge(self, authorization_code: Code) -> str:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str:
        return authorization_code.row.code_challenge_method


class AuthorizationCode(grants.AuthorizationCodeGrant):
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

    def query_authorization_code(self, code: str, client: SmartClient) -> Code | None:
        row = self.server.db.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code),
                                                            OAuthCode.client_id == client.get_client_id()))
        if row is None or row.expires_at < utcnow():
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.db.delete(authorization_code.row)

    def authenticate_user(self, authorization_code: Code) -> Grantee | None:
        account = self.server.db.get(UserAccount, authorization_code.row.user_id)
        if account is None or not account.active:
            return None
        return Grantee(account, authorization_code.row.patient_id)


class RefreshToken(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Server

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row = self.server.db.scalar(select(OAuthToken).where(OAuthToken.refresh_token_hash == digest(refresh_token)))
        if row is None:
            return None
        token = Token(row)
        return None if token.is_revoked() or token.is_expired() else token

    def authenticate_user(self, refresh_token: Token) -> Grantee | None:
        if refresh_token.row.user_id is None:
            return None
        account = self.server.db.get(UserAccount, refresh_token.row.user_id)
        if account is None or not account.active:
            return None
        return Grantee(account, refresh_token.row.patient_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.revoked = True


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class PrivateKeyJwt(JWTBearerClientAssertion):
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


class OpenID(OpenIDCode):
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
