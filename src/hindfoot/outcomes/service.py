"""Outcome questionnaires for one patient: what is due, answering section by section, scores.

A response is a `QuestionnaireResponse` (in-progress while the patient saves and resumes,
completed once submitted); completing it scores it exactly (`scoring`) and stores each score as
an `Observation` (`faos.pain`, `faam.adl`, `pain.nrs`, ...; return to sport as `rts.status` and
`rts.date`) so the chart, the timeline and the registry read one source.

Due dates come from the pathway (`due.schedule`): first consultation = the episode's first
encounter (or its start); treatment start = the first move to conservative care (or the first
conservative care plan); surgery = the latest completed arthroscopy or open excision.

This module is the package's face for the adapters; each job has its own module:
`vocabulary.py` (score codes, labels, MCIDs, time points), `questionnaires.py` (stored definitions),
`due_list.py` (what is due when), `responses.py` (answering and scoring), `score_history.py`
(the patient's chart).

Only the patient themself (or staff of their clinic) may answer; anyone else gets the audited 404.
"""
from __future__ import annotations

from hindfoot.outcomes.due_list import Anchors, DueRow, due_list, due_rows, episode_anchors
from hindfoot.outcomes.questionnaires import (
    instrument_of,
    load_questionnaire_version,
    questionnaire_for,
)
from hindfoot.outcomes.responses import get_response, save_answers, start_response
from hindfoot.outcomes.score_history import PatientOutcomes, ScoreSeries, patient_outcomes
from hindfoot.outcomes.vocabulary import (
    INSTRUMENT_TITLES,
    SCORE_CODES,
    SCORE_LABELS,
    SURGICAL_PROCEDURES,
    TIMEPOINT_LABELS,
    mcid_for,
)

__all__ = [
    "INSTRUMENT_TITLES",
    "SCORE_CODES",
    "SCORE_LABELS",
    "SURGICAL_PROCEDURES",
    "TIMEPOINT_LABELS",
    "Anchors",
    "DueRow",
    "PatientOutcomes",
    "ScoreSeries",
    "due_list",
    "due_rows",
    "episode_anchors",
    "get_response",
    "instrument_of",
    "load_questionnaire_version",
    "mcid_for",
    "patient_outcomes",
    "questionnaire_for",
    "save_answers",
    "start_response",
]
