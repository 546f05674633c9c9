"""Outcome pages: the patient's questionnaires (one page per section, save and resume), score
charts, and the clinic's registry dashboard with its de-identified CSV export."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.errors import Forbidden, InvalidInput
from hindfoot.outcomes import analytics, charts
from hindfoot.outcomes import service as outcomes_service
from hindfoot.outcomes.service import (
    SCORE_CODES,
    SCORE_LABELS,
    SURGICAL_PROCEDURES,
    ScoreSeries,
    mcid_for,
)
from hindfoot.web.rendering import render, templates

router = APIRouter()
SHORT_LABELS = {
    "faos.symptoms": "FAOS Sym", "faos.pain": "FAOS Pain", "faos.adl": "FAOS ADL", "faos.sport_rec": "FAOS Sport",
    "faos.qol": "FAOS QoL", "faam.adl": "FAAM ADL", "faam.sports": "FAAM Sport", "pain.nrs": "Pain NRS",
}


# ------------------------------------------------------------------ chart panels (shared)


@dataclass
class Panel:
    code: str
    label: str
    svg: str
    series: ScoreSeries


def score_panels(series: list[ScoreSeries], markers: list[tuple[date, str]]) -> list[Panel]:
    panels = []
    for s in series:
        pain = s.code == "pain.nrs"
        threshold_label = (f"MCID {'+' if s.mcid.better == 'higher' else '−'}{s.mcid.value:g} from baseline"
                           if s.threshold is not None else "")
        svg = charts.line_chart(
            s.label, [(d, v) for d, v, _ in s.points], y_range=(0, 10) if pain else (0, 100),
            better=s.mcid.better, threshold=s.threshold, threshold_label=threshold_label, markers=markers,
        )
        panels.append(Panel(s.code, s.label, svg, s))
    return panels


def panels_for_record(record: Any) -> list[Panel]:
    """Charts from an already loaded patient record (its responses and procedures): no queries."""
    points: dict[str, list[tuple[date, float, str]]] = defaultdict(list)
    for r in sorted(record.responses, key=lambda r: r.authored_at):
        if r.status != "completed" or r.questionnaire.code not in SCORE_CODES:
            continue
        for sub, value in (r.scores or {}).items():
            code = SCORE_CODES[r.questionnaire.code].get(sub)
            if code and isinstance(value, (int, float)):
                points[code].append((r.authored_at.date(), float(value), r.timepoint))
    series = []
    for code, label in SCORE_LABELS.items():
        if code in points:
            base = [v for _, v, tp in points[code] if tp == "baseline"]
            series.append(ScoreSeries(code, label, points[code], mcid_for(code), base[0] if base else None))
    markers = [(p.performed_at.date(), "Surgery") for p in record.procedures
               if p.performed_at and p.code in SURGICAL_PROCEDURES and p.status == "completed"]
    return score_panels(series, markers)


templates.env.globals["outcome_panels_for_record"] = panels_for_record


# ------------------------------------------------------------------ patient: questionnaires


@router.get("/questionnaires", response_class=HTMLResponse)
def my_questionnaires(request: Request, db: DbSession, actor: CurrentActor) -> Response:
    if actor.role != "patient" or actor.patient_id is None:
        return RedirectResponse("/outcomes", status_code=303)
    rows = outcomes_service.due_list(db, actor, actor.patient_id)
    open_rows = [r for r in rows if r.open]
    return render(request, "outcomes/questionnaires.html", {
        "open_rows": open_rows,
        "upcoming": [r for r in rows if r.status == "upcoming"][:8],
        "completed": [r for r in rows if r.status == "completed"],
        "missed": [r for r in rows if r.status == "missed"],
        "patient_id": actor.patient_id,
    })


@router.post("/questionnaires/start")
def start(
    db: DbSession, actor: CurrentActor,
    patient_id: Annotated[uuid.UUID, Form()], episode_id: Annotated[uuid.UUID, Form()],
    instrument: Annotated[str, Form(max_length=10)], timepoint: Annotated[str, Form(max_length=10)],
) -> Response:
    response = outcomes_service.start_response(db, actor, patient_id, episode_id, instrument, timepoint)
    return RedirectResponse(f"/questionnaires/{response.id}/section/1", status_code=303)


def _section_context(response: Any, n: int, error: InvalidInput | None = None) -> dict[str, Any]:
    instrument = outcomes_service.instrument_of(response.questionnaire)
    sections = instrument.sections
    if not 1 <= n <= len(sections):
        raise InvalidInput(f"section {n} does not exist (1-{len(sections)})", field="section")
    section = sections[n - 1]
    return {
        "response": response, "instrument": instrument, "section": section, "n": n, "count": len(sections),
        "items": [instrument.item(i) for i in section.item_ids], "answers": response.answers,
        "title": outcomes_service.INSTRUMENT_TITLES.get(instrument.code, instrument.title),
        "timepoint_label": outcomes_service.TIMEPOINT_LABELS.get(response.timepoint, response.timepoint),
        "error": error,
    }


@router.get("/questionnaires/{response_id}/section/{n}", response_class=HTMLResponse)
def section_page(response_id: uuid.UUID, n: int, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    response = outcomes_service.get_response(db, actor, response_id)
    if response.status == "completed":
        return RedirectResponse(f"/patients/{response.patient_id}/outcomes", status_code=303)
    return render(request, "outcomes/section.html", _section_context(response, n))


@router.post("/questionnaires/{response_id}/section/{n}", response_class=HTMLResponse)
async def section_save(response_id: uuid.UUID, n: int, request: Request, db: DbSession,
                       actor: CurrentActor) -> Response:
    form = await request.form()
    action = str(form.get("action", "next"))
    response = outcomes_service.get_response(db, actor, response_id, action="U")
    ctx = _section_context(response, n)
    answers = {item.id: (str(form.get(item.id)) if form.get(item.id) not in (None, "") else None)
               for item in ctx["items"]}
    complete = action == "submit" and n == ctx["count"]
    try:
        outcomes_service.save_answers(db, actor, response_id, answers, complete=complete)
    except InvalidInput as exc:
        db.rollback()
        response = outcomes_service.get_response(db, actor, response_id)
        ctx = _section_context(response, n, exc)
        ctx["answers"] = {**response.answers, **{k: v for k, v in answers.items() if v is not None}}
        return render(request, "outcomes/section.html", ctx, status_code=422)
    if complete:
        return RedirectResponse(f"/patients/{response.patient_id}/outcomes?completed={response.questionnaire.code}",
                                status_code=303)
    if action == "save":
        return RedirectResponse("/questionnaires?saved=1", status_code=303)
    target = max(1, n - 1) if action == "back" else min(ctx["count"], n + 1)
    return RedirectResponse(f"/questionnaires/{response_id}/section/{target}", status_code=303)


@router.get("/patients/{patient_id}/outcomes", response_class=HTMLResponse)
def patient_chart(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
                  completed: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    data = outcomes_service.patient_outcomes(db, actor, patient_id)
    return render(request, "outcomes/patient.html", {
        "patient": data.patient, "panels": score_panels(data.series, data.markers), "rts": data.rts,
        "completed": outcomes_service.INSTRUMENT_TITLES.get(completed or "", None),
    })


# ------------------------------------------------------------------ clinic: registry dashboard


def _filters(sport: str | None, procedure: str | None, surgeon: str | None, from_: str | None,
             to: str | None) -> analytics.Filters:
    def day(value: str | None, name: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name) from None

    try:
        surgeon_id = uuid.UUID(surgeon) if surgeon else None
    except ValueError:
        raise InvalidInput(f"surgeon: {surgeon!r} is not a surgeon id", field="surgeon") from None
    return analytics.Filters(sport=sport or None, procedure=procedure or None, surgeon_id=surgeon_id,
                             start=day(from_, "from"), end=day(to, "to"))


@router.get("/outcomes", response_class=HTMLResponse)
def dashboard_page(
    request: Request, db: DbSession, actor: CurrentActor, settings: AppSettings,
    sport: Annotated[str | None, Query(max_length=40)] = None,
    procedure: Annotated[str | None, Query(max_length=80)] = None,
    surgeon: Annotated[str | None, Query(max_length=40)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    if not actor.can_registry:
        if actor.patient_id:
            return RedirectResponse(f"/patients/{actor.patient_id}/outcomes", status_code=303)
        raise Forbidden("the registry needs a clinician, manager or admin account")
    filters = _filters(sport, procedure, surgeon, from_, to)
    data = analytics.dashboard(db, actor, filters)
    completion_svg = charts.bar_chart(
        "Questionnaire completion by time point",
        [charts.Bar(c["label"], 100 * c["rate"], f"{c['completed']} of {c['due']}")
         for c in data.completion if c["rate"] is not None],
        y_range=(0, 100), unit="%",
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in data.change:
        latest[row["code"]] = row  # rows are ordered by time point, so the last one wins
    mcid_svg = charts.bar_chart(
        "Share reaching the MCID at the latest time point",
        [charts.Bar(SHORT_LABELS[r["code"]], 100 * (r["share_above_mcid"] or 0),
                    f"{r['timepoint_label']}, n={r['n']}")
         for r in latest.values()],
        y_range=(0, 100), unit="%",
    )
    km_svg = charts.km_chart(
        "Time to return to sport (Kaplan-Meier, share returned)",
        [(s["time"], s["survival"], s["lower"], s["upper"]) for s in data.km_steps],
        median=data.rts.get("median_days"),
    )
    query = {k: v for k, v in {"sport": sport, "procedure": procedure, "surgeon": surgeon, "from": from_,
                               "to": to}.items() if v}
    return render(request, "outcomes/dashboard.html", {
        "d": data, "options": analytics.filter_options(db, actor), "f": filters, "q": query,
        "csv_url": "/outcomes/export.csv" + (f"?{urlencode(query)}" if query else ""),
        "min_group": settings.export_min_group,
        "completion_svg": completion_svg, "mcid_svg": mcid_svg, "km_svg": km_svg,
        "procedures": PROCEDURES, "from_": from_ or "", "to": to or "",
    })


@router.get("/outcomes/export.csv")
def export_page(
    db: DbSession, actor: CurrentActor, settings: AppSettings,
    sport: Annotated[str | None, Query(max_length=40)] = None,
    procedure: Annotated[str | None, Query(max_length=80)] = None,
    surgeon: Annotated[str | None, Query(max_length=40)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    export = analytics.export_csv(db, actor, _filters(sport, procedure, surgeon, from_, to),
                                  min_group=settings.export_min_group)
    return Response(export.text, media_type="text/csv; charset=utf-8", headers=export.headers())
