"""All page routes. Forms post with a hidden csrf_token; htmx requests send it as a header."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from hindfoot.deps import verify_csrf
from hindfoot.web.routes import admin, auth, data_rights, home, passkeys, patients
from hindfoot.web.routes import assessment as assessment_pages
from hindfoot.web.routes import booking as booking_pages
from hindfoot.web.routes import calendar as calendar_pages
from hindfoot.web.routes import calendar_setup as calendar_setup_pages
from hindfoot.web.routes import outcomes as outcomes_pages
from hindfoot.web.routes import pathway as pathway_pages
from hindfoot.web.routes import recovery as recovery_pages
from hindfoot.web.routes import smart as smart_pages
from hindfoot.web.routes import waitlist as waitlist_pages

# included in the app one level deep, like the API's protected routers (see hindfoot.api.router)
ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    auth.router,
    passkeys.router,
    patients.router,
    data_rights.router,
    assessment_pages.router,
    admin.router,
    booking_pages.router,
    calendar_pages.router,
    calendar_setup_pages.router,
    pathway_pages.router,
    recovery_pages.router,
    outcomes_pages.router,
    smart_pages.router,
    waitlist_pages.router,
)


def include(app: FastAPI) -> None:
    """Every page route (CSRF checked on unsafe methods; not in the OpenAPI document)."""
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False, dependencies=[Depends(verify_csrf)])
