"""The pathway panel on the patient record: stage, what next and why, moves and documentation.

The panel loads into the record page with htmx (so the record route stays as it is) and is also
a page of its own at /episodes/{id}/pathway. Its forms post with htmx and get the panel back
with a message or the refusal reasons; without JavaScript they post normally and come back to
the record (303) or to the full pathway page showing the error.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.bounds import check_date
from hindfoot.db.models.procedure import PROCEDURES as PROCEDURE_NAMES
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import AccessDenied, HindfootError
from hindfoot.pathway import service as pathway_service
from hindfoot.pathway.machine import STAGE_LABELS, Stage
from hindfoot.recovery import service as recovery_service
from hindfoot.recovery.planner import LEVELS, PROCEDURES, SPORTS, load_protocols
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()


def _plan_procedures() -> list[tuple[str, str]]:
    protocols = load_protocols()
    return [(p, protocols.procedures[p].label) for p in PROCEDURES]  # type: ignore[index]


def _panel(request: Request, db: Session, actor: Actor, episode_id: uuid.UUID, *, message: str | None = None,
           error: str | None = None, reasons: tuple[str, ...] = (), status_code: int = 200,
           full_page: bool = False, errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
           failed: str = "") -> HTMLResponse:
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
        # the form that was refused ("confirm", "move-surgery", ...), its problems by field and what was typed
        "failed": failed,
        "errors": errors or {},
        "form": form or {},
        # listing is possible with a written override once the diagnosis is confirmed
        "override_possible": bool(listing and not listing.allowed and v.pathway.confirmed_diagnosis
                                  and len(listing.blocked_reasons) == 1
                                  and "override" in listing.blocked_reasons[0]),
        "plan_procedures": _plan_procedures(),
        "surgical_codes": [(c, PROCEDURE_NAMES[c]) for c in pathway_service.SURGICAL_PROCEDURES],
        "sports": [(s, s.replace("_", " ")) for s in SPORTS],
        "levels": [(level, level) for level in LEVELS],
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


NOTE_MAX = 2000
FIELDS: dict[str, dict[str, str]] = {
    # each panel form's fields and their labels, as shown by the field (the refusal names them)
    "confirm": {"note": "How it was confirmed"},
    "failed": {"note": "Conservative care has failed because"},
    "consent": {"note": "Consent note"},
    "proc": {"code": "Operation performed", "performed_on": "Date of operation"},
    "rts": {"status": "Return to sport", "on": "Date returned"},
    "move": {"reason": "Reason", "override_reason": "Reason to list without failed conservative care"},
    "plan": {"procedure": "Plan for", "start": "Start", "sport": "Sport", "level": "Level"},
}


def _note(raw: dict[str, str], field: str, labels: dict[str, str], errors: dict[str, str]) -> str:
    """A free-text field, refused by name when over the limit (never cut: what was typed stays in the form)."""
    value = raw.get(field, "").strip()
    if len(value) > NOTE_MAX:
        errors[field] = f"{labels[field]}: at most {NOTE_MAX} characters (you typed {len(value)})"
    return value


def _day(raw: dict[str, str], field: str, labels: dict[str, str], errors: dict[str, str]) -> date | None:
    """A date typed into a panel form; an empty or unreadable one is refused by name in the panel (a bare 422
    from the form parser would not be swapped in by htmx, so the click would seem to do nothing)."""
    value = raw.get(field, "").strip()
    if not value:
        errors[field] = f"Enter the {labels[field][:1].lower()}{labels[field][1:]}"
        return None
    try:
        return check_date(date.fromisoformat(value))
    except ValueError as exc:
        readable = "must be a date" in str(exc)
        errors[field] = f"{labels[field]}: {exc if readable else 'enter a real date (day, month, year)'}"
        return None


def _refused(request: Request, db: Session, actor: Actor, episode_id: uuid.UUID, form: str, raw: dict[str, str],
             *, errors: dict[str, str] | None = None, exc: HindfootError | None = None) -> Response:
    """Show a refusal inside the panel (htmx swaps only 2xx answers) or on the full page: each problem by its
    field in the form that was sent (and in the summary), with everything typed kept."""
    if isinstance(exc, AccessDenied):
        raise exc
    status_code, reasons = 422, ()
    if exc is not None:
        if exc.denial is not None:  # this answer commits the request: the refusal goes on the record with it
            d = exc.denial
            audit.record(db, actor, d.action, d.entity_type, d.entity_id,  # type: ignore[arg-type]
                         patient_id=d.patient_id,  # type: ignore[arg-type]
                         outcome=audit.DENIED, description=d.description)
        status_code, reasons = exc.status_code, tuple(getattr(exc, "reasons", ()) or ())
        labels = FIELDS[form.split("-")[0]]
        errors = {} if reasons else {(k if k in labels else "form"): m for k, m in errors_from(exc, labels).items()}
    hx = bool(request.headers.get("hx-request"))
    return _panel(request, db, actor, episode_id, error="Not moved:" if reasons else None, reasons=reasons,
                  errors=errors or {}, form=raw, failed=form, status_code=200 if hx else status_code,
                  full_page=not hx)


@router.get("/episodes/{episode_id}/pathway", response_class=HTMLResponse)
def pathway_panel(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    return _panel(request, db, actor, episode_id, full_page=not request.headers.get("hx-request"))


@router.post("/episodes/{episode_id}/pathway/transition")
def transition_page(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    to, errors = raw.get("to", "").strip()[:40], dict[str, str]()
    form = f"move-{to}"
    reason = _note(raw, "reason", FIELDS["move"], errors)
    override_reason = _note(raw, "override_reason", FIELDS["move"], errors)
    if errors:
        return _refused(request, db, actor, episode_id, form, raw, errors=errors)
    try:
        event = pathway_service.apply_transition(db, actor, episode_id, to, reason=reason or None,
                                                 override_reason=override_reason or None,
                                                 expected_stage=raw.get("expected_stage", "").strip()[:40] or None)
    except HindfootError as exc:  # TransitionRefused carries the reasons
        return _refused(request, db, actor, episode_id, form, raw, exc=exc)
    return _done(request, db, actor, episode_id, f"Moved to {STAGE_LABELS.get(event.to_stage, event.to_stage)}.")


@router.post("/episodes/{episode_id}/pathway/consent")
def consent(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    yes, errors = raw.get("given", "true") == "true", dict[str, str]()
    note = _note(raw, "note", FIELDS["consent"], errors)
    if errors:
        return _refused(request, db, actor, episode_id, "consent", raw, errors=errors)
    try:
        pathway_service.record_consent(db, actor, episode_id, given=yes, note=note)
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "consent", raw, exc=exc)
    return _done(request, db, actor, episode_id, "Consent recorded." if yes else "Consent withdrawn.")


@router.post("/episodes/{episode_id}/pathway/confirm-diagnosis")
def confirm(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    errors: dict[str, str] = {}
    note = _note(raw, "note", FIELDS["confirm"], errors)
    if errors:
        return _refused(request, db, actor, episode_id, "confirm", raw, errors=errors)
    try:
        condition = pathway_service.confirm_diagnosis(db, actor, episode_id, note=note)
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "confirm", raw, exc=exc)
    return _done(request, db, actor, episode_id, f"Diagnosis confirmed: {condition.display}.")


@router.post("/episodes/{episode_id}/pathway/document")
def document_page(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    errors: dict[str, str] = {}
    note = _note(raw, "note", FIELDS["failed"], errors)
    if errors:
        return _refused(request, db, actor, episode_id, "failed", raw, errors=errors)
    try:
        pathway_service.document(db, actor, episode_id, raw.get("kind", "").strip()[:40],
                                 value=raw.get("value", "true") == "true", note=note)
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "failed", raw, exc=exc)
    return _done(request, db, actor, episode_id, "Documented.")


@router.post("/episodes/{episode_id}/pathway/procedure")
def procedure(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    errors: dict[str, str] = {}
    day = _day(raw, "performed_on", FIELDS["proc"], errors)
    note = _note(raw, "note", {"note": "Note"}, errors)
    if errors or day is None:
        return _refused(request, db, actor, episode_id, "proc", raw, errors=errors)
    try:
        proc = pathway_service.record_procedure(db, actor, episode_id, raw.get("code", "").strip()[:80],
                                                performed_on=day, note=note)
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "proc", raw, exc=exc)
    return _done(request, db, actor, episode_id, f"Operation recorded: {proc.display}.")


@router.post("/episodes/{episode_id}/pathway/return-to-sport")
def return_to_sport(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                    raw: RawForm) -> Response:
    errors: dict[str, str] = {}
    day = _day(raw, "on", FIELDS["rts"], errors)
    if errors or day is None:
        return _refused(request, db, actor, episode_id, "rts", raw, errors=errors)
    try:
        pathway_service.record_return_to_sport(db, actor, episode_id, on=day,
                                               status=raw.get("status", "returned_previous_level").strip()[:40])
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "rts", raw, exc=exc)
    return _done(request, db, actor, episode_id, "Return to sport documented.")


@router.post("/episodes/{episode_id}/care-plans")
def generate_plan_page(episode_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                  raw: RawForm) -> Response:
    errors: dict[str, str] = {}
    start = _day(raw, "start", FIELDS["plan"], errors)
    if errors or start is None:
        return _refused(request, db, actor, episode_id, "plan", raw, errors=errors)
    try:
        cp = recovery_service.generate_plan(db, actor, episode_id, procedure=raw.get("procedure", "").strip()[:80],
                                            start=start, sport=raw.get("sport", "").strip()[:40] or None,
                                            level=raw.get("level", "").strip()[:20] or None)
    except HindfootError as exc:
        return _refused(request, db, actor, episode_id, "plan", raw, exc=exc)
    target = f"/care-plans/{cp.id}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
