"""`.well-known/smart-configuration`: what the authorization server offers (SMART App Launch 2.0)."""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import scopes as smart_scopes
from hindfoot.fhir.smart.clients import APP_CEILING, BACKEND_CEILING
from hindfoot.fhir.smart.grants import ASSERTION_ALGORITHMS

CAPABILITIES = ["launch-ehr", "launch-standalone", "client-public", "context-ehr-patient",
                "context-standalone-patient", "context-banner", "context-style", "permission-offline",
                "permission-online", "permission-patient", "permission-user", "permission-v1", "permission-v2",
                "sso-openid-connect", "authorize-post"]


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
