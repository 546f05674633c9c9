from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.models import PathwayStage, Patient, Sex, SportLevel
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import InvalidInput
from hindfoot.fhir import smart
from hindfoot.pathway.machine import STAGE_LABELS
from hindfoot.patients import documents
from hindfoot.patients import service as patients_service
from hindfoot.patients.codes import condition_names, finding_texts
from hindfoot.patients.schemas import (
    CONTACT_FIELDS,
    CONTACT_LABELS,
    PREFERRED_CONTACT_LABELS,
    SPORTS,
    ContactDetails,
    PatientCreate,
)
from hindfoot.patients.timeline import build_timeline, current_findings, score_series
from hindfoot.web.forms import RawForm, errors_from
from hindfoot.web.rendering import render

router = APIRouter()
PAGE_SIZE = 25


@router.get("/me")
def me_page(actor: CurrentActor) -> Response:
    if actor.role == "patient" and actor.patient_id:
        return RedirectResponse(f"/patients/{actor.patient_id}", status_code=303)
    if actor.role == "clinician" and actor.practitioner_id is not None:
        return RedirectResponse("/today", status_code=303)  # a clinician starts the day with their clinic
    if actor.role == "receptionist":
        return RedirectResponse("/calendar/grid", status_code=303)  # the front desk starts with the day's grid
    if actor.role == "manager":
        return RedirectResponse("/outcomes", status_code=303)  # the registry and its reports
    return RedirectResponse("/patients", status_code=303)


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    stage: Annotated[str | None, Query(max_length=40)] = None,
    after: Annotated[str | None, Query(max_length=600)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Pages go forward by keyset (`after`: the last row of the page before); `page` numbers them."""
    stage_value = stage if stage in PathwayStage.__members__ else None
    listing = patients_service.list_patients(db, actor, q=q, stage=stage_value, limit=PAGE_SIZE, after=after)
    context = {
        "items": listing.items, "total": listing.total, "total_capped": listing.total_capped,
        "next_cursor": listing.next_cursor, "q": q or "", "stage": stage_value or "",
        "page": page if after else 1, "pages": max(1, -(-listing.total // PAGE_SIZE)), "stages": STAGE_LABELS,
        "conditions": condition_names(),
    }
    if request.headers.get("hx-request"):  # the table alone: the stage menu (and its counts) stays as it is
        return render(request, "patients/_table.html", context)
    with db.no_autoflush:  # the list's audit event is written once, hash included, at commit (no INSERT then UPDATE)
        context["counts"] = patients_service.stage_counts(db, actor) if actor.is_clinical else {}
    return render(request, "patients/list.html", context)


# --------------------------------------------------------------------------- the patient picker of staff forms

PICK_LIMIT = 20


def pick_choices(db: Session, actor: Actor, q: str, selected: str = "") -> list[tuple[str, str]]:
    """(id, "Family, Given (record number, born …)") for the picker: the matches of `q` and the one chosen."""
    require_front_desk(actor)
    rows: list[Patient] = []
    term = q.strip()
    if term:
        rows = [i.patient for i in patients_service.list_patients(db, actor, q=term, limit=PICK_LIMIT).items]
    try:
        chosen = uuid.UUID(selected) if selected else None
    except ValueError:
        chosen = None
    if chosen is not None and all(p.id != chosen for p in rows):
        patient = db.get(Patient, chosen)
        if patient is not None and patient.organization_id == actor.organization_id:
            rows.insert(0, patient)
    return [(str(p.id), f"{p.family_name}, {p.given_name} ({p.identifier}, born {p.birth_date:%d %b %Y})")
            for p in rows]


@router.get("/patients/pick", response_class=HTMLResponse)
def patient_pick(
    request: Request, db: DbSession, actor: CurrentActor,
    patient_q: Annotated[str, Query(max_length=100)] = "",
    patient_id: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The picker's options for what was typed (htmx swaps them into the select)."""
    return render(request, "patients/_pick_options.html", {
        "choices": pick_choices(db, actor, patient_q, patient_id), "selected": patient_id})


# --------------------------------------------------------------------------- a new patient (before /patients/{id})

NEW_PATIENT_FIELDS = ("given_name", "family_name", "birth_date", "sex", "email", "phone", "sport", "level", "identifier")
NEW_PATIENT_LABELS = {"given_name": "Given name", "family_name": "Family name", "birth_date": "Date of birth",
                      "sex": "Sex", "email": "Email", "phone": "Phone", "sport": "Main sport", "level": "Level",
                      "identifier": "Record number"}


def _new_patient_page(request: Request, form: dict[str, str], errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    return render(request, "patients/new.html", {
        "form": form, "errors": errors, "sports": SPORTS, "levels": [lv.value for lv in SportLevel],
        "sexes": [(s.value, s.value.capitalize()) for s in Sex],
        "sport_options": [(s, s.replace("_", " ").capitalize()) for s in SPORTS],
        "level_options": [(lv.value, lv.value.capitalize()) for lv in SportLevel],
    }, status_code=status_code)


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    require_front_desk(actor)
    return _new_patient_page(request, {"sport": "none", "level": "recreational"}, {})


@router.post("/patients/new", response_class=HTMLResponse)
async def new_patient_submit(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """Register a patient (e.g. a referral or a telephone enquiry); a bad field comes back named, with
    everything else kept."""
    require_front_desk(actor)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in NEW_PATIENT_FIELDS}
    data = {k: v for k, v in form.items() if v or k in ("given_name", "family_name", "birth_date")}
    try:
        patient = patients_service.create_patient(db, actor, PatientCreate.model_validate(data))
    except ValidationError as exc:
        return _new_patient_page(request, form, errors_from(exc, NEW_PATIENT_LABELS), status_code=422)
    except InvalidInput as exc:
        return _new_patient_page(request, form, errors_from(exc, NEW_PATIENT_LABELS), status_code=422)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


# --------------------------------------------------------------------------- contact details


def _contact_page(request: Request, patient: Patient, form: dict[str, str], errors: dict[str, str],
                  saved: bool = False, status_code: int = 200) -> HTMLResponse:
    return render(request, "patients/contact.html", {
        "patient": patient, "form": form, "errors": errors, "saved": saved, "labels": CONTACT_LABELS,
        "preferred": list(PREFERRED_CONTACT_LABELS.items()),
    }, status_code=status_code)


@router.get("/patients/{patient_id}/contact", response_class=HTMLResponse)
def contact_page(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    patient = patients_service.get_contact_details(db, actor, patient_id)
    form = {k: getattr(patient, k) or "" for k in CONTACT_FIELDS}
    return _contact_page(request, patient, form, {}, saved=request.query_params.get("saved") == "1")


@router.post("/patients/{patient_id}/contact", response_class=HTMLResponse)
def contact_submit(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                   raw: RawForm) -> Response:
    """The patient or their clinic's staff change how to reach them; every problem is named by its field."""
    form = {k: raw.get(k, "").strip() for k in CONTACT_FIELDS}
    try:
        data = ContactDetails.model_validate({k: (v or None) for k, v in form.items()})
    except ValidationError as exc:
        patient = patients_service.get_contact_details(db, actor, patient_id)
        return _contact_page(request, patient, form, errors_from(exc, CONTACT_LABELS), status_code=422)
    patients_service.update_contact_details(db, actor, patient_id, data)
    return RedirectResponse(f"/patients/{patient_id}/contact?saved=1", status_code=303)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_record(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    if actor.role == "receptionist":  # the front desk works with contact details and bookings, not clinical notes
        return RedirectResponse(f"/patients/{patient_id}/contact", status_code=303)
    record = patients_service.get_record(db, actor, patient_id)
    with db.no_autoflush:  # the read's audit event is written once, hash included, at commit (no INSERT then UPDATE)
        return render(request, "patients/record.html", {
            "record": record,
            "patient": record.patient,
            "age": record.patient.age_on(date.today()),
            "timeline": build_timeline(record),
            "findings": current_findings(record),
            "finding_texts": finding_texts(),
            "conditions_names": condition_names(),
            "scores": score_series(record),
            "launch_apps": smart.launch_apps(db, actor) if actor.is_staff else [],
            "documents": documents.list_documents(db, actor, patient_id) if actor.is_staff else [],
        })


@router.get("/patients/{patient_id}/documents/{document_id}")
def patient_document(patient_id: uuid.UUID, document_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> Response:
    """A document of the record (a referral letter): downloaded, never shown inline (its content
    came from another system), or the address it lives at."""
    doc, content = documents.open_document(db, actor, patient_id, document_id)
    if content is None:
        return RedirectResponse(doc.url or "/", status_code=303)
    name = "".join(ch for ch in (doc.title or "document") if ch.isalnum() or ch in " -_.")[:80] or "document"
    return Response(content, media_type=doc.content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"})
