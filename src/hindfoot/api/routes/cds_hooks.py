"""CDS Hooks 2.0 at /api/cds-services (the EHR's CDS base URL is https://<clinic>/api), and the admin
registration of CDS clients. Hook calls carry a JWT signed by the registered client, not a cookie."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.cds import service as cds_service
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import NotFound

public_router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
router = APIRouter(tags=["cds-hooks"])


@public_router.get("")
def discovery() -> dict[str, Any]:
    """The CDS services this server offers, with their hooks and prefetch templates."""
    return cds_service.discovery()


@public_router.post("/{service_id}")
def call_service(service_id: str, request: Request, db: DbSession,
                 body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """A hook call: answers {"cards": [...]} (JWT-authenticated, audited)."""
    if service_id not in cds_service.SERVICES:
        raise NotFound(f"no CDS service {service_id!r}; see GET /api/cds-services")
    actor = cds_service.authenticate(db, request.headers.get("authorization"), str(request.url))
    request.state.actor = actor
    app_base = str(request.base_url).rstrip("/")
    if service_id == "hindfoot-patient-view":
        return cds_service.patient_view(db, actor, body, app_base)
    return cds_service.appointment_book(db, actor, body, app_base)


class CdsClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=200, description="the iss of the client's JWTs")
    name: str = Field(min_length=1, max_length=200)
    jwks: dict[str, Any] = Field(description="a JSON Web Key Set of the client's public keys")


class CdsClientRead(BaseModel):
    id: str
    client_id: str
    name: str
    keys: int


@router.post("/cds-clients", status_code=201)
def register_cds_client(body: CdsClientCreate, db: DbSession, actor: CurrentActor) -> CdsClientRead:
    """An admin registers an EHR's CDS client and its public keys."""
    client = cds_service.register_client(db, actor, client_id=body.client_id, name=body.name, jwks=body.jwks)
    return CdsClientRead(id=str(client.id), client_id=client.client_id, name=client.name,
                         keys=len(client.jwks["keys"]))
