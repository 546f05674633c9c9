"""The server's RS256 key for OpenID Connect id_tokens, and the public JWKS apps check them with."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.db.models import SigningKey

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
