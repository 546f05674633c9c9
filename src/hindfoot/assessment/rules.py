"""Validated clinical decision rules (knowledge/data/decision_rules.yaml), computed from the answered
findings (pure; no I/O).

A rule is shown when it applies (one of its `applies_when` findings is present, or, without any, one of
its criteria is answered), for the right age, and nothing in `unless` is present. Its status is
"positive" or "negative" as soon as the answered findings settle it whatever the unanswered ones turn
out to be, else "incomplete" with the findings still missing. Unknown answers never settle a rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hindfoot.knowledge.loader import KnowledgeBase
from hindfoot.knowledge.schemas import DecisionRule, Disposition

Status = Literal["positive", "negative", "incomplete"]
Answer = Literal["present", "absent", "unknown"]


@dataclass(slots=True, frozen=True, kw_only=True)
class CriterionResult:
    label: str
    finding: str | None  # None: computed from the ranking (Wells "alternative diagnosis")
    answer: Answer
    points: int


@dataclass(slots=True, frozen=True, kw_only=True)
class RuleResult:
    rule: str
    name: str
    status: Status
    score: int  # criteria met (count, any_of) or points (lowest possible while incomplete)
    score_max: int  # highest possible score given the unanswered criteria (= score when complete)
    probability: tuple[float, float] | None  # published probability for the score (a range while incomplete)
    result: str
    disposition: Disposition | None  # the urgency a positive result asks for (rules only raise urgency)
    criteria: tuple[CriterionResult, ...]
    missing: tuple[str, ...]  # finding ids still unanswered that could change the result
    sources: tuple[str, ...]
    hazard: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "status": self.status,
            "score": self.score,
            "score_max": self.score_max,
            "probability": None if self.probability is None else [round(p, 4) for p in self.probability],
            "result": self.result,
            "disposition": self.disposition,
            "criteria": [
                {"label": c.label, "finding": c.finding, "answer": c.answer, "points": c.points} for c in self.criteria
            ],
            "missing": list(self.missing),
            "sources": list(self.sources),
            "hazard": self.hazard,
        }


@dataclass(slots=True, frozen=True)
class _Compiled:
    rule: DecisionRule
    applies_when: frozenset[str]
    unless: frozenset[str]
    criteria: frozenset[str]


def _compiled(kb: KnowledgeBase) -> tuple[_Compiled, ...]:
    cached = kb._cache.get("decision_rules")
    if cached is None:
        cached = kb._cache["decision_rules"] = tuple(
            _Compiled(rule=r, applies_when=frozenset(r.applies_when), unless=frozenset(r.unless),
                      criteria=frozenset(c.finding for c in r.criteria if c.finding))
            for r in kb.decision_rules.rules
        )
    return cached  # type: ignore[no-any-return]


def _applies(c: _Compiled, present: set[str], answered: set[str], age: int | None) -> bool:
    rule = c.rule
    if rule.age_max is not None and (age is None or age > rule.age_max):
        return False
    if not c.unless.isdisjoint(present):
        return False
    if c.applies_when:
        return not c.applies_when.isdisjoint(present)
    return not c.criteria.isdisjoint(answered)


def _one(
    rule: DecisionRule,
    present: Collection[str],
    absent: Collection[str],
    probabilities: Mapping[str, float],
) -> RuleResult:
    crit: list[CriterionResult] = []
    for c in rule.criteria:
        answer: Answer
        if c.finding is None:  # alternative diagnosis at least as likely as the rule's condition
            own = probabilities.get(rule.condition or "", 0.0)
            others = max((p for cid, p in probabilities.items() if cid != rule.condition), default=0.0)
            answer = "present" if others >= own else "absent"
        else:
            answer = "present" if c.finding in present else "absent" if c.finding in absent else "unknown"
        crit.append(CriterionResult(label=c.label, finding=c.finding, answer=answer, points=c.points))
    unknown = [c for c in crit if c.answer == "unknown"]
    met = [c for c in crit if c.answer == "present"]
    probability: tuple[float, float] | None = None
    if rule.kind == "points":
        lo = sum(c.points for c in met) + sum(min(c.points, 0) for c in unknown)
        hi = sum(c.points for c in met) + sum(max(c.points, 0) for c in unknown)
    else:
        lo, hi = len(met), len(met) + len(unknown)
    threshold = 1 if rule.kind == "any_of" else rule.threshold
    status: Status = "positive" if lo >= threshold else "negative" if hi < threshold else "incomplete"
    if rule.by_count:
        probability = (rule.by_count[lo], rule.by_count[hi])
    result, disposition = "", None
    if status == "positive":
        result, disposition = rule.positive.label, rule.positive.disposition
    elif status == "negative":
        result = rule.negative.label
        for step in rule.then:
            if (step.present and step.present in present) or (step.absent and step.absent in absent):
                result, disposition = step.label, step.disposition
    else:
        names = ", ".join(c.label for c in unknown)
        result = f"not yet settled: answer {names}"
    return RuleResult(
        rule=rule.id,
        name=rule.name,
        status=status,
        score=lo,
        score_max=hi,
        probability=probability,
        result=result,
        disposition=disposition,
        criteria=tuple(crit),
        missing=tuple(c.finding for c in unknown if c.finding),
        sources=tuple(rule.src),
        hazard=rule.hazard,
    )


def evaluate(
    kb: KnowledgeBase,
    present: Collection[str],
    absent: Collection[str],
    age: int | None,
    probabilities: Mapping[str, float],
) -> tuple[RuleResult, ...]:
    """Every decision rule that applies to these answers, with its result (file order)."""
    present, absent = set(present), set(absent)
    answered = present | absent
    return tuple(
        _one(c.rule, present, absent, probabilities) for c in _compiled(kb) if _applies(c, present, answered, age)
    )
