"""The codes the outcomes speak: score codes with their labels and MCIDs, time points, instruments,
and the completed procedures that count as surgery (the anchor of post-operative follow-up).

Pure: read by the questionnaires, the due list, the patient's chart, the registry dashboard and export.
"""

from __future__ import annotations

from typing import Final

from hindfoot.outcomes import scoring
from hindfoot.outcomes.instruments import Mcid, load_mcid

SURGICAL_PROCEDURES: Final = (
    "posterior_arthroscopic_excision",
    "posterior_arthroscopic_debridement",
    "open_excision",
)
SCORE_CODES: Final[dict[str, dict[str, str]]] = {
    "faos": {sub: f"faos.{sub}" for sub in scoring.FAOS_SUBSCALES},
    "faam": {sub: f"faam.{sub}" for sub in scoring.FAAM_SUBSCALES},
    "pain": {"pain": "pain.nrs"},
}
SCORE_LABELS: Final[dict[str, str]] = {
    "faos.symptoms": "FAOS Symptoms",
    "faos.pain": "FAOS Pain",
    "faos.adl": "FAOS Daily living",
    "faos.sport_rec": "FAOS Sport and recreation",
    "faos.qol": "FAOS Quality of life",
    "faam.adl": "FAAM Daily living",
    "faam.sports": "FAAM Sports",
    "pain.nrs": "Pain (0-10)",
}
TIMEPOINT_LABELS: Final = {
    "baseline": "Baseline", "6w": "6 weeks", "3m": "3 months", "6m": "6 months", "12m": "12 months",
}
INSTRUMENT_TITLES: Final = {
    "faos": "Foot and Ankle Outcome Score (FAOS)",
    "faam": "Foot and Ankle Ability Measure (FAAM)",
    "pain": "Pain rating (0-10)",
    "rts": "Return to sport",
}


def mcid_for(code: str) -> Mcid:
    """The MCID of a score code such as `faos.pain` or `pain.nrs`."""
    instrument, _, sub = code.partition(".")
    return load_mcid(instrument)["pain" if instrument == "pain" else sub]
