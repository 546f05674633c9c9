"""HL7 FHIR R4 (4.0.1) export: a patient's record as a Bundle, and the CapabilityStatement."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.fhir import service as fhir_service

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


@router.get("/metadata")
def metadata(settings: AppSettings) -> JSONResponse:
    return JSONResponse(fhir_service.capability_statement(settings.base_url), media_type=FHIR_JSON)


@router.get("/Patient/{patient_id}/$everything")
def everything(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor, settings: AppSettings) -> Any:
    return JSONResponse(fhir_service.patient_bundle(db, actor, patient_id, settings.base_url), media_type=FHIR_JSON)
