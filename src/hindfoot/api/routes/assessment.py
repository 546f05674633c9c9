"""Decision support over JSON: stateless ranking, the adaptive interview, and saving an assessment.

CSRF: `POST /api/assessments` is on the public router (no CSRF token): it is stateless, reads no
session data and stores nothing, so a forged request could gain nothing. The interview endpoints
store state (and, for a signed-in patient, write to their record), so they sit behind the CSRF check
like every other write; anonymous clients first call `GET /api/csrf`, which starts a session and
answers its token (send it back in X-CSRF-Token with the session cookie).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.assessment import service as assessment_service
from hindfoot.assessment.schemas import NextQuestion
from hindfoot.auth.csrf import csrf_token
from hindfoot.deps import CurrentActor, DbSession, OptionalActor
from hindfoot.errors import InvalidInput

public_router = APIRouter(tags=["assessment"])
router = APIRouter(tags=["assessment"])


class CsrfToken(BaseModel):
    csrf_token: str


@public_router.get("/csrf")
def get_csrf(request: Request) -> CsrfToken:
    """The session's CSRF token (a session is started if there is none), for anonymous API clients."""
    return CsrfToken(csrf_token=csrf_token(request.session))


_CASE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "one case: id, setting (self|clinic), age, sex, sport, present[], absent[]"}}}}}


@public_router.post("/assessments", response_class=JSONResponse, openapi_extra=_CASE_BODY)
async def assess_case(request: Request) -> Response:
    """Rank every condition for one case (shared clinical README format; `expected`/`note` ignored);
    the answer is the JSON of `hindfoot assess`. Bad JSON, unknown fields or ids: 422 naming them.

    Async on purpose: the work is well under a millisecond of CPU that would hold the GIL in a worker
    thread anyway, so the thread hop only added latency. The ~25 kB answer is plain data, serialised
    once with orjson (FastAPI's generic encoder, or json.dumps, cost as much as the ranking itself).
    """
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", field="body") from None
    payload = assessment_service.rank_json(body)
    return Response(orjson.dumps(payload), media_type="application/json")


# --------------------------------------------------------------------------- interviews


class InterviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setting: Literal["self", "clinic"] = "self"
    age: int | None = Field(default=None, ge=0, le=120)
    sex: Literal["female", "male"] | None = None
    sport: str | None = Field(default=None, max_length=40)
    laterality: Literal["left", "right", "bilateral"] | None = None


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    finding: str = Field(min_length=1, max_length=80)
    value: Literal["present", "absent", "unknown", "dont_know", "not_sure", "yes", "no"]
    # a question that allows several answers (`question.multiple`, where it hurts): the other answers
    # ticked besides `finding`, each recorded "present"
    also: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(default_factory=list, max_length=20)


class AnswerRead(BaseModel):
    finding: str
    answer: str


class InterviewRead(BaseModel):
    id: uuid.UUID
    setting: str
    age: int | None
    sex: str | None
    sport: str | None
    asked: int
    answers: list[AnswerRead]
    done: bool
    reason: str
    question: NextQuestion | None
    saved_episode_id: uuid.UUID | None
    result: dict[str, Any] | None  # result_json, once done


def _read(view: assessment_service.InterviewView) -> InterviewRead:
    s = view.state
    return InterviewRead(
        id=view.id, setting=s.setting, age=s.age, sex=s.sex, sport=s.sport, asked=s.asked,
        answers=[AnswerRead(finding=a.finding, answer=a.answer) for a in s.answers],
        done=view.done, reason=view.step.reason, question=view.step.question,
        saved_episode_id=view.row.episode_id,
        result=assessment_service.result_json(view.result) if view.done else None,
    )


@router.post("/interviews", status_code=201)
def start_interview(body: InterviewCreate, db: DbSession, actor: OptionalActor) -> InterviewRead:
    return _read(assessment_service.start_interview(db, actor, **body.model_dump()))


@router.get("/interviews/{interview_id}")
def get_interview(interview_id: uuid.UUID, db: DbSession, actor: OptionalActor) -> InterviewRead:
    return _read(assessment_service.get_interview(db, actor, interview_id))


@router.post("/interviews/{interview_id}/answers")
def answer_interview(interview_id: uuid.UUID, body: AnswerCreate, db: DbSession, actor: OptionalActor) -> InterviewRead:
    return _read(assessment_service.answer_interview(db, actor, interview_id, body.finding, body.value, body.also))


@router.get("/interviews/{interview_id}/result")
def interview_result(interview_id: uuid.UUID, db: DbSession, actor: OptionalActor) -> dict[str, Any]:
    """The assessment of the answers so far (final once `done`)."""
    view = assessment_service.get_interview(db, actor, interview_id)
    return {"interview_id": str(view.id), "done": view.done, "reason": view.step.reason,
            "asked": view.state.asked, **assessment_service.result_json(view.result)}


# --------------------------------------------------------------------------- clinician save


class EpisodeAssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    present: list[str] = Field(default_factory=list, max_length=300)
    absent: list[str] = Field(default_factory=list, max_length=300)
    unknown: list[str] = Field(default_factory=list, max_length=300)
    condition: str | None = Field(default=None, max_length=80)  # default: the leading condition


@router.post("/episodes/{episode_id}/assessment", status_code=201)
def save_episode_assessment(
    episode_id: uuid.UUID, body: EpisodeAssessmentCreate, db: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    """Save findings (only those that changed) and a provisional Condition on the episode."""
    answers = assessment_service.answers_from(body.present, body.absent, body.unknown)
    saved = assessment_service.save_clinical_assessment(db, actor, episode_id, answers, condition=body.condition)
    c = saved.condition
    return {
        "episode_id": str(saved.episode.id),
        "observations_created": saved.summary.created,
        "observations_withdrawn": saved.summary.withdrawn,
        "unchanged": saved.summary.unchanged,
        "condition": None if c is None else {
            "id": str(c.id), "code": c.code, "display": c.display, "snomed": c.snomed_code, "icd10": c.icd10_code,
            "verification_status": c.verification_status, "laterality": c.laterality,
            "created": saved.condition_created,
        },
        "result": assessment_service.result_json(saved.result),
    }
