"""Strict Pydantic models of the knowledge-base files in knowledge/data/.

Every model forbids unknown fields so a typo in the YAML is an error, not a silently ignored key.
Cross-file checks (ids against the vocabulary, source keys against sources.yaml) live in loader.py.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Disposition = Literal["emergency", "urgent", "routine", "self_care"]
FindingGroup = Literal["history", "exam", "imaging", "tests"]
Setting = Literal["self", "clinic"]
CodeStatus = Literal["V", "P", "U"]

#: Least to most urgent; the index is the urgency rank.
DISPOSITION_ORDER: tuple[str, ...] = ("self_care", "routine", "urgent", "emergency")

SourceKey = str  # checked against sources.yaml by the loader


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcedP(Strict):
    """A probability with the source keys it comes from (EE = expert estimate)."""

    p: float = Field(gt=0.0, lt=1.0)
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None


class SourcedValue(Strict):
    """A model parameter (not a probability) with its source keys."""

    value: float = Field(gt=0.0)
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None


# --------------------------------------------------------------------------- sources.yaml


class Source(Strict):
    label: str = Field(min_length=1)
    url: str | None = None
    audience: Literal["all", "staff"] = "all"  # staff: coding references, kept off patient pages


class SourcesFile(Strict):
    sources: dict[str, Source]


# --------------------------------------------------------------------------- vocabulary.yaml


class VocabCondition(Strict):
    id: str
    name: str


class VocabFinding(Strict):
    id: str
    text: str


class Vocabulary(Strict):
    version: int
    dispositions: dict[str, str]
    sports: list[str]
    conditions: list[VocabCondition]
    findings: dict[str, list[VocabFinding]]

    def finding_groups(self) -> dict[str, str]:
        return {f.id: group for group, items in self.findings.items() for f in items}


# --------------------------------------------------------------------------- conditions.yaml


class Code(Strict):
    code: str = Field(min_length=1)
    display: str = Field(min_length=1)
    status: CodeStatus


class Codes(Strict):
    icd10: list[Code] = Field(min_length=1)
    icd10_cm: list[Code] = []
    snomed: list[Code] = []
    note: str | None = None


class PatientWording(Strict):
    name: str = Field(min_length=1)
    explanation: str = Field(min_length=1)
    consultation: str = Field(min_length=1)


class ModifierWhen(Strict):
    sports: list[str] | None = None
    sex: Literal["female", "male"] | None = None
    age_min: int | None = Field(default=None, ge=0)
    age_max: int | None = Field(default=None, ge=0)


class Modifier(Strict):
    when: ModifierWhen
    factor: float = Field(ge=0.0)
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None


class Subtype(Strict):
    """A clinical variant of a condition: the condition's likelihoods with some overridden.

    The condition becomes a mixture: P(findings | c) = sum_k weight_k P(findings | subtype k).
    """

    id: str
    name: str
    weight: SourcedP
    likelihoods: dict[str, SourcedP] = {}


class Condition(Strict):
    id: str
    name: str
    default_disposition: Disposition
    codes: Codes
    patient: PatientWording
    prior: SourcedP
    modifiers: list[Modifier] = []
    likelihoods: dict[str, SourcedP] = Field(min_length=1)
    subtypes: list[Subtype] = []
    notes: list[str] = []


class ModelDefaults(Strict):
    unlisted_p: SourcedP
    contradictory_p: SourcedP
    evidence_exponent: SourcedValue
    probability_floor: SourcedValue


class ConditionsFile(Strict):
    defaults: ModelDefaults
    conditions: list[Condition] = Field(min_length=1)


# --------------------------------------------------------------------------- findings.yaml


class Accuracy(Strict):
    """Published accuracy of a test against its reference standard, for the condition it establishes or
    excludes: P(positive | condition) = sensitivity; P(positive | another condition whose table does not
    list it) = 1 - specificity. Its likelihood ratio is used undamped."""

    condition: str
    sensitivity: SourcedP
    specificity: SourcedP
    # a reference-standard result: when positive, the findings that do not fit its condition are taken
    # as coming from a second, coexisting condition (they no longer count against it)
    establishes: bool = False

    @property
    def false_positive_rate(self) -> SourcedP:
        s = self.specificity
        return SourcedP(p=round(1.0 - s.p, 6), src=s.src, note="1 - specificity")


class Finding(Strict):
    id: str
    group: FindingGroup
    question: str = Field(min_length=1)
    # how a patient's record names it when it is not in the vocabulary (whose text is used otherwise)
    text: str | None = Field(default=None, min_length=1)
    default_p: SourcedP | None = None
    accuracy: Accuracy | None = None

    @property
    def settings(self) -> tuple[str, ...]:
        """Who can answer it: history findings in self-assessment and clinic; the rest only in clinic."""
        return ("self", "clinic") if self.group == "history" else ("clinic",)


class FindingsFile(Strict):
    findings: list[Finding] = Field(min_length=1)


# --------------------------------------------------------------------------- red_flags.yaml


class MinProbability(Strict):
    condition: str
    p: float = Field(gt=0.0, lt=1.0)
    src: list[SourceKey] = Field(min_length=1)


class ExclusionWay(Strict):
    """One way of answering a safety screen "no": every `absent` finding answered absent and every
    `present` finding answered present, and none of `unless` present (a long history does not close the
    rupture screen when the pain got suddenly worse with an injury: acute on chronic)."""

    absent: list[str] = []
    present: list[str] = []
    unless: list[str] = []


class SafetyScreen(Strict):
    """A must-not-miss condition that stays "not ruled out" until one of `excluded_by` holds.

    An unknown answer never excludes: while a screen is open, self-care is not advised, and rules with
    `unless_excluded` naming it keep their urgency. `ask` are the questions that could close it, in the
    order an interview asks them (the first askable one is named in the result)."""

    id: str
    condition: str
    label: str = Field(min_length=1)  # plain words: "a torn Achilles tendon"
    excluded_by: list[ExclusionWay] = Field(min_length=1)
    ask: list[str] = Field(min_length=1)
    hazard: str | None = None
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None


class RedFlagRule(Strict):
    id: str
    suspected: str | None = None
    disposition: Disposition
    screen: bool = False
    all_of: list[list[str]] = Field(min_length=1)
    unless: list[str] = []
    # findings whose answer "no" rules it out (an unknown answer does not: "not sure how it started"
    # keeps a rule about an injury, "no injury" ends it)
    unless_absent: list[str] = []
    # findings that must be answered "no" for it to fire (a bin of a quantity: "not under two weeks"; not on
    # a screen rule, `kb check`)
    requires_absent: list[str] = []
    # the rule fires only while this safety screen is open (not answered "no"): "X not ruled out"
    unless_excluded: str | None = None
    # the rule is for children: it fires only when the patient's age is known and at most this
    age_max: int | None = Field(default=None, ge=0)
    # its screening question is not asked when one of these holds (it is pointless: e.g. no injury at all)
    not_asked_when: list[ExclusionWay] = []
    hazard: str | None = None  # id in hazards.yaml (docs/clinical-safety.md); `kb check` requires one
    min_probability: MinProbability | None = None
    # when it fires (urgent or emergency), its suspected condition leads the differential (must-not-miss
    # first); false for a safety net over another likely diagnosis (crystals do not exclude infection)
    leads_differential: bool = True
    advice: str = Field(min_length=1)
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None

    # Set forms of the finding lists: triage checks every rule on every assessment.
    @cached_property
    def unless_set(self) -> frozenset[str]:
        return frozenset(self.unless)

    @cached_property
    def group_sets(self) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(group) for group in self.all_of)


class ConditionTriage(Strict):
    emergency: SourcedP
    urgent: SourcedP
    routine: SourcedP


class RedFlagsFile(Strict):
    condition_triage: ConditionTriage
    screens: list[SafetyScreen] = []
    rules: list[RedFlagRule] = Field(min_length=1)


# --------------------------------------------------------------------------- hazards.yaml


class Hazard(Strict):
    """One entry of the clinical hazard log (docs/clinical-safety.md gives cause, effect, controls,
    the tests that prove them and the residual risk)."""

    title: str = Field(min_length=1)
    effect: str = Field(min_length=1)


class HazardsFile(Strict):
    hazards: dict[str, Hazard] = Field(min_length=1)


# --------------------------------------------------------------------------- interview.yaml


class PresentingSlot(Strict):
    """One part of the presenting complaint (site, onset, weight bearing, swelling, duration)."""

    slot: str
    order: Literal["fixed", "most_likely"]
    max_questions: int = Field(ge=1)
    findings: list[str] = Field(min_length=1)
    # `choice`: ONE question listing the findings (the patient picks one, or "not sure"), worded by
    # `question` with a short label per finding; otherwise one yes / no / not sure question per finding
    ask: Literal["each", "choice"] = "each"
    # a choice whose answers exclude each other (how it started): once one is picked, the others are not
    # asked again (they are not recorded "no" either)
    exclusive: bool = False
    # a choice where the patient ticks every answer that applies (pain can be in more than one place);
    # each ticked answer is recorded "yes", the rest stay unknown
    multiple: bool = False
    # a choice (one answer, not `multiple`) may name the answer that is none of its options ("between two
    # weeks and three months"): chosen, it records the first option "no" (the rest stay unknown), where
    # "not sure" records it unknown
    none_label: str | None = None
    question: str | None = None
    labels: dict[str, str] = {}
    src: list[SourceKey] = Field(min_length=1)
    note: str | None = None


class InterviewFile(Strict):
    presenting_complaint: list[PresentingSlot] = Field(min_length=1)


# --------------------------------------------------------------------------- decision_rules.yaml


class RuleCriterion(Strict):
    finding: str | None = None
    alternative_as_likely: bool = False  # Wells: another condition at least as probable as the rule's
    points: int = 1
    label: str = Field(min_length=1)


class RuleOutcome(Strict):
    label: str = Field(min_length=1)
    disposition: Disposition | None = None  # positive outcomes may raise urgency to this


class RuleFollowUp(Strict):
    """A second step read after the rule's result (Wells then D-dimer)."""

    when_negative: bool = True
    present: str | None = None
    absent: str | None = None
    label: str = Field(min_length=1)
    disposition: Disposition | None = None


class DecisionRule(Strict):
    id: str
    name: str = Field(min_length=1)
    hazard: str | None = None
    src: list[SourceKey] = Field(min_length=1)
    kind: Literal["any_of", "count", "points"]
    condition: str | None = None  # points: the condition the alternative is weighed against
    # the condition a positive result points to: it leads the differential when the result asks for
    # urgent or emergency care (none: the rule does not name one, e.g. a midfoot fracture)
    suspects: str | None = None
    threshold: int = 1
    age_max: int | None = Field(default=None, ge=0)
    applies_when: list[str] = []
    unless: list[str] = []
    criteria: list[RuleCriterion] = Field(min_length=1)
    by_count: list[float] = []
    positive: RuleOutcome
    negative: RuleOutcome
    then: list[RuleFollowUp] = []
    note: str | None = None


class DecisionRulesFile(Strict):
    rules: list[DecisionRule] = Field(min_length=1)
