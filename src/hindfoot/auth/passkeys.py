"""Staff passkeys (WebAuthn, via py_webauthn): a second sign-in step instead of an authenticator code.

A staff member with two-step sign-in on adds a passkey from `/account/passkeys` (the browser's
`navigator.credentials.create`); at the next sign-in the code page offers "Use a passkey"
(`navigator.credentials.get`). The relying party is the server's own `HINDFOOT_BASE_URL` (its host is
the RP ID, its origin the only origin accepted). Each ceremony's challenge is kept on the server-side
session row and cleared when used, so an assertion works once; only the public key is stored. A
refused assertion counts against the sign-in throttles like a wrong code.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import Passkey, UserAccount, UserSession
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.settings import Settings

NAME_MAX = 100


def relying_party(settings: Settings) -> tuple[str, str]:
    """(RP ID, origin) of this server, from its public base URL."""
    parts = urlsplit(settings.base_url)
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def of(db: Session, account: UserAccount) -> list[Passkey]:
    return list(db.scalars(select(Passkey).where(Passkey.user_id == account.id).order_by(Passkey.created_at)))


def _challenge(row: UserSession) -> bytes:
    challenge = secrets.token_bytes(32)
    row.passkey_challenge = bytes_to_base64url(challenge)
    return challenge


def _take_challenge(row: UserSession) -> bytes:
    """The challenge this session was given, once; a second use (or none asked for) is refused."""
    if not row.passkey_challenge:
        raise InvalidInput("start again: ask the browser for the passkey once more", field="credential")
    challenge = base64url_to_bytes(row.passkey_challenge)
    row.passkey_challenge = None
    return challenge


def _parsed(credential: object) -> dict[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            credential = None
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str):
        raise InvalidInput("not a WebAuthn credential", field="credential")
    return credential


def registration_options(db: Session, settings: Settings, account: UserAccount, row: UserSession) -> str:
    """The options for `navigator.credentials.create`, as JSON; this session's challenge is set."""
    rp_id, _ = relying_party(settings)
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name="hindfoot", user_id=account.id.bytes, user_name=account.email,
        user_display_name=account.display_name, challenge=_challenge(row),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                             for p in of(db, account)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
    )
    db.flush()
    return webauthn.options_to_json(options)


def register(db: Session, settings: Settings, actor: Actor, account: UserAccount, row: UserSession,
             credential: object, name: str) -> Passkey:
    """Check the browser's new credential against this session's challenge and keep its public key."""
    name = (name or "").strip()[:NAME_MAX] or "Passkey"
    parsed = _parsed(credential)
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_registration_response(
            credential=parsed, expected_challenge=_take_challenge(row), expected_rp_id=rp_id, expected_origin=origin)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"the passkey was not accepted: {exc}", field="credential") from exc
    passkey = Passkey(user_id=account.id, credential_id=bytes_to_base64url(verified.credential_id),
                      public_key=verified.credential_public_key, sign_count=verified.sign_count, name=name)
    db.add(passkey)
    db.flush()
    audit.record(db, actor, audit.CREATE, "UserAccount", account.id, description=f"passkey added: {name}")
    return passkey


def authentication_options(db: Session, settings: Settings, account: UserAccount, row: UserSession) -> str:
    """The options for `navigator.credentials.get` (this account's passkeys), as JSON."""
    rp_id, _ = relying_party(settings)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, challenge=_challenge(row),
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                           for p in of(db, account)],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    db.flush()
    return webauthn.options_to_json(options)


def check(db: Session, settings: Settings, account: UserAccount, row: UserSession, credential: object) -> bool:
    """Whether `credential` is a valid assertion, by one of this account's passkeys, of this session's
    challenge. A cloned authenticator (a sign count that went back) is refused."""
    parsed = _parsed(credential)
    challenge = _take_challenge(row)
    passkey = db.scalar(select(Passkey).where(Passkey.user_id == account.id,
                                              Passkey.credential_id == parsed["id"]))
    if passkey is None:
        return False
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=passkey.public_key, credential_current_sign_count=passkey.sign_count)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        return False
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    db.flush()
    return True


def remove(db: Session, actor: Actor, account: UserAccount, passkey_id: uuid.UUID) -> None:
    passkey = db.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != account.id:
        raise NotFound("no such passkey")
    db.delete(passkey)
    audit.record(db, actor, audit.DELETE, "UserAccount", account.id, description=f"passkey removed: {passkey.name}")
    db.flush()
