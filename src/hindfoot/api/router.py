"""All /api routes. Every state-changing route needs the session's CSRF token (header X-CSRF-Token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hindfoot.api.routes import assessment as assessment_routes
from hindfoot.api.routes import audit, auth, cds_hooks, clinic, data_rights, fhir, patients
from hindfoot.api.routes import outcomes as outcomes_routes
from hindfoot.api.routes import pathway as pathway_routes
from hindfoot.api.routes import recovery as recovery_routes
from hindfoot.api.routes import scheduling as scheduling_routes
from hindfoot.api.routes import smart as smart_routes
from hindfoot.api.routes import staff as staff_routes
from hindfoot.api.routes import waitlist as waitlist_routes
from hindfoot.deps import verify_csrf

api_router = APIRouter(prefix="/api")
api_router.include_router(auth.public_router)
api_router.include_router(assessment_routes.public_router)  # stateless ranking + GET /api/csrf: no CSRF
api_router.include_router(cds_hooks.public_router)  # CDS Hooks: a JWT signed by the EHR, no cookie
api_router.include_router(smart_routes.public_router)  # OAuth2 token endpoint: client credentials, no cookie
api_router.include_router(waitlist_routes.public_router)  # an emailed offer's link is its own credential
protected = APIRouter(dependencies=[Depends(verify_csrf)])
protected.include_router(auth.router)
protected.include_router(patients.router)
protected.include_router(data_rights.router)
protected.include_router(assessment_routes.router)
protected.include_router(audit.router)
protected.include_router(staff_routes.router)
protected.include_router(clinic.router)
protected.include_router(fhir.router)
protected.include_router(cds_hooks.router)
protected.include_router(smart_routes.router)
protected.include_router(outcomes_routes.router)
protected.include_router(scheduling_routes.router)
protected.include_router(pathway_routes.router)
protected.include_router(recovery_routes.router)
protected.include_router(waitlist_routes.router)
api_router.include_router(protected)
