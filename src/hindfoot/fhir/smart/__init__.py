"""SMART App Launch 2.0 and SMART Backend Services: the OAuth2 / OpenID Connect authorization server.

Built on Authlib's framework-neutral `AuthorizationServer` and grants (RFC 6749 authorization code and
refresh token, RFC 7636 PKCE with S256 only, RFC 7523 private_key_jwt client assertions, OpenID
Connect id_tokens); this package supplies the storage (the rows of `db/models/oauth.py`) and the SMART
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

One module per job (import from the package):

- `server.py`: the per-request `Server` (Authlib's), the `HttpRequest` the web layer hands it, and
  storing the tokens it issues;
- `grants.py`: the registered client as Authlib sees it, the grants (authorization code with PKCE
  S256, refresh token, client credentials), `private_key_jwt` client authentication and the
  OpenID Connect id_token;
- `tokens.py`: a presented access token → `Actor`; forgetting spent codes, launches and tokens;
- `keys.py`: the server's id_token signing key and its public JWKS;
- `launches.py`: EHR launches from the record page, the apps that can be launched, the patients a
  clinician may pick;
- `clients.py`: registering apps and backend services, and the scopes they may be given;
- `discovery.py`: `.well-known/smart-configuration`.
"""

from hindfoot.fhir.smart.clients import (
    APP_CEILING,
    APP_SCOPES,
    BACKEND_CEILING,
    BACKEND_SCOPES,
    register_client,
)
from hindfoot.fhir.smart.discovery import CAPABILITIES, configuration
from hindfoot.fhir.smart.grants import ASSERTION_ALGORITHMS, CODE_SECONDS, Grantee, SmartClient
from hindfoot.fhir.smart.keys import public_jwks, signing_key
from hindfoot.fhir.smart.launches import (
    LAUNCH_SECONDS,
    create_launch,
    launch_apps,
    launch_patient,
    pickable_patients,
)
from hindfoot.fhir.smart.server import HttpRequest, Server
from hindfoot.fhir.smart.tokens import (
    ACCESS_TOKEN_SECONDS,
    REFRESH_TOKEN_DAYS,
    actor_for_token,
    digest,
    prune,
)

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "APP_CEILING",
    "APP_SCOPES",
    "ASSERTION_ALGORITHMS",
    "BACKEND_CEILING",
    "BACKEND_SCOPES",
    "CAPABILITIES",
    "CODE_SECONDS",
    "LAUNCH_SECONDS",
    "REFRESH_TOKEN_DAYS",
    "Grantee",
    "HttpRequest",
    "Server",
    "SmartClient",
    "actor_for_token",
    "configuration",
    "create_launch",
    "digest",
    "launch_apps",
    "launch_patient",
    "pickable_patients",
    "prune",
    "public_jwks",
    "register_client",
    "signing_key",
]
