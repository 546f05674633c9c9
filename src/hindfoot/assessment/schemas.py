"""Case and result types of the decision support: the Case is a Pydantic model, the results are
slotted dataclasses (built only by the engine), all JSON-serialisable.

A Case is validated against the knowledge base: unknown fields, unknown finding ids, unknown sports and
findings both present and absent are rejected with a message naming them. Pass another knowledge base
with ``Case.model_validate(data, context={"kb": kb})``; the packaged one is used otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hindfoot.knowledge.loader import KnowledgeBase, load_kb

if TYPE_CHECKING:
    from hindfoot.assessment.rules import RuleResult
from hindfoot.knowledge.schemas import Disposition

Setting = Literal["self", "clinic"]
Answer = Literal["present", "absent", "unknown"]


class CaseError(ValueError):
    """A case could not be read; the message names the offending fields or ids."""


def _kb_from(info: ValidationInfo | None) -> KnowledgeBase:
    ctx = info.context if info is not None else None
    kb = ctx.get("kb") if isinstance(ctx, dict) else None
    return kb if isinstance(kb, KnowledgeBase) else load_kb()


class Case(BaseModel):
    """One patient's findings: ids in `present` or `absent`; every other finding is unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "case"
    setting: Setting = "clinic"
    age: int | None = Field(default=None, ge=0, le=120)
    sex: Literal["female", "male"] | None = None
    sport: str | None = None
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()

    @field_validator("sport")
    @classmethod
    def _known_sport(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        kb = _kb_from(info)
        if v not in kb.sports:
            raise ValueError(f"unknown sport {v!r} (expected one of: {', '.join(kb.sports)})")
        return v

    @model_validator(mode="after")
    def _known_findings(self, info: ValidationInfo) -> Case:
        kb = _kb_from(info)
        for name in ("present", "absent"):
            ids = getattr(self, name)
            unknown = [f for f in ids if f not in kb.finding_by_id]
            if unknown:
                raise ValueError(f"unknown finding id(s) in {name}: {', '.join(unknown)}")
        both = sorted(set(self.present) & set(self.absent))
        if both:
            raise ValueError(f"finding id(s) both present and absent: {', '.join(both)}")
        return self


_CASE_FIELDS = frozenset(Case.model_fields)


class Expected(BaseModel):
    """The expected answer of a test case (never an input of the engine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    diagnosis: str
    acceptable: tuple[str, ...] = ()
    disposition: Disposition


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every bad field: unknown fields, bad values, unknown ids."""
    parts: list[str] = []
    extra = [".".join(str(x) for x in e["loc"]) for e in exc.errors() if e["type"] == "extra_forbidden"]
    if extra:
        parts.append(f"unknown field(s): {', '.join(extra)}")
    for e in exc.errors():
        if e["type"] == "extra_forbidden":
            continue
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_case(data: Any, kb: KnowledgeBase | None = None, *, ignore: tuple[str, ...] = ("expected", "note")) -> Case:
    """Validate one case dict (fields in `ignore`, e.g. a test case's `expected`, are dropped)."""
    if not isinstance(data, dict):
        raise CaseError(f"a case must be a JSON object, got {type(data).__name__}")
    body = {k: v for k, v in data.items() if k not in ignore}
    kb = kb or load_kb()
    # name every unknown field and finding id at once (pydantic stops at the first failing stage)
    early: list[str] = []
    extra = [k for k in body if k not in _CASE_FIELDS]
    if extra:
        early.append(f"unknown field(s): {', '.join(map(str, extra))}")
    for name in ("present", "absent"):
        ids = body.get(name)
        if isinstance(ids, list):
            unknown = [str(f) for f in ids if not isinstance(f, str) or f not in kb.finding_by_id]
            if unknown:
                early.append(f"unknown finding id(s) in {name}: {', '.join(unknown)}")
    if early:
        raise CaseError(f"case {data.get('id', '?')!r}: {'; '.join(early)}")
    try:
        return Case.model_validate(body, context={"kb": kb})
    except ValidationError as exc:
        raise CaseError(f"case {data.get('id', '?')!r}: {describe_validation_error(exc)}") from None


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class Contribution:
    """How one answered finding moves one condition: weighted log-likelihood ratio against the
    prior-weighted average of all conditions (> 0 pushes it up, < 0 pushes it down)."""

    finding: str
    answer: Literal["present", "absent"]
    contribution: float
    sources: tuple[str, ...]


# The result types are plain (slotted) dataclasses rather than Pydantic models: an assessment holds
# 20 ranked conditions and a few hundred contributions, built on every request, and a model costs
# several times more to build. They are only ever built by the engine (nothing to validate).


@dataclass(slots=True, eq=False)
class Explanations:
    """The contributions of every answered finding to every ranked condition, as the engine computed
    them (one row per ranked condition, one column per answered finding). `Contribution` objects are
    made only when a page asks for them (`RankedCondition.for_`); the public JSON is built straight
    from the arrays (`result_json`): a few hundred objects per request cost more than the ranking.
    """

    values: np.ndarray  # (rows, columns) contributions; a column per answered finding, present ones first
    order: list[list[int]]  # [row] columns for display: `for` strongest first, then `against` most negative first
    n_for: list[int]  # [row] how many of `order` push the condition up (contribution > 0)
    # [row] the compiled model's stubs of that row's component: stub_rows[row][columns[j]] is the public
    # JSON of the contribution in column j but its value (finding, answer, sources), shared with the
    # compiled model: copied, never changed
    stub_rows: list[Sequence[dict[str, Any]]]
    columns: list[int]  # [column] index into a stub row: the finding (present) or F + the finding (absent)

    def contributions(self, row: int) -> tuple[Contribution, ...]:
        """Row `row` in display order (`for` then `against`)."""
        values, stubs = self.values[row].tolist(), self.stub_rows[row]
        picked = [(stubs[self.columns[j]], values[j]) for j in self.order[row]]
        return tuple(Contribution(s["finding"], s["answer"], v, s["sources"]) for s, v in picked)


@dataclass(slots=True, kw_only=True)
class RankedCondition:
    condition: str
    name: str
    probability: float
    prior: float
    log_evidence: float  # sum of all contributions (for + against)
    subtype: str | None = None  # the leading subtype explained, for conditions with subtypes
    default_disposition: Disposition
    explanations: Explanations | None = field(default=None, repr=False, compare=False)
    row: int = -1  # this condition's row in `explanations`
    # the red-flag or decision rule that lists this must-not-miss condition first, ahead of more
    # probable ones (None: ranked by its probability)
    listed_first_by: str | None = None

    @property
    def for_(self) -> tuple[Contribution, ...]:
        """The answered findings that push this condition up, strongest first."""
        if self.explanations is None:
            return ()
        return self.explanations.contributions(self.row)[: self.explanations.n_for[self.row]]

    @property
    def against(self) -> tuple[Contribution, ...]:
        """The answered findings that push it down (or leave it), most negative first."""
        if self.explanations is None:
            return ()
        return self.explanations.contributions(self.row)[self.explanations.n_for[self.row] :]


@dataclass(slots=True, kw_only=True)
class FiredRule:
    rule: str
    disposition: Disposition
    suspected: str | None
    findings: tuple[str, ...]
    advice: str
    sources: tuple[str, ...]


@dataclass(slots=True, kw_only=True)
class OpenScreen:
    """A must-not-miss condition not yet ruled out (its safety screen was not answered "no")."""

    screen: str
    condition: str
    label: str  # plain words: "a torn Achilles tendon"
    finding: str  # the question that could rule it out
    question: str


@dataclass(slots=True, kw_only=True)
class NextQuestion:
    finding: str
    question: str
    group: str
    reason: Literal["presenting_complaint", "red_flag", "information_gain"]
    expected_information_gain: float  # bits
    # a choice question (interview.yaml `ask: choice`): (finding id, label) for each option; answered by
    # the chosen finding "present", or by `finding` "unknown" for "not sure"
    choices: tuple[tuple[str, str], ...] = ()
    # the patient may tick several of the choices (where it hurts): each is answered "present"
    multiple: bool = False
    # the label of the answer that is none of the choices (how long: "between two weeks and three months"),
    # answered by `finding` "absent"; None: the question has no such answer
    none_label: str | None = None


@dataclass(slots=True, kw_only=True)
class AssessmentResult:
    id: str
    setting: Setting
    ranking: tuple[RankedCondition, ...]
    disposition: Disposition
    disposition_from_conditions: Disposition
    red_flags: tuple[FiredRule, ...]
    next_questions: tuple[NextQuestion, ...]
    not_ruled_out: tuple[OpenScreen, ...] = ()
    decision_rules: tuple[RuleResult, ...] = ()  # the validated decision rules that apply, with their results

    @property
    def top(self) -> RankedCondition:
        return self.ranking[0]


def round_all(values: Sequence[float], ndigits: int) -> list[float]:
    """`[round(v, ndigits) for v in values]`, exactly, with one NumPy pass instead of one `round` each
    (Python's `round(v, n)` goes through a decimal string: a few hundred contributions per assessment
    made it the largest single cost of `result_json`)."""
    return round_array(np.asarray(values, dtype=float), ndigits).tolist()  # type: ignore[no-any-return]


def round_array(values: np.ndarray, ndigits: int) -> np.ndarray:
    """A new float array holding Python's `round(v, ndigits)` of every element, exactly.

    Why it is exact: Python's result is the double nearest to N / 10**n, where N is the exact
    v * 10**n rounded half-to-even. The computed y = v * 10**n carries one rounding error, below
    |y| * 2**-53 (< 1.2e-7 while |y| < 2**30), so rint(y) == N unless y lies within that error of a
    tie (an odd multiple of 0.5); and rint(y) / 10**n is then the nearest double to N / 10**n, as
    IEEE division of two exact doubles is correctly rounded. Values near a tie, large or not
    finite are left to Python's `round`.
    """
    if not 0 <= ndigits <= 15:
        raise ValueError(f"ndigits must be in 0..15, got {ndigits}")
    scale = 10.0**ndigits  # exact
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are checked below
        y = values * scale
        n = np.rint(y)
        out = n / scale
        doubtful = ~((np.abs(np.abs(y - n) - 0.5) > 1e-6) & (np.abs(y) < 2.0**30))  # NaN compares False
    if doubtful.any():
        flat_in, flat_out = values.reshape(-1), out.reshape(-1)
        for i in np.flatnonzero(doubtful).tolist():
            flat_out[i] = round(float(flat_in[i]), ndigits)
    return out


def result_json(result: AssessmentResult) -> dict[str, Any]:
    """The public JSON of one assessment (CLI `hindfoot assess`, `POST /api/assessments`, interviews):
    floats rounded to 4 places, built straight from the engine's explanation arrays: each contribution
    is a copy of its precomputed stub with the value filled in, and its `sources` is the knowledge
    base's own tuple (immutable, shared; a JSON array once serialised). Making `Contribution` objects,
    or dumping models and rounding the tree afterwards, cost more than the ranking itself.
    `tests/assessment/test_api.py` holds it equal to the obvious derivation."""
    ranking = result.ranking
    ex = ranking[0].explanations if ranking else None
    width = 0 if ex is None else ex.values.shape[1]
    # every float of the answer rounded in one pass: the probabilities, the questions' gains, the contributions
    n, m = len(ranking), len(result.next_questions)
    scalars = [c.probability for c in ranking] + [q.expected_information_gain for q in result.next_questions]
    shape = ex.values.shape if ex is not None and width else (0, 0)
    flat = round_array(np.concatenate([np.array(scalars, dtype=float), ex.values.ravel() if ex is not None else []]), 4)
    rounded_scalars: list[float] = flat[: n + m].tolist()
    rounded_probabilities, gains = rounded_scalars[:n], rounded_scalars[n:]
    rounded: list[list[float]] = flat[n + m :].reshape(shape).tolist()
    ranking_json: list[dict[str, Any]] = []
    for c, probability in zip(ranking, rounded_probabilities, strict=True):
        contributions: list[dict[str, Any]] = []
        n_for = 0
        if ex is not None and width:
            values, stubs, columns, add = rounded[c.row], ex.stub_rows[c.row], ex.columns, contributions.append
            for j in ex.order[c.row]:
                item = stubs[columns[j]].copy()  # {"finding", "answer", "contribution", "sources" (a shared tuple)}
                item["contribution"] = values[j]
                add(item)
            n_for = ex.n_for[c.row]
        ranking_json.append({
            "condition": c.condition,
            "probability": probability,
            **({"subtype": c.subtype} if c.subtype else {}),
            **({"listed_first_by": c.listed_first_by} if c.listed_first_by else {}),
            "for": contributions[:n_for],
            "against": contributions[n_for:],
        })
    return {
        "id": result.id,
        "setting": result.setting,
        "ranking": ranking_json,
        "disposition": result.disposition,
        "red_flags": [
            {"rule": f.rule, "disposition": f.disposition, "suspected": f.suspected, "findings": list(f.findings),
             "advice": f.advice, "sources": list(f.sources)}
            for f in result.red_flags
        ],
        "next_questions": [
            {"finding": q.finding, "question": q.question, "group": q.group, "reason": q.reason,
             "expected_information_gain": gain,
             **({"choices": [{"finding": f, "label": label} for f, label in q.choices]} if q.choices else {}),
             **({"multiple": True} if q.multiple else {}),
             **({"none_label": q.none_label} if q.none_label else {})}
            for q, gain in zip(result.next_questions, gains, strict=True)
        ],
        "not_ruled_out": [
            {"screen": s.screen, "condition": s.condition, "label": s.label, "finding": s.finding,
             "question": s.question}
            for s in result.not_ruled_out
        ],
        "decision_rules": [r.as_json() for r in result.decision_rules],
    }
