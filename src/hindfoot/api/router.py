"""All /api routes. Every state-changing route needs the session's CSRF token (header X-CSRF-Token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from hindfoot import flat_routes
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

PREFIX = "/api"

# No router nested in an /api router: FastAPI re-walked every nested router on each request it routed, which
# cost POST /api/assessments about a fifth of its server time (docs/architecture.md, "Speed"). The public
# routers' few routes become the app's own (hindfoot.flat_routes: matched like a bare app's), the protected
# ones are included one level deep (FastAPI builds them on first use, which keeps a new app cheap).
PUBLIC: tuple[APIRouter, ...] = (
    auth.public_router,
    assessment_routes.public_router,  # stateless ranking + GET /api/csrf: no CSRF
    cds_hooks.public_router,  # CDS Hooks: a JWT signed by the EHR, no cookie
    smart_routes.public_router,  # OAuth2 token endpoint: client credentials, no cookie
    waitlist_routes.public_router,  # an emailed offer's link is its own credential
)
PROTECTED: tuple[APIRouter, ...] = (
    auth.router,
    patients.router,
    data_rights.router,
    assessment_routes.router,
    audit.router,
    staff_routes.router,
    clinic.router,
    fhir.router,
    cds_hooks.router,
    smart_routes.router,
    outcomes_routes.router,
    scheduling_routes.router,
    pathway_routes.router,
    recovery_routes.router,
    waitlist_routes.router,
)


def include(app: FastAPI) -> None:
    """Every /api route, in this order: the public routers' (as the app's own routes), then the protected
    routers (CSRF checked)."""
    for router in PUBLIC:
        flat_routes.include(app, router, prefix=PREFIX)
    for router in PROTECTED:
        app.include_router(router, prefix=PREFIX, dependencies=[Depends(verify_csrf)])
