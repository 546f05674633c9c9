"""Probes for a load balancer or an orchestrator, outside /api and without a session.

- `GET /healthz`: the process answers (liveness; touches nothing else).
- `GET /readyz`: the process can serve, i.e. its database answers a query within the pool
  timeout (readiness); 503 with Retry-After otherwise, so traffic goes to another instance.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the database does not answer"}})
def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means "not ready"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return JSONResponse({"status": "unavailable", "database": "unreachable", "reason": reason[:200]},
                            status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "database": engine.dialect.name})
