"""Exact scoring of FAOS, FAAM and the pain NRS, as the published manuals define it.

Pure functions: a mapping of item id to answer in, `{"scores": ..., "notes": [...]}` out.
Scores are unrounded floats so a stored score never depends on display rounding; a subscale
that cannot be scored is None and a note says why, so a clinician never mistakes "not enough
answers" for a poor result.

Missing-item rules (the project's decision where sources differ, see evidence.md section 7):

- FAOS: a subscale is scored only when at least half of its items are answered (the 2012
  KOOS/FAOS rule [KOOS2012]: symptoms >= 4 of 7, pain >= 5 of 9, ADL >= 9 of 17,
  sport/recreation >= 3 of 5, quality of life >= 2 of 4); the score is the mean of the
  answered items. The older "at most 2 missing" guide is not used.
- FAAM: "na" (limited by something other than the foot or ankle) leaves both the sum and the
  count [PP_FAAM] and is not a missing answer. A subscale is not scored when more than 2 ADL
  items or more than 1 Sports item is missing (no answer at all). The stricter ">= 90%
  answered" reading [YHOC] is not used. A subscale whose answered items are all "na" cannot be
  scored either.

Item ids are defined here as constants; a test checks they equal the shipped Questionnaires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, TypedDict

from hindfoot.errors import InvalidInput

__all__ = [
    "FAAM_GLOBAL_ITEMS",
    "FAAM_MAX_MISSING",
    "FAAM_SUBSCALES",
    "FAOS_MIN_ANSWERED",
    "FAOS_SUBSCALES",
    "PAIN_ITEM",
    "RTS_STATUSES",
    "SCORED_INSTRUMENTS",
    "ReturnToSport",
    "ScoreResult",
    "ScoringInputError",
    "classify_change",
    "faam_globals",
    "read_rts",
    "score",
    "score_faam",
    "score_faos",
    "score_pain",
    "subscales",
]


class ScoringInputError(InvalidInput, ValueError):
    """A response the scoring cannot accept: unknown item id, or a value outside the item's range.

    Carries the item id in `field`; the API answers 422, the CLI exits 2.
    """

    code = "invalid_response"


class ScoreResult(TypedDict):
    scores: dict[str, float | None]
    notes: list[str]


Answer = int | str | None
"""One response value: an int answer, "na" (FAAM only), or None / absent for unanswered."""

FAOS_SUBSCALES: Final[dict[str, tuple[str, ...]]] = {
    "symptoms": tuple(f"S{i}" for i in range(1, 8)),
    "pain": tuple(f"P{i}" for i in range(1, 10)),
    "adl": tuple(f"A{i}" for i in range(1, 18)),
    "sport_rec": tuple(f"SP{i}" for i in range(1, 6)),
    "qol": tuple(f"Q{i}" for i in range(1, 5)),
}
FAOS_MIN_ANSWERED: Final[dict[str, int]] = {
    "symptoms": 4,
    "pain": 5,
    "adl": 9,
    "sport_rec": 3,
    "qol": 2,
}
"""At least half of each subscale's items, rounded up [KOOS2012]."""

FAAM_SUBSCALES: Final[dict[str, tuple[str, ...]]] = {
    "adl": tuple(f"ADL{i}" for i in range(1, 22)),
    "sports": tuple(f"SPORTS{i}" for i in range(1, 9)),
}
FAAM_MAX_MISSING: Final[dict[str, int]] = {"adl": 2, "sports": 1}
FAAM_GLOBAL_ITEMS: Final[dict[str, str]] = {"adl": "ADL_GLOBAL", "sports": "SPORTS_GLOBAL"}
"""The 0-100 "% of normal function" ratings: validated and stored, never part of a score."""
FAAM_NA: Final = "na"

PAIN_ITEM: Final = "PAIN"

SCORED_INSTRUMENTS: Final = ("faos", "faam", "pain")

RTS_STATUSES: Final = (
    "not_returned",
    "returned_lower_level",
    "returned_previous_level",
    "returned_higher_level",
)


def score_faos(responses: Mapping[str, object]) -> ScoreResult:
    """FAOS subscales: 100 - 25 x mean of answered items (0-4), 100 = no problems [KOOSNU]."""
    allowed = {item: _ints(0, 4) for ids in FAOS_SUBSCALES.values() for item in ids}
    answers = _validate("FAOS", responses, allowed)
    result: ScoreResult = {"scores": {}, "notes": []}
    for subscale, ids in FAOS_SUBSCALES.items():
        values = [v for i in ids if isinstance(v := answers.get(i), int)]
        need = FAOS_MIN_ANSWERED[subscale]
        if len(values) < need:
            result["scores"][subscale] = None
            result["notes"].append(
                f"{subscale}: not scored, {len(values)} of {len(ids)} items answered "
                f"(at least {need} needed)"
            )
            continue
        result["scores"][subscale] = 100.0 - 25.0 * (sum(values) / len(values))
        if len(values) < len(ids):
            result["notes"].append(
                f"{subscale}: scored from {len(values)} of {len(ids)} items "
                f"({len(ids) - len(values)} missing: {_missing(ids, answers)})"
            )
    return result


def score_faam(responses: Mapping[str, object]) -> ScoreResult:
    """FAAM subscales: 100 x sum / (4 x items answered 0-4), 4 = no difficulty [MARTIN05].

    "na" items leave numerator and denominator; the global ratings are validated and ignored
    (read them with `faam_globals`).
    """
    allowed: dict[str, Callable[[object], str | None]] = {
        item: _ints(0, 4, extra=FAAM_NA) for ids in FAAM_SUBSCALES.values() for item in ids
    }
    allowed.update({item: _ints(0, 100) for item in FAAM_GLOBAL_ITEMS.values()})
    answers = _validate("FAAM", responses, allowed)
    result: ScoreResult = {"scores": {}, "notes": []}
    for subscale, ids in FAAM_SUBSCALES.items():
        values = [v for i in ids if isinstance(v := answers.get(i), int)]
        not_applicable = sum(1 for i in ids if answers.get(i) == FAAM_NA)
        missing = len(ids) - len(values) - not_applicable
        limit = FAAM_MAX_MISSING[subscale]
        if missing > limit:
            result["scores"][subscale] = None
            result["notes"].append(
                f"{subscale}: not scored, {missing} of {len(ids)} items missing "
                f"(at most {limit} allowed; 'na' does not count as missing)"
            )
            continue
        if not values:
            result["scores"][subscale] = None
            result["notes"].append(
                f"{subscale}: not scored, no item answered 0-4 (all answered 'na')"
            )
            continue
        result["scores"][subscale] = 100.0 * sum(values) / (4 * len(values))
        if missing or not_applicable:
            parts = []
            if missing:
                parts.append(f"{missing} missing: {_missing(ids, answers)}")
            if not_applicable:
                parts.append(f"{not_applicable} not applicable")
            result["notes"].append(
                f"{subscale}: scored from {len(values)} of {len(ids)} items ({'; '.join(parts)})"
            )
    return result


def faam_globals(responses: Mapping[str, object]) -> dict[str, int | None]:
    """The FAAM global "% of normal function" ratings by subscale, validated, for display."""
    answers = _validate(
        "FAAM",
        {k: v for k, v in responses.items() if k in FAAM_GLOBAL_ITEMS.values()},
        {item: _ints(0, 100) for item in FAAM_GLOBAL_ITEMS.values()},
    )
    return {sub: _as_int(answers.get(item)) for sub, item in FAAM_GLOBAL_ITEMS.items()}


def score_pain(responses: Mapping[str, object]) -> ScoreResult:
    """Pain NRS: the 0-10 rating itself (LOINC 72514-3); lower is better."""
    answers = _validate("pain", responses, {PAIN_ITEM: _ints(0, 10)})
    value = answers.get(PAIN_ITEM)
    if value is None:
        return {"scores": {"pain": None}, "notes": [f"pain: not scored, {PAIN_ITEM} not answered"]}
    return {"scores": {"pain": float(value)}, "notes": []}


_SCORERS: Final[dict[str, Callable[[Mapping[str, object]], ScoreResult]]] = {
    "faos": score_faos,
    "faam": score_faam,
    "pain": score_pain,
}


def score(instrument: str, responses: Mapping[str, object]) -> ScoreResult:
    """Score `responses` with the named instrument (faos, faam or pain)."""
    scorer = _SCORERS.get(instrument)
    if scorer is None:
        raise ScoringInputError(
            f"unknown instrument {instrument!r} (expected one of {', '.join(SCORED_INSTRUMENTS)})",
            field="instrument",
        )
    return scorer(responses)


def subscales(instrument: str) -> tuple[str, ...]:
    """The score keys an instrument produces, in display order."""
    if instrument == "faos":
        return tuple(FAOS_SUBSCALES)
    if instrument == "faam":
        return tuple(FAAM_SUBSCALES)
    if instrument == "pain":
        return ("pain",)
    raise ScoringInputError(f"unknown instrument {instrument!r}", field="instrument")


def classify_change(
    baseline: float, follow_up: float, mcid: float, better: Literal["higher", "lower"]
) -> Literal["improved", "unchanged", "worsened"]:
    """Whether a change reaches the MCID (see `instruments.load_mcid`) in either direction.

    A change of exactly the MCID counts as important: the MCID is the smallest change that matters.
    """
    delta = follow_up - baseline if better == "higher" else baseline - follow_up
    if delta >= mcid:
        return "improved"
    if delta <= -mcid:
        return "worsened"
    return "unchanged"


@dataclass(frozen=True, slots=True)
class ReturnToSport:
    """A return-to-sport answer: the status and, once returned, the date of return."""

    status: str
    returned_on: date | None

    @property
    def returned(self) -> bool:
        return self.status != "not_returned"


def read_rts(responses: Mapping[str, object]) -> ReturnToSport | None:
    """Validate a return-to-sport response; None when the status was not answered.

    Not a score: the date feeds time-to-return (`survival.duration_from_dates`). A return needs
    its date and "not_returned" must have none, so the survival analysis never guesses.
    """
    if not isinstance(responses, Mapping):
        raise ScoringInputError("rts: responses must be an object", field="responses")
    for item in responses:
        if item not in ("RTS_STATUS", "RTS_DATE"):
            raise ScoringInputError(f"rts: unknown item id {item!r}", field=str(item))
    status, raw_date = responses.get("RTS_STATUS"), responses.get("RTS_DATE")
    if status is not None and status not in RTS_STATUSES:
        raise ScoringInputError(
            f"rts item RTS_STATUS: {status!r} is not valid (expected one of {', '.join(RTS_STATUSES)})",
            field="RTS_STATUS",
        )
    returned_on: date | None = None
    if isinstance(raw_date, date):
        returned_on = raw_date
    elif isinstance(raw_date, str):
        try:
            returned_on = date.fromisoformat(raw_date)
        except ValueError:
            returned_on = None
        if returned_on is None or len(raw_date) != 10:
            raise ScoringInputError(
                f"rts item RTS_DATE: {raw_date!r} is not a date (expected YYYY-MM-DD)",
                field="RTS_DATE",
            )
    elif raw_date is not None:
        raise ScoringInputError(
            f"rts item RTS_DATE: {raw_date!r} is not a date (expected YYYY-MM-DD)", field="RTS_DATE"
        )
    if status is None:
        if returned_on is not None:
            raise ScoringInputError("rts: RTS_DATE given without RTS_STATUS", field="RTS_STATUS")
        return None
    if status == "not_returned" and returned_on is not None:
        raise ScoringInputError(
            "rts: RTS_DATE given but RTS_STATUS is not_returned", field="RTS_DATE"
        )
    if status != "not_returned" and returned_on is None:
        raise ScoringInputError(
            f"rts: RTS_DATE is required when RTS_STATUS is {status}", field="RTS_DATE"
        )
    return ReturnToSport(str(status), returned_on)


def _ints(low: int, high: int, *, extra: str | None = None) -> Callable[[object], str | None]:
    """A checker returning None for an acceptable value, else what is wrong with it."""
    expected = f"an integer {low}-{high}" + (f" or {extra!r}" if extra else "") + ", or null"

    def check(value: object) -> str | None:
        if extra is not None and value == extra:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return (
                None if low <= value <= high else f"{value!r} is out of range (expected {expected})"
            )
        return f"{value!r} is not a valid answer (expected {expected})"

    return check


def _validate(
    label: str,
    responses: Mapping[str, object],
    allowed: Mapping[str, Callable[[object], str | None]],
) -> dict[str, Answer]:
    """Refuse unknown ids and invalid values, naming the item; drop unanswered (None) items."""
    if not isinstance(responses, Mapping):
        raise ScoringInputError(
            f"{label}: responses must be an object mapping item id to value", field="responses"
        )
    answers: dict[str, Answer] = {}
    for item, value in responses.items():
        check = allowed.get(item) if isinstance(item, str) else None
        if check is None:
            raise ScoringInputError(f"{label}: unknown item id {item!r}", field=str(item))
        if value is None:
            continue
        if (problem := check(value)) is not None:
            raise ScoringInputError(f"{label} item {item}: {problem}", field=item)
        answers[item] = value  # type: ignore[assignment]  # checked just above
    return answers


def _missing(ids: tuple[str, ...], answers: Mapping[str, Answer]) -> str:
    return ", ".join(i for i in ids if answers.get(i) is None)


def _as_int(value: Answer) -> int | None:
    return value if isinstance(value, int) else None
