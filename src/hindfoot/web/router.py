"""All page routes. Forms post with a hidden csrf_token; htmx requests send it as a header."""

from __future__ import annotations

from fastapi import APIRouter, Depends

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

web_router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
web_router.include_router(home.router)
web_router.include_router(auth.router)
web_router.include_router(passkeys.router)
web_router.include_router(patients.router)
web_router.include_router(data_rights.router)
web_router.include_router(assessment_pages.router)
web_router.include_router(admin.router)
web_router.include_router(booking_pages.router)
web_router.include_router(calendar_pages.router)
web_router.include_router(calendar_setup_pages.router)
web_router.include_router(pathway_pages.router)
web_router.include_router(recovery_pages.router)
web_router.include_router(outcomes_pages.router)
web_router.include_router(smart_pages.router)
web_router.include_router(waitlist_pages.router)
