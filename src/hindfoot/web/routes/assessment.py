"""Decision-support pages.

* /check: the patient's adaptive symptom check, one question per page, plain forms (no JavaScript
  needed). The interview lives in assessment_interview; the session holds only its id.
* /patients/{id}/assessment: the clinician's panel. Ticking a finding re-posts the form (htmx) and
  swaps the ranked differential; without JavaScript, "Recalculate" posts the same form.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hindfoot.assessment import engine
from hindfoot.assessment import service as assessment_service
from hindfoot.assessment.schemas import AssessmentResult
from hindfoot.audit import service as audit
from hindfoot.deps import CurrentActor, DbSession, OptionalActor
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.knowledge.loader import load_kb
from hindfoot.patients import service as patients_service
from hindfoot.patients.codes import FINDING_CATEGORIES, finding_texts
from hindfoot.web.forms import RawForm
from hindfoot.web.rendering import render

router = APIRouter()
SESSION_KEY = "symptom_check"

DISPOSITION_TITLES = {
    "emergency": "Go to an emergency department now",
    "urgent": "Be seen today, or within 24 hours",
    "routine": "Book a specialist consultation",
    "self_care": "Look after it yourself for now",
}
GROUP_TITLES = {"history": "History", "exam": "Examination", "imaging": "Imaging", "tests": "Tests"}


def _render(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, name, ctx, status_code=status_code)


def likelihood_words(p: float) -> str:
    if p >= 0.6:
        return "Most likely"
    if p >= 0.3:
        return "Likely"
    if p >= 0.1:
        return "Possible"
    return "Less likely"


def _statement(fid: str) -> str:
    kb = load_kb()
    return finding_texts().get(fid) or kb.finding_by_id[fid].question


def _common() -> dict[str, Any]:
    kb = load_kb()
    return {
        "kb": kb, "dispositions": kb.vocabulary.dispositions, "disposition_titles": DISPOSITION_TITLES,
        "statement": _statement, "likelihood_words": likelihood_words,
    }


# --------------------------------------------------------------------------- patient symptom check


def _current_id(request: Request) -> uuid.UUID | None:
    raw = request.session.get(SESSION_KEY)
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _current(request: Request, db: DbSession, actor: OptionalActor) -> assessment_service.InterviewView | None:
    iid = _current_id(request)
    if iid is None:
        return None
    try:
        return assessment_service.get_interview(db, actor, iid)
    except NotFound:  # gone, or started under another sign-in
        request.session.pop(SESSION_KEY, None)
        return None


def _start_defaults(db: DbSession, actor: OptionalActor) -> dict[str, Any]:
    if actor is None or actor.role != "patient" or actor.patient_id is None:
        return {}
    patient = patients_service.get_patient(db, actor, actor.patient_id)
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id,
                 description="symptom check form pre-filled from the record")
    return assessment_service.demographics(patient)


@router.get("/check", response_class=HTMLResponse)
def check_start(request: Request, db: DbSession, actor: OptionalActor) -> HTMLResponse:
    view = _current(request, db, actor)
    return _render(request, "assessment/start.html", {
        **_common(), "values": {k: "" if v is None else str(v) for k, v in _start_defaults(db, actor).items()},
        "errors": {}, "current": view,
    })


@router.post("/check", response_class=HTMLResponse)
def check_begin(request: Request, db: DbSession, actor: OptionalActor, raw: RawForm) -> Response:
    """Every problem named by its field, next to it and in the summary; everything chosen kept."""
    kb = load_kb()
    age, sex, sport, side = (raw.get(k, "").strip() for k in ("age", "sex", "sport", "side"))
    errors: dict[str, str] = {}
    age_value: int | None = None
    if age:
        try:
            age_value = int(age)
            if not 0 <= age_value <= 120:
                raise ValueError
        except ValueError:
            errors["age"] = "Age: enter your age in years (0 to 120), or leave it empty"
    if sex not in ("", "female", "male"):
        errors["sex"] = "Sex: choose female, male or prefer not to say"
    if sport not in ("", *kb.sports):
        errors["sport"] = "Main sport or activity: choose your main sport or activity from the list"
    if side not in ("", "left", "right", "bilateral"):
        errors["side"] = "Which ankle: choose left, right or both"
    if errors:
        values = {"age": age[:20], "sex": sex, "sport": sport, "side": side}
        return _render(request, "assessment/start.html",
                       {**_common(), "values": values, "errors": errors, "current": None}, status_code=422)
    view = assessment_service.start_interview(
        db, actor, age=age_value, sex=sex or None,  # type: ignore[arg-type]
        sport=sport or None, laterality=side or None,
    )
    request.session[SESSION_KEY] = str(view.id)
    return RedirectResponse("/check/question", status_code=303)


@router.get("/check/question", response_class=HTMLResponse)
def check_question(
    request: Request, db: DbSession, actor: OptionalActor,
    finding: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    view = _current(request, db, actor)
    if view is None:
        return RedirectResponse("/check", status_code=303)
    kb = load_kb()
    answers = view.answers()
    if finding is not None:  # "change answer" for one already asked
        if finding not in answers or finding not in kb.finding_by_id:
            return RedirectResponse("/check/question", status_code=303)
        question, number, current = kb.finding_by_id[finding].question, None, answers[finding]
    elif view.done or view.step.question is None:
        return RedirectResponse("/check/result", status_code=303)
    else:
        finding, question, number, current = view.step.question.finding, view.step.question.question, view.state.asked + 1, None
    choices = view.step.question.choices if view.step.question is not None and number is not None else ()
    multiple = bool(choices) and view.step.question is not None and view.step.question.multiple
    none_label = view.step.question.none_label if choices and view.step.question is not None else None
    return _render(request, "assessment/question.html", {
        **_common(), "view": view, "finding": finding, "question": question, "number": number,
        "current": current, "choices": choices, "multiple": multiple, "none_label": none_label, "red_flag": view.step.question is not None and view.step.question.reason == "red_flag"
        and number is not None,
        "presenting": view.step.question is not None and view.step.question.reason == "presenting_complaint"
        and number is not None,
    })


@router.post("/check/answer")
def check_answer(
    request: Request, db: DbSession, actor: OptionalActor,
    finding: Annotated[str, Form(max_length=80)],
    value: Annotated[str, Form(max_length=20)] = "",
    choice: Annotated[list[str] | None, Form()] = None,
) -> Response:
    iid = _current_id(request)
    if iid is None:
        return RedirectResponse("/check", status_code=303)
    also: list[str] = []
    if choice:  # a question with several answers (where it hurts, how it started)
        view = assessment_service.get_interview(db, actor, iid)
        q = view.step.question
        options = {f for f, _ in q.choices} if q is not None and q.finding == finding else set()
        picked = list(dict.fromkeys(choice))
        if len(picked) > len(options) + 1 or any(len(c) > 80 for c in picked):
            raise InvalidInput("too many or too long answers", field="choice")
        if q is not None and q.multiple and len(picked) > 1 and "unknown" in picked:
            # a place ticked with "not sure, or somewhere else": the places ticked are what is known
            picked.remove("unknown")
        if picked == ["unknown"] and options:
            value = "unknown"
        elif picked == ["none_of_these"] and options and q is not None and q.none_label:
            value = "absent"  # none of the options (how long: in between): the first one is "no"
        elif picked and set(picked) <= options and (len(picked) == 1 or (q is not None and q.multiple)):
            finding, value, also = picked[0], "present", picked[1:]
        else:
            raise InvalidInput(f"{', '.join(picked)!r} is not one of the answers to this question", field="choice")
    if value not in ("present", "absent", "unknown"):
        view = assessment_service.get_interview(db, actor, iid)
        kb = load_kb()
        f = kb.finding_by_id.get(finding)
        if f is None:
            raise InvalidInput(f"unknown finding id {finding!r}", field="finding")
        q = view.step.question
        choices = q.choices if q is not None and q.finding == finding else ()
        return _render(request, "assessment/question.html", {
            **_common(), "view": view, "finding": finding, "question": q.question if choices and q else f.question,
            "current": None, "choices": choices, "none_label": q.none_label if choices and q else None,
            "number": view.state.asked + 1 if finding not in view.answers() else None, "red_flag": False,
            "multiple": bool(choices) and q is not None and q.multiple,
            "error": ("Tick every place that applies, or not sure." if choices and q is not None and q.multiple
                      else "Choose one answer, or not sure." if choices else "Choose yes, no or not sure."),
        }, status_code=422)
    view = assessment_service.answer_interview(db, actor, iid, finding, value, also)
    return RedirectResponse("/check/result" if view.done else "/check/question", status_code=303)


@router.post("/check/back")
def check_back(request: Request, db: DbSession, actor: OptionalActor) -> Response:
    iid = _current_id(request)
    if iid is not None:
        assessment_service.back(db, actor, iid)
    return RedirectResponse("/check/question" if iid else "/check", status_code=303)


def _shown_conditions(result: AssessmentResult) -> list[Any]:
    """Top 3 to 5: always three, then more while they are still at least 5% likely."""
    out = list(result.ranking[:3])
    for r in result.ranking[3:5]:
        if r.probability >= 0.05:
            out.append(r)
    return out


@router.get("/check/result", response_class=HTMLResponse)
def check_result(request: Request, db: DbSession, actor: OptionalActor) -> Response:
    view = _current(request, db, actor)
    if view is None:
        return RedirectResponse("/check", status_code=303)
    if not view.done:
        return RedirectResponse("/check/question", status_code=303)
    result = view.result
    return _render(request, "assessment/result.html", {
        **_common(), "view": view, "result": result, "shown": _shown_conditions(result),
        "answers": view.state.answers, "saved": view.row.saved_at is not None,
    })


# --------------------------------------------------------------------------- clinician panel


def _groups() -> list[tuple[str, str, list[Any]]]:
    kb = load_kb()
    return [(g, GROUP_TITLES[g], [f for f in kb.findings if f.group == g]) for g in FINDING_CATEGORIES]


async def _form_answers(request: Request) -> tuple[dict[str, assessment_service.Value], dict[str, str]]:
    """Finding answers (fields `f.<finding id>` = present / absent / unknown) and the other fields."""
    kb = load_kb()
    form = await request.form()
    answers: dict[str, assessment_service.Value] = {}
    other: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key.startswith("f."):
            fid = key[2:]
            if fid not in kb.finding_by_id:
                raise InvalidInput(f"unknown finding id {fid!r}", field=key)
            if value not in ("present", "absent", "unknown"):
                raise InvalidInput(f"answer for {fid} must be present, absent or unknown", field=key)
            answers[fid] = value  # type: ignore[assignment]
        else:
            other[key] = value
    return answers, other


def _stored_answers(stored: dict[str, bool]) -> dict[str, assessment_service.Value]:
    return {f: ("present" if v else "absent") for f, v in stored.items()}


def _page_ctx(ctx: assessment_service.ClinicalContext, answers: dict[str, Any], result: AssessmentResult,
              notice: str | None = None) -> dict[str, Any]:
    return {
        **_common(), "patient": ctx.patient, "episodes": ctx.episodes, "episode": ctx.episode,
        "demo": ctx.demographics, "answers": answers, "stored": ctx.stored, "groups": _groups(),
        "result": result, "notice": notice,
    }


@router.get("/patients/{patient_id}/assessment", response_class=HTMLResponse)
def clinician_page(
    patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor,
    episode: Annotated[uuid.UUID | None, Query()] = None,
    saved: Annotated[int | None, Query(ge=0, le=1000)] = None,
    condition: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    ctx = assessment_service.clinician_context(db, actor, patient_id, episode)
    answers = _stored_answers(ctx.stored)
    result = engine.assess(assessment_service.clinical_case(ctx.patient, answers), question_limit=8)
    notice = None
    if saved is not None:
        kb = load_kb()
        name = kb.condition_by_id[condition].name if condition in kb.condition_by_id else None
        notice = f"Saved: {saved} finding(s) changed" + (f"; provisional diagnosis {name}." if name else ".")
    return _render(request, "assessment/clinician.html", _page_ctx(ctx, answers, result, notice))


@router.post("/patients/{patient_id}/assessment/panel", response_class=HTMLResponse)
async def clinician_panel(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> HTMLResponse:
    answers, other = await _form_answers(request)
    result = assessment_service.assess_for_patient(db, actor, patient_id, answers)
    if request.headers.get("hx-request"):
        return _render(request, "assessment/_panel.html", {**_common(), "result": result, "patient_id": patient_id,
                                                           "answers": answers})
    episode_id = _uuid_or_none(other.get("episode_id"))
    ctx = assessment_service.clinician_context(db, actor, patient_id, episode_id)
    return _render(request, "assessment/clinician.html", _page_ctx(ctx, answers, result))


def _uuid_or_none(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        raise InvalidInput("bad episode id", field="episode_id") from None


@router.post("/patients/{patient_id}/assessment")
async def clinician_save(patient_id: uuid.UUID, request: Request, db: DbSession, actor: CurrentActor) -> Response:
    answers, other = await _form_answers(request)
    episode_id = _uuid_or_none(other.get("episode_id"))
    if episode_id is None:
        raise InvalidInput("choose an episode to save to", field="episode_id")
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.UPDATE)
    if episode.patient_id != patient_id:
        raise NotFound("episode not found for this patient")
    saved = assessment_service.save_clinical_assessment(
        db, actor, episode_id, answers, condition=other.get("condition") or None,
    )
    changed = len(saved.summary.created) + len(saved.summary.withdrawn)
    code = saved.condition.code if saved.condition else ""
    return RedirectResponse(
        f"/patients/{patient_id}/assessment?episode={episode_id}&saved={changed}&condition={code}", status_code=303
    )
