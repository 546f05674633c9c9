from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hindfoot.audit import service as audit_service
from hindfoot.auth.policy import require_admin
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.web.rendering import render

router = APIRouter()
PAGE_SIZE = 50


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    user: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(max_length=1)] = None,
    action: Annotated[str | None, Query(max_length=1)] = None,
    what: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    require_admin(actor)
    outcome = outcome if outcome in ("0", "4", "8") else None
    action = action if action in ("C", "R", "U", "D", "E") else None
    kinds = audit_service.entity_types(db)
    what = what if what in kinds else None
    rows, total = audit_service.search(
        db, audit_service.AuditQuery(user_email=user or None, outcome=outcome, action=action, entity_type=what,
                                     limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
    )
    return render(request, "admin/audit.html", {
        "rows": rows, "total": total, "user": user or "", "outcome": outcome or "", "action": action or "",
        "what": what or "", "kinds": kinds, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
    })
