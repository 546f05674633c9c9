"""Recovery plan pages: the patient's timeline, progress forms, calendar file, behind-plan list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.bounds import check_date
from hindfoot.db.models import Patient
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import AccessDenied, HindfootError, InvalidInput
from hindfoot.pathway.citations import cite
from hindfoot.recovery import service as recovery_service
from hindfoot.recovery.service import PlanView
from hindfoot.web.forms import RawForm
from hindfoot.web.rendering import render

router = APIRouter()
Code = Annotated[str, Path(max_length=80)]


def _bars(v: PlanView) -> dict[str, Any]:
    """Positions (percent of the plan's span) for each window bar, its typical day and today."""
    start = v.plan.start
    end = max([m.latest for m in v.plan.milestones] + [v.today, start])
    span = max((end - start).days, 1)

    def pct(d: date) -> float:
        return round(100 * max(0, min((d - start).days, span)) / span, 2)

    bars = {m.id: {"left": pct(m.earliest), "width": max(pct(m.latest) - pct(m.earliest), 0.8),
                   "typical": pct(m.typical)} for m in v.plan.milestones}
    return {"bars": bars, "today_pct": pct(v.today), "end": end}


def _context(v: PlanView, db: Session, actor: Actor, *, message: str | None = None,
             error: str | None = None, field_error: tuple[str, str, str] | None = None) -> dict[str, Any]:
    patient = db.get(Patient, v.care_plan.patient_id)
    titles = {m.id: m.title for m in v.plan.milestones}
    today_index = next((i for i, m in enumerate(v.plan.milestones) if m.typical > v.today), len(v.plan.milestones))
    return {
        "v": v, "cp": v.care_plan, "plan": v.plan, "st": v.status, "acts": v.activities, "patient": patient,
        "titles": titles, "today_index": today_index, "citations": {m.id: cite([m.source]) for m in v.plan.milestones},
        "message": message, "error": error, "is_staff": actor.is_staff, **_bars(v),
        # (milestone, message, what was typed): a refused "reached on" date, shown by its field
        "field_error": field_error,
    }


@router.get("/care-plans/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    v = recovery_service.get_plan(db, actor, plan_id)
    return render(request, "recovery/plan.html", _context(v, db, actor))


@router.post("/care-plans/{plan_id}/milestones/{code}/reached")
def reached(plan_id: uuid.UUID, code: Code, request: Request, db: DbSession, actor: CurrentActor,
            raw: RawForm) -> Response:
    """A refused date is named by its field, by the milestone's form, with what was typed kept."""
    hx = bool(request.headers.get("hx-request"))
    undo, typed = raw.get("undo", "") == "true", raw.get("on", "").strip()[:40]
    try:
        on = None
        if not undo:
            try:
                on = date.fromisoformat(typed) if typed else date.today()
            except ValueError:
                raise InvalidInput("enter a real date (day, month, year)", field="on") from None
            try:
                check_date(on)
            except ValueError as exc:
                raise InvalidInput(str(exc), field="on") from None
        v = recovery_service.mark_reached(db, actor, plan_id, code, on)
    except AccessDenied:
        raise
    except HindfootError as exc:
        v = recovery_service.get_plan(db, actor, plan_id)
        message = exc.message[:1].upper() + exc.message[1:]
        ctx = _context(v, db, actor, field_error=(code, f"Reached on: {message[:1].lower()}{message[1:]}", typed))
        return render(request, "recovery/_timeline.html" if hx else "recovery/plan.html", ctx,
                      status_code=200 if hx else exc.status_code)
    if not hx:
        return RedirectResponse(f"/care-plans/{plan_id}#ms-{code}", status_code=303)
    title = next((m.title for m in v.plan.milestones if m.id == code), code)
    note = f"{title}: reached mark removed." if undo else f"{title}: reached. Later dates updated."
    return render(request, "recovery/_timeline.html", _context(v, db, actor, message=note))


@router.post("/care-plans/{plan_id}/milestones/{code}/criteria/{index}")
def criterion(plan_id: uuid.UUID, code: Code, index: Annotated[int, Path(ge=0, le=100)], request: Request,
              db: DbSession, actor: CurrentActor, met: Annotated[str, Form(max_length=5)] = "") -> Response:
    v = recovery_service.set_criterion(db, actor, plan_id, code, index, met == "true")
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/care-plans/{plan_id}#ms-{code}", status_code=303)
    return render(request, "recovery/_criteria_count.html", {"a": v.activities[code]})


@router.get("/care-plans/{plan_id}/calendar.ics")
def care_plan_calendar_page(plan_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> Response:
    data, filename = recovery_service.calendar(db, actor, plan_id)
    return Response(data, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/my/recovery-plan", response_class=HTMLResponse)
def my_plan(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """The signed-in patient's current plan (an active recovery plan first, then any active plan)."""
    if actor.patient_id is None:
        return RedirectResponse("/recovery/behind", status_code=303)
    plans = recovery_service.patient_plans(db, actor, actor.patient_id)
    active = [p for p in plans if p.status == "active"]
    chosen = next((p for p in active if p.kind == "recovery"), active[0] if active else None)
    if chosen is not None:
        return RedirectResponse(f"/care-plans/{chosen.id}", status_code=303)
    return render(request, "recovery/none.html", {"plans": plans})


@router.get("/recovery/behind", response_class=HTMLResponse)
def behind_page(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    rows = recovery_service.behind_plan(db, actor)
    return render(request, "recovery/behind.html", {"rows": rows})
