"""No router is nested in another any more (hindfoot.api.router.include, hindfoot.web.router.include; the public
API's routes are the app's own, hindfoot.flat_routes): every route keeps the CSRF check it had inside the old
nested /api and page routers, and the public ones stay public."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

from hindfoot.api import router as api_routes
from hindfoot.deps import verify_csrf

PUBLIC_ENDPOINTS = {route.endpoint for r in api_routes.PUBLIC for route in r.routes if isinstance(route, APIRoute)}


def test_every_unsafe_route_but_the_public_api_checks_the_csrf_token(app):
    seen = 0
    for rc in iter_route_contexts(app.router.routes):
        if not isinstance(rc.original_route, APIRoute) or rc.path in ("/healthz", "/readyz"):
            continue
        seen += 1
        checked = any(d.dependency is verify_csrf for d in rc.dependencies)
        public = rc.endpoint in PUBLIC_ENDPOINTS
        assert rc.path.startswith("/api/") or not public, rc.path
        assert checked != public, f"{sorted(rc.methods)} {rc.path}: CSRF checked={checked}, public={public}"
    assert seen > 200


def test_the_public_assessment_and_a_wrong_method_answer_as_before(client):
    body = {"setting": "self", "present": ["pain_back_of_ankle"], "absent": []}
    assert client.post("/api/assessments", json=body).status_code == 200  # no session, no CSRF token
    assert client.get("/api/assessments").status_code == 405
    assert client.post("/api/patients", json={}).status_code == 403  # protected: the CSRF check answers first
