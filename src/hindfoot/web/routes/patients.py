from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hindfoot.auth.policy import require_staff
from hindfoot.db.models import PathwayStage, Sex, SportLevel
from hindfoot.db.models.episode import STAGE_LABELS
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.errors import InvalidInput
from hindfoot.patients import service as patients_service
from hindfoot.patients.codes import condition_names, finding_texts
from hindfoot.patients.schemas import SPORTS, PatientCreate
from hindfoot.patients.timeline import build_timeline, current_findings, score_series
from hindfoot.web.rendering import render

router = APIRouter()
PAGE_SIZE = 25


@router.get("/me")
def me(actor: CurrentActor) -> Response:
    if actor.role == "patient" and actor.patient_id:
        return RedirectResponse(f"/patients/{actor.patient_id}", status_code=303)
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
    context["counts"] = patients_service.stage_counts(db, actor)
    return render(request, "patients/list.html", context)


# --------------------------------------------------------------------------- a new patient (before /patients/{id})

NEW_PATIENT_FIELDS = ("given_name", "family_name", "birth_date", "sex", "email", "phone", "sport", "level", "identifier")


def _new_patient_page(request: Request, form: dict[str, str], errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    return render(request, "patients/new.html", {
        "form": form, "errors": errors, "sports": SPORTS, "levels": [lv.value for lv in SportLevel],
        "sexes": [s.value for s in Sex],
    }, status_code=status_code)


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    require_staff(actor)
    return _new_patient_page(request, {"sport": "none", "level": "recreational"}, {})


@router.post("/patients/new", response_class=HTMLResponse)
async def new_patient_submit(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    """Register a patient (e.g. a referral or a telephone enquiry); a bad field comes back named, with
    everything else kept."""
    require_staff(actor)
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip() for k in NEW_PATIENT_FIELDS}
    data = {k: v for k, v in form.items() if v or k in ("given_name", "family_name", "birth_date")}
    try:
        patient = patients_service.create_patient(db, actor, PatientCreate.model_validate(data))
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e["loc"] else "form": e["msg"].removeprefix("Value error, ") for e in exc.errors()}
        return _new_patient_page(request, form, errors, status_code=422)
    except InvalidInput as exc:
        return _new_patient_page(request, form, {exc.field or "form": exc.message}, status_code=422)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_record(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    record = patients_service.get_record(db, actor, patient_id)
    return render(request, "patients/record.html", {
        "record": record,
        "patient": record.patient,
        "age": record.patient.age_on(date.today()),
        "timeline": build_timeline(record),
        "findings": current_findings(record),
        "finding_texts": finding_texts(),
        "conditions_names": condition_names(),
        "scores": score_series(record),
    })
