"""The pathway panel on the patient record: stage, what next and why, moves and documentation.

The panel loads into the record page with htmx (so the record route stays as it is) and is also
a page of its own at /episodes/{id}/pathway. Its forms post with htmx and get the panel back
with a message or the refusal reasons; without JavaScript they post normally and come back to
the record (303) or to the full pathway page showing the error.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.models.episode import STAGE_LABELS
from hindfoot.db.models.procedure import PROCEDURES as PROCEDURE_NAMES
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import AccessDenied, HindfootError
from hindfoot.pathway import service as pathway_service
from hindfoot.pathway.machine import Stage
from hindfoot.recovery import service as recovery_service
from hindfoot.recovery.planner import LEVELS, PROCEDURES, SPORTS, load_protocols
from hindfoot.web.rendering import render
from hindfoot.bounds import SaneDate

router = APIRouter()
Text = Annotated[str, Form(max_length=2000)]


def _plan_procedures() -> list[tuple[str, str]]:
    protocols = load_protocols()
    return [(p, protocols.procedures[p].label) for p in PROCEDURES]  # type: ignore[index]


def _panel(request: Request, db: Session, actor: Actor, episode_id: uuid.UUID, *, message: str | None = None,
           error: str | None = None, reasons: tuple[str, ...] = (), status_code: int = 200,
           full_page: bool = False) -> HTMLResponse:
    v = pathway_service.get_pathway(db, actor, episode_id)
    surgery = [p for p in v.procedures if p.code in pathway_service.SURGICAL_PROCEDURES and p.status == "completed"]
    listing = next((o for o in v.options if o.target is Stage.SURGICAL_LISTING), None)
    ctx: dict[str, Any] = {
        "v": v,
        "ep": v.episode,
        "is_staff": actor.is_staff,
        "message": message,
        "error": error,
        "reasons": reasons,
        # listing is possible with a written override once the diagnosis is confirmed
        "override_possible": bool(listing and not listing.allowed and v.pathway.confirmed_diagnosis
                                  and len(listing.blocked_reasons) == 1
                                  and "override" in listing.blocked_reasons[0]),
        "plan_procedures": _plan_procedures(),
        "surgical_codes": [(c, PROCEDURE_NAMES[c]) for c in pathway_service.SURGICAL_PROCEDURES],
        "sports": SPORTS,
        "levels": LEVELS,
        "default_procedure": surgery[-1].code if surgery else "conservative",
        "default_start": (surgery[-1].performed_at.date() if surgery and surgery[-1].performed_at else date.today()),
        "active_plans": [p for p in v.care_plans if p.status == "active"],
    }
    template = "pathway/page.html" if full_page else "pathway/_panel.html"
    return render(request, template, ctx, status_code=status_code)


def _done(request: Request, db: Session, actor: Actor, episode_id: uuid.UUID, message: str) -> Response:
    if request.headers.get("hx-request"):
        return _panel(request, db, actor, episode_id, message=message)
    episode = pathway_service.patients_service.get_episode(db, actor, episode_id)
    return RedirectResponse(f"/patients/{episode.patient_id}#pathway-{episode_id}", status_code=303)


def _failed(request: Request, db: Session, actor: Actor, episode_id: uuid.UUID, exc: HindfootError) -> Response:
    """Show a refusal inside the panel (htmx swaps only 2xx answers) or on the full page."""
    if isinstance(exc, AccessDenied):
        raise exc
    if exc.denial is not None:  # this answer commits the request: the refusal goes on the record with it
        d = exc.denial
        audit.record(db, actor, d.action, d.entity_type, d.entity_id, patient_id=d.patient_id,  # type: ignore[arg-type]
                     outcome=audit.DENIED, description=d.description)
    reasons = tuple(getattr(exc, "reasons", ()) or ())
    hx = bool(request.headers.get("hx-request"))
    return _panel(request, db, actor, episode_id, error=exc.message if not reasons else "Not moved:",
                  reasons=reasons, status_code=200 if hx else exc.status_code, full_page=not hx)


@router.get("/episodes/{episode_id}/pathway", response_class=HTMLResponse)
def pathway_panel(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    return _panel(request, db, actor, episode_id, full_page=not request.headers.get("hx-request"))


@router.post("/episodes/{episode_id}/pathway/transition")
def transition(
    episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
    to: Annotated[str, Form(max_length=40)], expected_stage: Annotated[str | None, Form(max_length=40)] = None,
    reason: Text = "", override_reason: Text = "",
) -> Response:
    try:
        event = pathway_service.apply_transition(db, actor, episode_id, to, reason=reason or None,
                                                 override_reason=override_reason or None,
                                                 expected_stage=expected_stage or None)
    except HindfootError as exc:  # TransitionRefused carries the reasons
        return _failed(request, db, actor, episode_id, exc)
    return _done(request, db, actor, episode_id, f"Moved to {STAGE_LABELS.get(event.to_stage, event.to_stage)}.")


@router.post("/episodes/{episode_id}/pathway/consent")
def consent(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
            given: Annotated[str, Form(max_length=5)] = "true", note: Text = "") -> Response:
    yes = given == "true"
    pathway_service.record_consent(db, actor, episode_id, given=yes, note=note)
    return _done(request, db, actor, episode_id, "Consent recorded." if yes else "Consent withdrawn.")


@router.post("/episodes/{episode_id}/pathway/confirm-diagnosis")
def confirm(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, note: Text = "") -> Response:
    try:
        condition = pathway_service.confirm_diagnosis(db, actor, episode_id, note=note)
    except HindfootError as exc:
        return _failed(request, db, actor, episode_id, exc)
    return _done(request, db, actor, episode_id, f"Diagnosis confirmed: {condition.display}.")


@router.post("/episodes/{episode_id}/pathway/document")
def document(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
             kind: Annotated[str, Form(max_length=40)], value: Annotated[str, Form(max_length=5)] = "true",
             note: Text = "") -> Response:
    try:
        pathway_service.document(db, actor, episode_id, kind, value=value == "true", note=note)
    except HindfootError as exc:
        return _failed(request, db, actor, episode_id, exc)
    return _done(request, db, actor, episode_id, "Documented.")


@router.post("/episodes/{episode_id}/pathway/procedure")
def procedure(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
              code: Annotated[str, Form(max_length=80)], performed_on: Annotated[SaneDate, Form()],
              note: Text = "") -> Response:
    try:
        proc = pathway_service.record_procedure(db, actor, episode_id, code, performed_on=performed_on, note=note)
    except HindfootError as exc:
        return _failed(request, db, actor, episode_id, exc)
    return _done(request, db, actor, episode_id, f"Operation recorded: {proc.display}.")


@router.post("/episodes/{episode_id}/pathway/return-to-sport")
def return_to_sport(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                    on: Annotated[SaneDate, Form()],
                    status: Annotated[str, Form(max_length=40)] = "returned_previous_level") -> Response:
    try:
        pathway_service.record_return_to_sport(db, actor, episode_id, status=status, on=on)
    except HindfootError as exc:
        return _failed(request, db, actor, episode_id, exc)
    return _done(request, db, actor, episode_id, "Return to sport documented.")


@router.post("/episodes/{episode_id}/care-plans")
def generate_plan(
    episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
    procedure: Annotated[str, Form(max_length=80)], start: Annotated[SaneDate, Form()],
    sport: Annotated[str, Form(max_length=40)] = "", level: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        cp = recovery_service.generate_plan(db, actor, episode_id, procedure=procedure, start=start,
                                            sport=sport or None, level=level or None)
    except HindfootError as exc:
        return _failed(request, db, actor, episode_id, exc)
    target = f"/care-plans/{cp.id}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
