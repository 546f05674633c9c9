"""Decision support around the pure engine: stateless ranking here, and (re-exported, so callers
import everything from this module) server-side interviews, stored findings and the clinician panel.

    rank(data) / rank_json(data)                # one case (clinical README format) -> result / its JSON
    start_interview(db, actor, ...)              # a row in assessment_interview     (interview_service)
    answer_interview(db, actor, id, finding, value) / get_interview(...) / back(...)
    stored_findings(db, episode_id)              # finding id -> True/False        (findings_store)
    clinician_context(db, actor, patient_id, episode_id)   # patient, episodes, ... (clinical_service)
    save_clinical_assessment(db, actor, episode_id, answers, condition=None)

Who may do what: anyone may rank a case or run an anonymous interview (nothing about a person is
stored); an interview started by a signed-in patient belongs to that patient (others get an audited
404) and its answers are saved to the patient's record as history Observations when it finishes;
only staff of the patient's organisation save clinical assessments. Every read and write of a
patient's data is audited; services flush, the request commits.
"""

from __future__ import annotations

from typing import Any

from hindfoot.assessment import engine
from hindfoot.assessment.clinical_service import (
    ClinicalContext,
    ClinicalSave,
    answers_from,
    assess_for_patient,
    clinical_case,
    clinician_context,
    demographics,
    save_clinical_assessment,
)
from hindfoot.assessment.findings_store import SaveSummary, Value, stored_findings
from hindfoot.assessment.interview_service import (
    LATERALITIES,
    TRIAGE_CATEGORY,
    TRIAGE_CODE,
    InterviewView,
    answer_interview,
    attach_check,
    back,
    check_disposition,
    get_interview,
    purge_anonymous_interviews,
    start_interview,
)
from hindfoot.assessment.schemas import AssessmentResult, Case, CaseError, parse_case, result_json
from hindfoot.errors import InvalidInput
from hindfoot.knowledge.loader import KnowledgeBase, load_kb


def _parse(data: Any, kb: KnowledgeBase) -> Case:
    try:
        return parse_case(data, kb)
    except CaseError as exc:
        raise InvalidInput(str(exc), field="case") from None


def rank(data: Any, kb: KnowledgeBase | None = None) -> AssessmentResult:
    """Assess one case dict (`expected` and `note` are ignored). Bad fields or ids: InvalidInput."""
    kb = kb or load_kb()
    return engine.assess(_parse(data, kb), kb)


def rank_json(data: Any, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The public JSON of `rank(data)`: the body of POST /api/assessments."""
    return result_json(rank(data, kb))


__all__ = [
    "LATERALITIES",
    "TRIAGE_CATEGORY",
    "TRIAGE_CODE",
    "ClinicalContext",
    "ClinicalSave",
    "InterviewView",
    "SaveSummary",
    "Value",
    "answer_interview",
    "answers_from",
    "assess_for_patient",
    "attach_check",
    "back",
    "check_disposition",
    "clinical_case",
    "clinician_context",
    "demographics",
    "get_interview",
    "purge_anonymous_interviews",
    "rank",
    "rank_json",
    "result_json",
    "save_clinical_assessment",
    "start_interview",
    "stored_findings",
]
