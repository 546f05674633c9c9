"""CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): discovery, `patient-view` and `appointment-book`.

An EHR registered as an `ApiClient` (its `client_id` is the `iss` of its JWTs, its public keys a
JWKS) signs each call with ES384 or RS384; the JWT's `aud` must be the service's own URL and it must
carry `exp` and `jti`; a `jti` is accepted once (a replayed call is refused). The client acts for its organisation: it sees that organisation's patients,
and every read is audited under its name, like a clinician's.

The cards come from the same engines the pages use (assessment, triage, pathway next steps): the
stored findings of the patient's latest episode are ranked, red flags raised, and the pathway's next
steps listed with their sources; `appointment-book` warns when the triage says a proposed time is
later than the patient must be seen.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.assessment import service as assessment_service
from hindfoot.audit import service as audit
from hindfoot.auth import replay
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.cds import cards
from hindfoot.db.models import ApiClient, EpisodeOfCare
from hindfoot.errors import Conflict, InvalidInput, NotAuthenticated
from hindfoot.knowledge.loader import load_kb
from hindfoot.pathway import service as pathway_service
from hindfoot.pathway.citations import source_labels

ALGORITHMS = ["ES384", "RS384"]
SERVICES = {
    "hindfoot-patient-view": {
        "hook": "patient-view",
        "title": "hindfoot posterior ankle decision support",
        "description": "The ranked differential (posterior ankle impingement and its look-alikes), red flags and "
                       "the care pathway's next step, with sources and a link into hindfoot.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
        "usageRequirements": "Register the EHR as a CDS client in hindfoot (an admin: POST /api/cds-clients).",
    },
    "hindfoot-appointment-book": {
        "hook": "appointment-book",
        "title": "hindfoot: is this appointment soon enough?",
        "description": "Warns when the triage of the patient's recorded findings says the proposed appointment is "
                       "later than the patient must be seen.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
        "usageRequirements": "Register the EHR as a CDS client in hindfoot (an admin: POST /api/cds-clients).",
    },
}


def discovery() -> dict[str, Any]:
    return {"services": [{"id": sid, **spec} for sid, spec in SERVICES.items()]}


def _unverified_issuer(token: str) -> str:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["iss"])
    except (IndexError, ValueError, KeyError, TypeError):
        raise NotAuthenticated("the Authorization bearer token is not a JWT with an iss claim") from None


def authenticate(db: Session, authorization: str | None, audience: str) -> Actor:
    """The calling EHR, from its signed JWT (CDS Hooks 2.0, Trusting CDS Clients)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NotAuthenticated("a CDS Hooks call needs Authorization: Bearer <JWT signed by the CDS client>")
    token = authorization.split(" ", 1)[1].strip()
    issuer = _unverified_issuer(token)
    client = db.scalar(select(ApiClient).where(ApiClient.client_id == issuer, ApiClient.active.is_(True)))
    if client is None:
        raise NotAuthenticated(f"CDS client {issuer!r} is not registered")
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(client.jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
        JWTClaimsRegistry(
            leeway=60, iss={"essential": True, "value": issuer}, aud={"essential": True, "value": audience},
            exp={"essential": True}, jti={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise NotAuthenticated(f"the JWT was refused: {exc}") from None
    if not replay.remember_jti(db, issuer, str(decoded.claims["jti"]), int(decoded.claims["exp"])):
        raise NotAuthenticated("this JWT (its jti) was already used: sign a new one for each call")
    # No user account behind a system: the audit trail names it by its email-like label instead.
    return Actor(user_id=None, email=f"cds-client:{client.client_id}", role="clinician",  # type: ignore[arg-type]
                 organization_id=client.organization_id, display_name=client.name)


def _patient_id(body: dict[str, Any]) -> uuid.UUID:
    context = body.get("context")
    if not isinstance(context, dict) or not context.get("patientId"):
        raise InvalidInput("context.patientId is required", field="context.patientId")
    value = str(context["patientId"]).split("/")[-1]
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"context.patientId {value!r} is not a hindfoot patient id", field="context.patientId") from None


def _check_hook(body: dict[str, Any], service_id: str) -> None:
    if body.get("hook") != SERVICES[service_id]["hook"]:
        raise InvalidInput(f"this service answers the {SERVICES[service_id]['hook']} hook", field="hook")
    if not body.get("hookInstance"):
        raise InvalidInput("hookInstance is required", field="hookInstance")


def _citations() -> dict[str, dict[str, Any]]:
    return {key: {"label": label, "url": url} for key, (label, url) in source_labels().items()}


def _assessment(db: Session, actor: Actor, patient_id: uuid.UUID) -> tuple[Any, EpisodeOfCare | None]:
    context = assessment_service.clinician_context(db, actor, patient_id)
    if not context.stored:
        return None, context.episode
    answers = {f: ("present" if v else "absent") for f, v in context.stored.items() if f in load_kb().finding_by_id}
    result = assessment_service.assess_for_patient(db, actor, patient_id, answers)  # type: ignore[arg-type]
    return result, context.episode


def patient_view(db: Session, actor: Actor, body: dict[str, Any], app_base: str) -> dict[str, Any]:
    _check_hook(body, "hindfoot-patient-view")
    patient_id = _patient_id(body)
    result, episode = _assessment(db, actor, patient_id)
    link = {"label": "Open in hindfoot", "url": f"{app_base}/patients/{patient_id}/assessment", "type": "absolute"}
    out: list[dict[str, Any]] = []
    citations = _citations()
    if result is not None:
        out += cards.red_flag_cards(result.red_flags, citations, link)
        out.append(cards.differential_card(result.ranking, result.disposition, link))
    if episode is not None:
        view = pathway_service.get_pathway(db, actor, episode.id)
        recs = [(r.recommendation, [{"label": c.label, "url": c.url} for c in r.citations])
                for r in view.recommendations]
        out += cards.next_step_cards(recs, {**link, "url": f"{app_base}/patients/{patient_id}"})
    return {"cards": out}


def _proposed(body: dict[str, Any]) -> list[tuple[str, datetime]]:
    bundle = (body.get("context") or {}).get("appointments")
    if not isinstance(bundle, dict) or not isinstance(bundle.get("entry"), list):
        raise InvalidInput("context.appointments must be a Bundle of the proposed Appointments",
                           field="context.appointments")
    out = []
    for i, entry in enumerate(bundle["entry"]):
        resource = (entry or {}).get("resource") or {}
        try:
            start = datetime.fromisoformat(str(resource["start"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise InvalidInput(f"appointment {i} has no valid start", field=f"context.appointments.entry.{i}") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        out.append((f"Appointment {resource.get('id', i + 1)}", start))
    return out


def appointment_book(db: Session, actor: Actor, body: dict[str, Any], app_base: str,
                     now: datetime | None = None) -> dict[str, Any]:
    _check_hook(body, "hindfoot-appointment-book")
    patient_id = _patient_id(body)
    proposed = _proposed(body)
    result, _ = _assessment(db, actor, patient_id)
    if result is None:
        return {"cards": []}
    link = {"label": "See the triage in hindfoot", "url": f"{app_base}/patients/{patient_id}/assessment",
            "type": "absolute"}
    return {"cards": cards.appointment_cards(result.disposition, proposed, now or datetime.now(UTC), link)}


def register_client(db: Session, actor: Actor, *, client_id: str, name: str, jwks: dict[str, Any]) -> ApiClient:
    """An admin registers an EHR's CDS client with its public keys (private keys are refused)."""
    require_admin(actor)
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # checked by joserfc, refused below
    except Exception as exc:  # joserfc raises several kinds for a malformed set
        raise InvalidInput(f"jwks is not a JSON Web Key Set: {exc}", field="jwks") from None
    if not keys.keys:
        raise InvalidInput("jwks has no keys", field="jwks")
    if any(k.is_private for k in keys.keys):
        raise InvalidInput("jwks must hold public keys only", field="jwks")
    if db.scalar(select(ApiClient.id).where(ApiClient.client_id == client_id)) is not None:
        raise Conflict(f"a client {client_id!r} is already registered", field="client_id")
    client = ApiClient(organization_id=actor.organization_id, client_id=client_id, name=name, kind="cds",
                       jwks={"keys": [k.as_dict(private=False) for k in keys.keys]})
    db.add(client)
    db.flush()
    audit.record(db, actor, audit.CREATE, "ApiClient", client.id, description=f"CDS client {client_id} registered")
    return client
