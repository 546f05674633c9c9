"""Patients' data rights on the web: `/me/data` (download the record, ask for a correction, erasure or
restriction, see the answers) and the admins' queue `/admin/data-requests`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.db.models import Organization
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import Forbidden, InvalidInput
from hindfoot.fhir import service as fhir_service
from hindfoot.outcomes.service import SCORE_LABELS
from hindfoot.patients import erasure, rights
from hindfoot.patients import service as patients_service
from hindfoot.patients.codes import condition_names, finding_texts
from hindfoot.patients.timeline import DOCUMENTATION_WORDS, current_findings, score_series
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import TEMPLATES, render, templates

router = APIRouter()
LABELS = {"kind": "What you ask for", "details": "Details", "decision": "Decision", "reason": "Reason"}


def _patient_id(actor: Actor) -> uuid.UUID:
    if actor.role != "patient" or actor.patient_id is None:
        raise Forbidden("this page is for patients: it shows your own data")
    return actor.patient_id


def _data_page(request: Request, db: Session, actor: Actor, *, form: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, sent: bool = False, status_code: int = 200) -> HTMLResponse:
    return render(request, "patients/data.html", {
        "requests": rights.own_requests(db, actor), "kinds": list(rights.KIND_LABELS.items()),
        "kind_labels": rights.KIND_LABELS, "status_labels": rights.STATUS_LABELS, "form": form or {},
        "errors": errors or {}, "sent": sent, "erased": erasure.ERASED, "kept": erasure.KEPT,
        "patient_id": _patient_id(actor),
    }, status_code=status_code)


@router.get("/me/data", response_class=HTMLResponse)
def my_data(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    _patient_id(actor)
    return _data_page(request, db, actor, sent=request.query_params.get("sent") == "1")


@router.post("/me/data/requests", response_class=HTMLResponse)
def ask(request: Request, db: DbSession, actor: CurrentActor, raw: RawForm) -> Response:
    _patient_id(actor)
    form = {"kind": raw.get("kind", "").strip(), "details": raw.get("details", "").strip()}
    try:
        rights.create_request(db, actor, form["kind"], form["details"])
    except InvalidInput as exc:
        return _data_page(request, db, actor, form=form, errors=errors_from(exc, LABELS), status_code=422)
    return RedirectResponse("/me/data?sent=1", status_code=303)


@router.get("/me/data/record.json")
def download_bundle(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """The whole record as a FHIR R4 Bundle (Patient/$everything), as a file (GDPR article 20)."""
    pid = _patient_id(actor)
    bundle = fhir_service.patient_bundle(db, actor, pid, str(request.base_url))
    return Response(orjson.dumps(bundle, option=orjson.OPT_INDENT_2), media_type="application/fhir+json",
                    headers={"Content-Disposition": f'attachment; filename="my-record-{date.today()}.json"'})



def _observation_labels() -> dict[str, str]:
    """Every observation code the summary lists, in the patient's words (findings, scores, the
    clinician's documentation): the patient never reads a raw code."""
    return {**finding_texts(), **SCORE_LABELS, **{k: v[0] for k, v in DOCUMENTATION_WORDS.items()}}

def _summary_context(request: Request, db: Session, actor: Actor) -> dict[str, object]:
    pid = _patient_id(actor)
    record = patients_service.get_record(db, actor, pid)  # audited
    clinic = db.get(Organization, record.patient.organization_id)
    return {
        "record": record, "patient": record.patient, "clinic": clinic, "findings": current_findings(record),
        "finding_texts": _observation_labels(), "conditions_names": condition_names(), "scores": score_series(record),
        "access": rights.access_log(db, actor, pid), "requests": rights.own_requests(db, actor),
        "kind_labels": rights.KIND_LABELS, "status_labels": rights.STATUS_LABELS, "generated": date.today(),
    }


@router.get("/me/data/summary", response_class=HTMLResponse)
def summary(request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    """The whole record in plain words, to read or print (GDPR article 15)."""
    return render(request, "patients/summary.html", {**_summary_context(request, db, actor), "pdf": False})


@router.get("/me/data/summary.pdf")
def summary_pdf(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """The same summary as a PDF (WeasyPrint), with the page's own style sheet."""
    from weasyprint import CSS, HTML  # imported on use: it loads Pango

    context = {**_summary_context(request, db, actor), "pdf": True, "request": request, "actor": actor}
    html = templates.get_template("patients/summary.html").render(context)
    css = CSS(filename=str(TEMPLATES.parent / "static" / "css" / "summary.css"))
    pdf = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[css])
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="my-record-{date.today()}.pdf"'})


# --------------------------------------------------------------------------- the admins' queue

def _queue_page(request: Request, db: Session, actor: Actor, *, status: str | None, message: str | None = None,
                errors: dict[str, str] | None = None, failed: uuid.UUID | None = None,
                form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "admin/data_requests.html", {
        "items": rights.queue(db, actor, status=status), "status": status or "", "message": message,
        "errors": errors or {}, "failed": failed, "form": form or {}, "kind_labels": rights.KIND_LABELS,
        "status_labels": rights.STATUS_LABELS,
    }, status_code=status_code)


@router.get("/admin/data-requests", response_class=HTMLResponse)
def data_requests(request: Request, db: DbSession, actor: CurrentActor,
                  status: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    require_admin(actor)
    return _queue_page(request, db, actor, status=status if status in rights.STATUS_LABELS else None)


@router.post("/admin/data-requests/{request_id}", response_class=HTMLResponse)
def decide_page(request_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
           background: BackgroundTasks, raw: RawForm) -> HTMLResponse:
    require_admin(actor)
    form = {"decision": raw.get("decision", ""), "reason": raw.get("reason", "").strip()}
    try:
        decided, mail = rights.decide(db, actor, settings, request_id, form["decision"], form["reason"])
    except InvalidInput as exc:
        return _queue_page(request, db, actor, status=None, errors=errors_from(exc, LABELS), failed=request_id,
                           form=form, status_code=422)
    background.add_task(rights.deliver, settings, request.app.state.sessionmaker, mail)
    done = "accepted and carried out" if decided.status == "accepted" else "refused"
    return _queue_page(request, db, actor, status=None, message=(
        f"{rights.KIND_LABELS[decided.kind]}: {done}. The patient sees the answer under \u201cMy data\u201d"
        + (" and is emailed it." if mail else ".")))


@router.post("/patients/{patient_id}/restriction/lift")
def lift_restriction_page(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                     settings: AppSettings, background: BackgroundTasks, raw: RawForm) -> Response:
    mail = rights.lift_restriction(db, actor, settings, patient_id, raw.get("reason", ""))
    background.add_task(rights.deliver, settings, request.app.state.sessionmaker, mail)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)
